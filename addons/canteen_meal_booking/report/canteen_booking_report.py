from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.canteen_pos_bridge.models.canteen_meal_period import MEAL_KIND_SELECTION


class CanteenBookingReport(models.Model):
    """Booked versus served per canteen, day and meal. Served: the people with an approved
    terminal transaction at the canteen's merchant in that meal, once each, booked or not."""

    _name = "canteen.booking.report"
    _description = "Booked versus Served"
    _auto = False
    _order = "date desc, canteen_id, meal_kind"

    canteen_id = fields.Many2one("canteen.canteen", readonly=True, help="The canteen.")
    company_id = fields.Many2one("res.company", readonly=True, help="The canteen's company.")
    date = fields.Date(readonly=True, help="Day of the meal.")
    meal_kind = fields.Selection(MEAL_KIND_SELECTION, string="Meal", readonly=True, help="Meal of the day.")
    booked = fields.Integer(readonly=True, help="People who booked the meal.")
    served = fields.Integer(readonly=True, help="People charged at the canteen's terminals in that meal.")
    no_show = fields.Integer(string="No-shows", readonly=True, help="Booked but not served.")
    walk_in = fields.Integer(string="Walk-ins", readonly=True, help="Served without a booking.")

    @property
    def _table_query(self):
        return self._figures_query(SQL("TRUE"), SQL("TRUE"))

    @api.model
    def _figures_query(self, booking_filter, served_filter):
        """The figures' query; the filters narrow bookings (columns of canteen_booking) and
        served people (t: canteen_transaction, c: canteen_canteen) before they are joined."""
        return SQL(
            """
            WITH booked AS (
                SELECT DISTINCT canteen_id, date, meal_kind, employee_id
                  FROM canteen_booking
                 WHERE state = 'booked' AND %s
            ), served AS (
                SELECT DISTINCT c.id AS canteen_id, t.business_date AS date, t.meal_kind, t.employee_id
                  FROM canteen_transaction t
                  JOIN canteen_terminal term ON term.id = t.terminal_id
                  JOIN canteen_canteen c ON c.merchant_id = term.merchant_id
                 WHERE t.status = 'approved'
                   AND t.employee_id IS NOT NULL
                   AND t.meal_kind IS NOT NULL
                   AND t.business_date IS NOT NULL
                   AND %s
            ), people AS (
                SELECT COALESCE(b.canteen_id, s.canteen_id) AS canteen_id,
                       COALESCE(b.date, s.date) AS date,
                       COALESCE(b.meal_kind, s.meal_kind) AS meal_kind,
                       b.employee_id IS NOT NULL AS is_booked,
                       s.employee_id IS NOT NULL AS is_served
                  FROM booked b
                  FULL OUTER JOIN served s
                    ON s.canteen_id = b.canteen_id AND s.date = b.date
                   AND s.meal_kind = b.meal_kind AND s.employee_id = b.employee_id
            )
            SELECT row_number() OVER (ORDER BY p.date, p.canteen_id, p.meal_kind) AS id,
                   p.canteen_id, c.company_id, p.date, p.meal_kind,
                   count(*) FILTER (WHERE p.is_booked) AS booked,
                   count(*) FILTER (WHERE p.is_served) AS served,
                   count(*) FILTER (WHERE p.is_booked AND NOT p.is_served) AS no_show,
                   count(*) FILTER (WHERE p.is_served AND NOT p.is_booked) AS walk_in
              FROM people p
              JOIN canteen_canteen c ON c.id = p.canteen_id
             GROUP BY p.canteen_id, c.company_id, p.date, p.meal_kind
            """,
            booking_filter,
            served_filter,
        )

    @api.model
    def _canteen_figures(self, canteen, date):
        """{meal_kind: {booked, served, no_show, walk_in}} of one canteen and day (callers check
        that the user manages the canteen)."""
        # Filtered before the join: the view itself would read every canteen's history.
        self.env.flush_all()
        self.env.cr.execute(
            self._figures_query(
                SQL("canteen_id = %s AND date = %s", canteen.id, date),
                SQL("c.id = %s AND t.business_date = %s", canteen.id, date),
            )
        )
        return {row["meal_kind"]: row for row in self.env.cr.dictfetchall()}

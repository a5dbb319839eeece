from odoo import api, fields, models
from odoo.exceptions import ValidationError

MEAL_KIND_SELECTION = [
    ("breakfast", "Breakfast"),
    ("lunch", "Lunch"),
    ("dinner", "Dinner"),
    ("late_night", "Late Night"),
]


class CanteenMealPeriod(models.Model):
    """A meal (餐别) and its time window at a merchant, in the company's time zone."""

    _name = "canteen.meal.period"
    _description = "Meal Period"
    _order = "merchant_id, hour_from"
    _check_company_auto = True

    kind = fields.Selection(MEAL_KIND_SELECTION, required=True)
    merchant_id = fields.Many2one("canteen.merchant", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="merchant_id.company_id", store=True, index=True)
    # Times of day: never summed in grouped lists.
    hour_from = fields.Float(
        string="From", required=True, aggregator=None, help="Local time the meal starts, e.g. 11:30."
    )
    hour_to = fields.Float(
        string="To", required=True, aggregator=None, help="Local time the meal ends (exclusive)."
    )

    _sql_constraints = [
        ("merchant_kind_uniq", "unique (merchant_id, kind)", "A merchant has one window per meal."),
    ]

    @api.depends("kind", "hour_from", "hour_to")
    def _compute_display_name(self):
        labels = dict(self._fields["kind"]._description_selection(self.env))
        for period in self:
            start, end = (f"{int(h):02d}:{round(h % 1 * 60):02d}" for h in (period.hour_from, period.hour_to))
            period.display_name = f"{labels.get(period.kind, '')} {start}-{end}"

    @api.constrains("hour_from", "hour_to", "merchant_id")
    def _check_window(self):
        for period in self:
            if not 0 <= period.hour_from < period.hour_to <= 24:
                raise ValidationError(self.env._("A meal window starts before it ends, within the day."))
            overlapping = period.merchant_id.meal_period_ids.filtered(
                lambda p, me=period: p != me and p.hour_from < me.hour_to and me.hour_from < p.hour_to
            )
            if overlapping:
                raise ValidationError(
                    self.env._("Meal windows of %(merchant)s overlap.", merchant=period.merchant_id.name)
                )

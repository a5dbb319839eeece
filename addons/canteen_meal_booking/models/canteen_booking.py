from datetime import timedelta

from babel.dates import format_skeleton

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools.misc import babel_locale_parse

from odoo.addons.canteen_pos_bridge.models.canteen_meal_period import MEAL_KIND_SELECTION

BOOKING_STATE_SELECTION = [("booked", "Booked"), ("cancelled", "Cancelled")]


class CanteenBooking(models.Model):
    """A cardholder's booking (报餐) of one meal at one canteen on one day. A state record:
    read-only through the ORM; made and cancelled only by `book`, `book_whole_day` and
    `action_cancel`, which check the caller and then write as superuser.

    The bridge reads the fact (employee_id, merchant_id, date, meal_kind, state) in SQL."""

    _name = "canteen.booking"
    _inherit = ["canteen.protected.mixin"]
    _description = "Meal Booking"
    _order = "date desc, canteen_id, meal_kind, id"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", string="Booking", help="Person, canteen, day and meal.")
    employee_id = fields.Many2one(
        "hr.employee", string="Cardholder", required=True, readonly=True, index=True, help="Who eats."
    )
    canteen_id = fields.Many2one("canteen.canteen", required=True, readonly=True, index=True, help="Where.")
    merchant_id = fields.Many2one(
        "canteen.merchant",
        readonly=True,
        index=True,
        help="The canteen's merchant when booked: the terminals that will serve the meal.",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        index=True,
        help="The canteen's company.",
    )
    date = fields.Date(required=True, readonly=True, index=True, help="Day of the meal.")
    meal_kind = fields.Selection(
        MEAL_KIND_SELECTION, string="Meal", required=True, readonly=True, help="Meal."
    )
    state = fields.Selection(
        BOOKING_STATE_SELECTION,
        required=True,
        readonly=True,
        default="booked",
        index=True,
        help="Booked or cancelled.",
    )
    menu_line_ids = fields.Many2many(
        "canteen.menu.line",
        string="Chosen Dishes",
        readonly=True,
        help="Dishes chosen from the published menu.",
    )
    booked_by_id = fields.Many2one("res.users", readonly=True, help="Who made the booking.")
    cancelled_at = fields.Datetime(readonly=True, help="When the booking was cancelled.")
    cancelled_by_id = fields.Many2one("res.users", readonly=True, help="Who cancelled it.")

    def init(self):
        # One live booking per person, day and meal; the bridge looks it up by merchant and day.
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS canteen_booking_live_uniq "
            "ON canteen_booking (employee_id, date, meal_kind) WHERE state = 'booked'"
        )
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS canteen_booking_merchant_day_idx "
            "ON canteen_booking (merchant_id, date, meal_kind, employee_id) WHERE state = 'booked'"
        )

    @api.depends("employee_id", "canteen_id", "date", "meal_kind")
    def _compute_name(self):
        labels = dict(self._fields["meal_kind"]._description_selection(self.env))
        for booking in self:
            booking.name = (
                f"{booking.sudo().employee_id.name} · {booking.canteen_id.sudo().name} · "
                f"{booking.date or ''} {labels.get(booking.meal_kind, '')}"
            )

    # rules ---------------------------------------------------------------------------------
    @api.model
    def _canteen_now(self):
        return fields.Datetime.now()

    @api.model
    def _resolve_employee(self, employee_id):
        """The cardholder booked for: the caller's own employee record when not given."""
        Employee = self.env["hr.employee"].sudo()
        if employee_id:
            employee = Employee.browse(int(employee_id)).exists()
            if not employee:
                raise AccessError(self.env._("You may only book for yourself."))
            return employee
        employee = Employee.search([("user_id", "=", self.env.user.id)], limit=1)
        if not employee:
            raise UserError(self.env._("Your user is not linked to a cardholder."))
        return employee

    def _check_caller(self, employee, canteen):
        """The cardholder himself, or a manager of the canteen. Never decided by a context."""
        if employee.user_id and employee.user_id == self.env.user:
            return
        if canteen._canteen_is_managed_by(self.env.user):
            return
        raise AccessError(self.env._("You may only book and cancel your own meals."))

    def _refusal(self, employee, canteen, day, meal, now):
        """The reason why `employee` cannot book `meal` of `canteen` on `day`, or None."""
        return self._refusal_person(employee, canteen) or self._refusal_meal(
            employee, canteen, day, meal, now
        )

    def _refusal_person(self, employee, canteen):
        if employee.sudo().cardholder_state != "active":
            return self.env._("%(name)s has resigned and cannot book meals.", name=employee.name)
        if not employee.sudo().current_card_id:
            return self.env._("%(name)s has no card and cannot book meals.", name=employee.name)
        if employee.company_id.root_id != canteen.company_id.root_id:
            return self.env._(
                "%(canteen)s belongs to another company group than %(name)s.",
                canteen=canteen.name,
                name=employee.name,
            )
        return None

    def _refusal_meal(self, employee, canteen, day, meal, now):
        if not canteen.active:
            return self.env._("%(canteen)s is closed.", canteen=canteen.name)
        if not meal:
            return self.env._("%(canteen)s does not serve this meal.", canteen=canteen.name)
        if now >= meal._cutoff(day):
            return self.env._(
                "Booking for %(meal)s on %(day)s closed at %(cutoff)s.",
                meal=meal.meal_period_id.display_name,
                day=day,
                cutoff=meal._format_local(meal._cutoff(day)),
            )
        if now < meal._opening(day):
            return self.env._(
                "Booking for %(meal)s on %(day)s opens at %(opening)s.",
                meal=meal.meal_period_id.display_name,
                day=day,
                opening=meal._format_local(meal._opening(day)),
            )
        taken = self.sudo().search(
            [
                ("employee_id", "=", employee.id),
                ("date", "=", day),
                ("meal_kind", "=", meal.meal_kind),
                ("state", "=", "booked"),
            ],
            limit=1,
        )
        if taken:
            return self.env._(
                "%(name)s has already booked this meal: %(booking)s.", name=employee.name, booking=taken.name
            )
        return None

    # public service methods ----------------------------------------------------------------
    @api.model
    def book(self, canteen_id, date, meal_kind, employee_id=None, menu_line_ids=None):
        """Book one meal. Raises UserError with the reason when refused."""
        canteen, employee, day = self._prepare_booking(canteen_id, date, employee_id)
        meal = canteen.meal_ids.filtered(lambda m: m.meal_kind == meal_kind)[:1]
        reason = self._refusal(employee, canteen, day, meal, self._canteen_now())
        if reason:
            raise UserError(reason)
        lines = self.env["canteen.menu.line"].sudo()
        if menu_line_ids:
            lines = lines.browse([int(i) for i in menu_line_ids]).exists()
            allowed = lines.filtered(
                lambda line: (
                    line.menu_id.canteen_id == canteen
                    and line.menu_id.date == day
                    and line.menu_id.meal_kind == meal_kind
                    and line.menu_id.state == "published"
                )
            )
            if allowed != lines or len(lines) != len(set(menu_line_ids)):
                raise UserError(self.env._("Choose dishes from the published menu of this meal."))
        return self._create_booking(employee, canteen, day, meal_kind, lines)

    @api.model
    def book_whole_day(self, canteen_id, date, employee_id=None):
        """Book every meal of the day still open for booking and not yet booked."""
        canteen, employee, day = self._prepare_booking(canteen_id, date, employee_id)
        now = self._canteen_now()
        bookings = self.browse()
        reasons = []
        for meal in canteen.meal_ids.sorted("hour_from"):
            reason = self._refusal(employee, canteen, day, meal, now)
            if reason:
                reasons.append(reason)
            else:
                bookings |= self._create_booking(
                    employee, canteen, day, meal.meal_kind, self.env["canteen.menu.line"]
                )
        if not bookings:
            raise UserError(
                "\n".join(reasons) or self.env._("%(canteen)s serves no meals.", canteen=canteen.name)
            )
        return bookings

    def action_cancel(self):
        """Cancel these bookings until their cut-off."""
        now = self._canteen_now()
        for booking in self.sudo():
            self._check_caller(booking.employee_id, booking.canteen_id)
            if booking.state != "booked":
                raise UserError(self.env._("%(booking)s is already cancelled.", booking=booking.name))
            meal = booking.canteen_id.meal_ids.filtered(lambda m, b=booking: m.meal_kind == b.meal_kind)[:1]
            if meal and now >= meal._cutoff(booking.date):
                raise UserError(
                    self.env._(
                        "%(booking)s can no longer be cancelled: the cut-off was %(cutoff)s.",
                        booking=booking.name,
                        cutoff=meal._format_local(meal._cutoff(booking.date)),
                    )
                )
        self.sudo().write({"state": "cancelled", "cancelled_at": now, "cancelled_by_id": self.env.user.id})
        return True

    # private -------------------------------------------------------------------------------
    def _prepare_booking(self, canteen_id, date, employee_id):
        canteen = (
            self.env["canteen.canteen"]
            .sudo()
            .with_context(active_test=False)
            .browse(int(canteen_id))
            .exists()
        )
        if not canteen:
            raise UserError(self.env._("This canteen does not exist."))
        employee = self._resolve_employee(employee_id)
        self._check_caller(employee, canteen)
        return canteen, employee, fields.Date.to_date(date)

    def _create_booking(self, employee, canteen, day, meal_kind, lines):
        return (
            self.sudo()
            .create(
                {
                    "employee_id": employee.id,
                    "canteen_id": canteen.id,
                    "merchant_id": canteen.merchant_id.id,
                    "company_id": canteen.company_id.id,
                    "date": day,
                    "meal_kind": meal_kind,
                    "menu_line_ids": [Command.set(lines.ids)],
                    "booked_by_id": self.env.user.id,
                }
            )
            .sudo(False)
        )

    # portal --------------------------------------------------------------------------------
    @api.model
    def _canteen_day_label(self, day, with_year=False):
        """A day as its language writes it: "Mon, Nov 23" in English, "11月23日周一" in Chinese."""
        locale = babel_locale_parse(self.env.lang or "en_US")
        return format_skeleton("yMMMEd" if with_year else "MMMEd", day, locale=locale)

    @api.model
    def _canteen_month_label(self, first):
        """A month as its language writes it: "November 2026" in English, "2026年11月" in Chinese."""
        return format_skeleton("yMMMM", first, locale=babel_locale_parse(self.env.lang or "en_US"))

    @api.model
    def _canteen_portal_employee(self):
        """The logged-in user's cardholder record (as superuser), or an empty recordset."""
        return self.env["hr.employee"].sudo().search([("user_id", "=", self.env.user.id)], limit=1)

    @api.model
    def _canteen_portal_page(self, employee, start, canteen_id=None):
        """Values of a cardholder's /my/canteen page for the week starting on `start`. Only the
        cardholder's own money and bookings; menus only when published."""
        employee = employee.sudo()
        wallets = {wallet.kind: wallet for wallet in employee.wallet_ids}
        canteens = (
            self.env["canteen.canteen"]
            .sudo()
            .search([("company_id", "child_of", employee.company_id.root_id.id), ("meal_ids", "!=", False)])
        )
        days_list = [start + timedelta(days=offset) for offset in range(7)]
        bookings = self.sudo().search(
            [("employee_id", "=", employee.id), ("date", "in", days_list), ("state", "=", "booked")]
        )
        # The canteen asked for; else where the person booked this week, else one of their company.
        canteen = (
            canteens.filtered(lambda c: str(c.id) == str(canteen_id or ""))[:1]
            or (bookings.canteen_id & canteens)[:1]
            or canteens.filtered(lambda c: c.company_id == employee.company_id)[:1]
            or canteens[:1]
        )
        menus = (
            self.env["canteen.menu"]
            .sudo()
            .search([("canteen_id", "=", canteen.id), ("date", "in", days_list), ("state", "=", "published")])
        )
        now = self._canteen_now()
        days = []
        for day in days_list:
            meals = []
            for meal in canteen.meal_ids.sorted("hour_from"):
                booking = bookings.filtered(
                    lambda b, d=day, k=meal.meal_kind: b.date == d and b.meal_kind == k
                )[:1]
                meals.append(
                    {
                        "meal": meal,
                        "menu": menus.filtered(
                            lambda m, d=day, k=meal.meal_kind: m.date == d and m.meal_kind == k
                        )[:1],
                        "booking": booking,
                        "bookable": not booking and meal._is_bookable(day, now),
                        "cancellable": booking.canteen_id == canteen and now < meal._cutoff(day),
                        "cutoff": meal._format_local(meal._cutoff(day)),
                    }
                )
            days.append(
                {
                    "date": day,
                    "label": self._canteen_day_label(day),
                    "meals": meals,
                    "any_bookable": any(m["bookable"] for m in meals),
                }
            )
        return {
            "employee": employee,
            "card": employee.current_card_id,
            "cash_wallet": wallets.get("cash"),
            "subsidy_wallet": wallets.get("subsidy"),
            "currency": employee.company_id.currency_id,
            "bills": self.env["canteen.ledger.entry"]
            .sudo()
            .search([("employee_id", "=", employee.id)], limit=5),
            "canteens": canteens,
            "canteen": canteen,
            "week_start": start,
            "prev_week": start - timedelta(days=7),
            "next_week": start + timedelta(days=7),
            "days": days,
        }

    @api.model
    def _canteen_portal_month(self, employee, month=None):
        """A cardholder's monthly bill: their ledger entries of one month (YYYY-MM) and totals.
        The month is cut at the local business day, as in the reports (the ledger's one
        definition of a period)."""
        employee = employee.sudo()
        Entry = self.env["canteen.ledger.entry"].sudo()
        first, last = Entry._month_period(month, fields.Date.context_today(employee))
        following = last + timedelta(days=1)
        entries = Entry.search(
            [("employee_id", "=", employee.id), *Entry._period_domain(first, last)],
            order="date asc, id asc",
        )
        return {
            "employee": employee,
            "entries": entries,
            "month": first.strftime("%Y-%m"),
            "month_label": self._canteen_month_label(first),
            "prev_month": (first - timedelta(days=1)).strftime("%Y-%m"),
            "next_month": following.strftime("%Y-%m"),
            "spent": -sum(e.amount for e in entries if e.amount < 0),
            "received": sum(e.amount for e in entries if e.amount > 0),
            "currency": employee.company_id.currency_id,
        }

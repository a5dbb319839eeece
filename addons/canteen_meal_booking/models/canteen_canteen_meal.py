from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import ValidationError

CUTOFF_MODE_SELECTION = [
    ("day_before", "The day before at a time"),
    ("before_meal", "Hours before the meal"),
]


class CanteenCanteenMeal(models.Model):
    """One meal of a canteen: its serving window (the merchant's meal period) and its booking
    window, from when booking opens to the cut-off after which no booking is made or cancelled."""

    _name = "canteen.canteen.meal"
    _description = "Canteen Meal"
    _order = "canteen_id, hour_from"
    _check_company_auto = True

    canteen_id = fields.Many2one(
        "canteen.canteen",
        required=True,
        ondelete="cascade",
        index=True,
        help="The canteen that serves this meal.",
    )
    company_id = fields.Many2one(
        related="canteen_id.company_id",
        store=True,
        index=True,
        string="Company",
        help="The canteen's company.",
    )
    merchant_id = fields.Many2one(
        related="canteen_id.merchant_id", string="Merchant", help="The canteen's merchant."
    )
    meal_period_id = fields.Many2one(
        "canteen.meal.period",
        string="Serving Window",
        required=True,
        check_company=True,
        domain="[('merchant_id', '=', merchant_id)]",
        help="The meal period of the canteen's merchant: when the meal is served.",
    )
    meal_kind = fields.Selection(
        related="meal_period_id.kind",
        store=True,
        string="Meal",
        help="Breakfast, lunch, dinner or late night.",
    )
    hour_from = fields.Float(
        related="meal_period_id.hour_from",
        store=True,
        string="Served From",
        help="Local time serving starts.",
    )
    hour_to = fields.Float(
        related="meal_period_id.hour_to", store=True, string="Served Until", help="Local time serving ends."
    )
    booking_open_days = fields.Integer(
        string="Bookable Days Ahead",
        default=7,
        help="Booking for a day opens this many days before it, at midnight.",
    )
    cutoff_mode = fields.Selection(
        CUTOFF_MODE_SELECTION,
        string="Cut-off",
        required=True,
        default="day_before",
        help="When booking and cancelling close for a meal.",
    )
    cutoff_hour = fields.Float(
        string="Cut-off Time",
        default=20.0,
        help="Local time on the day before the meal when booking closes (day-before cut-off).",
    )
    cutoff_hours_before = fields.Float(
        string="Cut-off Hours Before",
        default=2.0,
        help="Hours before the meal starts when booking closes (hours-before cut-off).",
    )

    last_reminder_date = fields.Date(
        readonly=True, copy=False, help="The last day of this meal whose booking reminder was sent."
    )

    _sql_constraints = [
        ("canteen_period_uniq", "unique (canteen_id, meal_period_id)", "A canteen serves each meal once."),
    ]

    @api.depends("meal_period_id", "canteen_id")
    def _compute_display_name(self):
        for meal in self:
            meal.display_name = f"{meal.canteen_id.name} - {meal.meal_period_id.display_name}"

    @api.constrains("meal_period_id", "canteen_id")
    def _check_period_merchant(self):
        for meal in self:
            if meal.meal_period_id.merchant_id != meal.canteen_id.merchant_id:
                raise ValidationError(
                    self.env._(
                        "The serving window of %(canteen)s must be a meal period of its merchant.",
                        canteen=meal.canteen_id.name,
                    )
                )

    @api.constrains("booking_open_days", "cutoff_hour", "cutoff_hours_before")
    def _check_booking_window(self):
        for meal in self:
            if meal.booking_open_days < 0 or meal.cutoff_hours_before < 0:
                raise ValidationError(
                    self.env._("Booking windows count forwards: no negative days or hours.")
                )
            if not 0 <= meal.cutoff_hour < 24:
                raise ValidationError(self.env._("A cut-off time is within the day (0:00 to 23:59)."))

    # booking window -------------------------------------------------------------------------
    def _local_to_utc(self, day, hours):
        tz = pytz.timezone(self.canteen_id._canteen_timezone())
        local = tz.localize(datetime.combine(day, time.min)) + timedelta(hours=hours)
        return local.astimezone(pytz.utc).replace(tzinfo=None)

    def _cutoff(self, day):
        """Naive UTC datetime after which bookings of this meal on `day` are closed."""
        self.ensure_one()
        if self.cutoff_mode == "day_before":
            return self._local_to_utc(day - timedelta(days=1), self.cutoff_hour)
        return self._local_to_utc(day, self.hour_from - self.cutoff_hours_before)

    def _opening(self, day):
        """Naive UTC datetime when booking this meal on `day` opens."""
        self.ensure_one()
        return self._local_to_utc(day - timedelta(days=self.booking_open_days), 0.0)

    def _serving_start(self, day):
        self.ensure_one()
        return self._local_to_utc(day, self.hour_from)

    def _is_bookable(self, day, now):
        self.ensure_one()
        return self._opening(day) <= now < self._cutoff(day)

    def _format_local(self, utc_dt):
        tz = pytz.timezone(self.canteen_id._canteen_timezone())
        return pytz.utc.localize(utc_dt).astimezone(tz).strftime("%Y-%m-%d %H:%M")

import pytz

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.canteen_ledger_entry import MEAL_KIND_SELECTION
from ..tools.access import OPERATOR, check_caller, check_companies
from ..tools.display import notification, user_datetime


class CanteenManualEntryWizard(models.TransientModel):
    """Record a meal taken without card or face (手工录入消费单据, 补单) as a charge at a merchant,
    with the terminal and the time it happened."""

    _name = "canteen.manual.entry.wizard"
    _inherit = ["canteen.amount.input.mixin"]
    _description = "Manual Entry"

    employee_id = fields.Many2one("hr.employee", string="Cardholder", required=True)
    merchant_id = fields.Many2one("canteen.merchant", required=True)
    terminal_ref = fields.Char(string="Terminal Number", required=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, help="When the meal was taken.")
    currency_id = fields.Many2one("res.currency", default=lambda self: self.env.company.currency_id)
    amount = fields.Monetary(required=True)
    note = fields.Char()
    meal_kind = fields.Selection(
        MEAL_KIND_SELECTION,
        string="Meal",
        compute="_compute_meal_kind",
        store=True,
        readonly=False,
        help="The meal the entry is for, found from the merchant's meal periods at that time "
        "when it has them; reports count it under this meal.",
    )

    @api.depends("merchant_id", "date")
    def _compute_meal_kind(self):
        for wizard in self:
            # Meal periods belong to canteen_pos_bridge: without it, the operator picks the meal.
            periods = wizard.merchant_id._fields.get("meal_period_ids") and wizard.merchant_id.meal_period_ids
            if not periods or not wizard.date:
                continue
            company = wizard.merchant_id.company_id
            tz = pytz.timezone(company.resource_calendar_id.tz or company.partner_id.tz or "Asia/Shanghai")
            local = pytz.utc.localize(wizard.date).astimezone(tz)
            hour = local.hour + local.minute / 60 + local.second / 3600
            period = periods.filtered(lambda p, h=hour: p.hour_from <= h < p.hour_to)[:1]
            wizard.meal_kind = period.kind or False

    def action_confirm(self):
        self.ensure_one()
        check_caller(self.env, OPERATOR, self.employee_id.company_id)
        check_companies(self.env, self.merchant_id.company_id)
        return self.sudo()._confirm_or_draft()

    def _confirm(self):
        amount = self.env["canteen.ledger"]._amount(self.amount)
        if self.date > fields.Datetime.now():
            raise UserError(self.env._("A manual entry cannot be in the future."))
        Log = self.env["canteen.operation.log"]
        before = Log._balances(self.employee_id)
        entries = self.env["canteen.ledger"]._charge(
            self.employee_id,
            amount,
            merchant=self.merchant_id,
            date=self.date,
            values={
                "terminal_ref": self.terminal_ref.strip(),
                "note": self.note or self.env._("Manual entry"),
                "meal_kind": self.meal_kind or None,
            },
        )
        Log._record(
            "manual_entry",
            self.employee_id,
            before,
            cards=entries.card_id[:1],
            note=self.env._("Terminal %(terminal)s", terminal=self.terminal_ref),
        )
        charged = f"{amount:.2f}"
        return notification(
            self.env._(
                "%(amount)s charged to %(person)s at %(merchant)s, %(time)s, terminal %(terminal)s.",
                amount=charged,
                person=self.employee_id.name,
                merchant=self.merchant_id.name,
                time=user_datetime(self.env, self.date),
                terminal=self.terminal_ref,
            ),
            title=self.env._("Manual Entry Recorded"),
        )

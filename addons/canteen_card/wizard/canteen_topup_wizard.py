from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..tools.access import OPERATOR, check_caller


class CanteenTopupWizard(models.TransientModel):
    """Top-up (充值) or refund (退款) of one amount for each selected cardholder."""

    _name = "canteen.topup.wizard"
    _inherit = ["canteen.amount.input.mixin"]
    _description = "Top-up or Refund"

    mode = fields.Selection([("topup", "Top-up"), ("refund", "Refund")], required=True, default="topup")
    employee_ids = fields.Many2many("hr.employee", string="Cardholders", required=True)
    wallet_kind = fields.Selection([("cash", "Cash"), ("subsidy", "Subsidy")], required=True, default="cash")
    amount = fields.Monetary(required=True, help="Yuan, for each cardholder, at most 2 decimals.")
    currency_id = fields.Many2one("res.currency", default=lambda self: self.env.company.currency_id)
    payment_journal_id = fields.Many2one(
        "account.journal",
        string="Cash or Bank Journal",
        domain="[('type', 'in', ('cash', 'bank'))]",
        help="Where the money is received or paid from. Empty: each company's default top-up journal.",
    )
    note = fields.Char()

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "hr.employee" and "employee_ids" in fields_list:
            values["employee_ids"] = [Command.set(self.env.context.get("active_ids", []))]
        return values

    @api.onchange("mode")
    def _onchange_mode(self):
        if self.mode == "refund":
            self.wallet_kind = "cash"

    def action_confirm(self):
        self.ensure_one()
        check_caller(self.env, OPERATOR, self.employee_ids.company_id)
        return self.sudo()._confirm_or_draft()

    def _confirm(self):
        if self.mode == "refund" and self.wallet_kind != "cash":
            raise UserError(
                self.env._("Only the cash wallet is refunded; subsidies are withdrawn, not paid out.")
            )
        amount = self.env["canteen.ledger"]._amount(self.amount)
        ledger = self.env["canteen.ledger"]
        if self.mode == "topup":

            def apply(operation, employee):
                ledger._credit(
                    employee,
                    self.wallet_kind,
                    amount,
                    "topup",
                    operation=operation,
                    note=self.note,
                    require_card=True,
                )
        else:

            def apply(operation, employee):
                ledger._debit(
                    employee, "cash", amount, "refund", operation=operation, note=self.note, require_card=True
                )

        operations = self.env["canteen.operation"]._perform(
            self.mode,
            self.wallet_kind,
            self.employee_ids,
            apply,
            payment_journal=self.payment_journal_id,
            note=self.note,
        )
        return operations._action_open()

from decimal import Decimal

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..tools.access import MANAGER, check_caller


class CanteenSubsidyGrantWizard(models.TransientModel):
    """Grant a meal subsidy (补贴) to a selection of cardholders or whole departments."""

    _name = "canteen.subsidy.grant.wizard"
    _inherit = ["canteen.amount.input.mixin"]
    _description = "Grant Subsidy"

    employee_ids = fields.Many2many("hr.employee", string="Cardholders")
    department_ids = fields.Many2many(
        "hr.department", string="Departments", help="Every active cardholder of these departments and below."
    )
    amount = fields.Monetary(required=True, help="Yuan for each cardholder, at most 2 decimals.")
    currency_id = fields.Many2one("res.currency", default=lambda self: self.env.company.currency_id)
    mode = fields.Selection(
        [("accumulate", "Add to what is left (累加)"), ("replace", "Replace what is left (清零)")],
        required=True,
        default="accumulate",
    )
    expiry_date = fields.Date(help="The subsidy left after this day is withdrawn. Empty: it does not expire.")
    note = fields.Char()

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "hr.employee" and "employee_ids" in fields_list:
            values["employee_ids"] = [Command.set(self.env.context.get("active_ids", []))]
        return values

    def _recipients(self):
        employees = self.employee_ids
        if self.department_ids:
            employees |= (
                self.env["hr.employee"]
                .sudo()
                .search([("department_id", "child_of", self.department_ids.ids)])
            )
        return employees.filtered(lambda e: e.cardholder_state == "active")

    def action_confirm(self):
        self.ensure_one()
        check_caller(self.env, MANAGER, self.employee_ids.company_id | self.department_ids.company_id)
        return self.sudo()._confirm_or_draft()

    def _confirm(self):
        employees = self._recipients()
        if not employees:
            raise UserError(self.env._("Select cardholders or departments with active cardholders."))
        check_caller(self.env(su=False), MANAGER, employees.company_id)
        amount = self.env["canteen.ledger"]._amount(self.amount)
        ledger = self.env["canteen.ledger"]
        self.env["canteen.ledger"]._ensure_wallets(employees)

        def apply(operation, employee):
            wallet = employee.wallet_ids.filtered(lambda w: w.kind == "subsidy")
            if self.mode == "replace" and wallet.balance > 0:
                ledger._debit(
                    employee,
                    "subsidy",
                    Decimal(str(wallet.balance)),
                    "subsidy_expiry",
                    operation=operation,
                    note=self.env._("Replaced by a new grant"),
                )
            ledger._credit(
                employee,
                "subsidy",
                amount,
                "subsidy_grant",
                operation=operation,
                note=self.note,
            )
            if self.expiry_date or self.mode == "replace":
                wallet.sudo().expiry_date = self.expiry_date

        operations = self.env["canteen.operation"]._perform(
            "subsidy_grant", "subsidy", employees, apply, note=self.note
        )
        return operations._action_open()

import dataclasses
from datetime import UTC, datetime

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from odoo.addons.canteen_card.tools.access import OPERATOR, check_caller

from ..tools import charge_engine
from ..tools.sql_unit import Unit


class CanteenCashierWizard(models.TransientModel):
    """Charge a cardholder by employee number at the backend, with the rules and ledger the
    bridge uses (the same charge engine on Odoo's cursor)."""

    _name = "canteen.cashier.wizard"
    _inherit = ["canteen.amount.input.mixin"]
    _description = "Cashier Charge"

    terminal_id = fields.Many2one(
        "canteen.terminal",
        required=True,
        domain="[('enabled', '=', True), ('merchant_id', '!=', False), ('kind', '!=', 'cashier')]",
        help="The device whose merchant, mode and rules apply. The charge is recorded on your own "
        "virtual cashier terminal of that device, with its own sequence numbers.",
    )
    employee_no = fields.Char(string="Employee Number", required=True)
    currency_id = fields.Many2one(related="terminal_id.currency_id")
    amount = fields.Monetary(help="Ignored by fixed-amount and count terminals.")
    result = fields.Text(readonly=True)

    @api.model
    def _next_seq(self):
        return int(self.env["ir.sequence"].sudo().next_by_code("canteen.cashier.seq"))

    def action_charge(self):
        self.ensure_one()
        check_caller(self.env, OPERATOR, self.terminal_id.company_id)
        device = self.terminal_id.sudo()
        if device.kind == "cashier" or not device.enabled:
            raise UserError(self.env._("Choose an enabled device terminal."))
        virtual = device._cashier_terminal(self.env.user)
        self.env.flush_all()
        terminal = dataclasses.replace(
            charge_engine.load_terminal(self.env.cr, device.serial),
            id=virtual.id,
            serial=virtual.serial,
            dedup_window=0,  # a cashier-entered charge is never deduplicated away
        )
        request = {
            "seq": self._next_seq(),
            "identity": {"type": "employee", "value": self.employee_no},
            "occurred_at": datetime.now(UTC).isoformat(),
            "amount": f"{self.amount:.2f}" if self.amount else None,
        }
        try:
            answer = charge_engine.charge(
                Unit.savepoint(self.env.cr, "canteen_cashier"), terminal, request, uid=self.env.uid
            )
        except charge_engine.BadRequest as error:
            raise UserError(str(error)) from error
        self.env.invalidate_all()
        if answer["status"] != "approved":
            reasons = dict(self.env["canteen.transaction"]._fields["reason"]._description_selection(self.env))
            raise UserError(self.env._("Declined: %(reason)s", reason=reasons[answer["reason"]]))
        currency = device.currency_id

        def money(text):
            return format_amount(self.env, float(text), currency)

        self.result = self.env._(
            "Approved %(name)s: charged %(charged)s (discount %(discount)s), "
            "cash %(cash)s, subsidy %(subsidy)s",
            name=answer["cardholder"]["name"],
            charged=money(answer["charged"]),
            discount=money(answer["discount"]),
            cash=money(answer["balances"]["cash"]),
            subsidy=money(answer["balances"]["subsidy"]),
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Cashier"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

from datetime import UTC, datetime

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools import charge_engine
from ..tools.sql_unit import Unit

# Cashier charges use their own range of sequence numbers, far above what devices use.
CASHIER_SEQ_BASE = 1_500_000_000


class CanteenCashierWizard(models.TransientModel):
    """Charge a cardholder by employee number at the backend, with the rules and ledger the
    bridge uses (the same charge engine on Odoo's cursor)."""

    _name = "canteen.cashier.wizard"
    _description = "Cashier Charge"

    terminal_id = fields.Many2one(
        "canteen.terminal", required=True, domain="[('enabled', '=', True), ('merchant_id', '!=', False)]"
    )
    employee_no = fields.Char(string="Employee Number", required=True)
    currency_id = fields.Many2one(related="terminal_id.currency_id")
    amount = fields.Monetary(help="Ignored by fixed-amount and count terminals.")
    result = fields.Text(readonly=True)

    @api.model
    def _next_seq(self):
        return CASHIER_SEQ_BASE + int(self.env["ir.sequence"].next_by_code("canteen.cashier.seq"))

    def action_charge(self):
        self.ensure_one()
        self.env.flush_all()
        terminal = charge_engine.load_terminal(self.env.cr, self.terminal_id.serial)
        request = {
            "seq": self._next_seq(),
            "identity": {"type": "employee", "value": self.employee_no},
            "occurred_at": datetime.now(UTC).isoformat(),
            "amount": f"{self.amount:.2f}" if self.amount else None,
        }
        try:
            answer = charge_engine.charge(Unit.savepoint(self.env.cr, "canteen_cashier"), terminal, request)
        except charge_engine.BadRequest as error:
            raise UserError(str(error)) from error
        self.env.invalidate_all()
        if answer["status"] != "approved":
            reasons = dict(self.env["canteen.transaction"]._fields["reason"]._description_selection(self.env))
            raise UserError(self.env._("Declined: %(reason)s", reason=reasons[answer["reason"]]))
        self.result = self.env._(
            "Approved %(name)s: charged %(charged)s (discount %(discount)s), "
            "cash %(cash)s, subsidy %(subsidy)s",
            name=answer["cardholder"]["name"],
            charged=answer["charged"],
            discount=answer["discount"],
            cash=answer["balances"]["cash"],
            subsidy=answer["balances"]["subsidy"],
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

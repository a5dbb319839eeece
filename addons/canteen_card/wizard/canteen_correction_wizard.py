from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.access import OPERATOR, check_caller
from ..tools.display import notification


class CanteenCorrectionWizard(models.TransientModel):
    """Correct a charge (更正收款失误): type what should have been charged; 0 reverses it."""

    _name = "canteen.correction.wizard"
    _inherit = ["canteen.amount.input.mixin"]
    _canteen_amount_fields = ("new_amount",)
    _description = "Correct a Charge"

    entry_id = fields.Many2one(
        "canteen.ledger.entry",
        string="Charge",
        required=True,
        domain="[('kind', '=', 'charge'), ('merchant_id', '!=', False), ('correctable_amount', '>', 0)]",
    )
    employee_id = fields.Many2one(related="entry_id.employee_id", string="Cardholder")
    merchant_id = fields.Many2one(related="entry_id.merchant_id")
    currency_id = fields.Many2one(related="entry_id.currency_id")
    charged = fields.Monetary(compute="_compute_charged", help="The charge less earlier corrections.")
    new_amount = fields.Monetary(string="Correct Amount", help="What should have been charged; 0 reverses.")
    note = fields.Char()

    @api.depends("entry_id")
    def _compute_charged(self):
        for wizard in self:
            wizard.charged = wizard.entry_id.correctable_amount

    def action_confirm(self):
        self.ensure_one()
        check_caller(self.env, OPERATOR, self.entry_id.company_id)
        return self.sudo()._confirm_or_draft()

    def _confirm(self, *, requested_at=None):
        """Post the correction; its window is judged at `requested_at` (default now: see
        canteen.ledger._correct)."""
        self._check_rest()
        Log = self.env["canteen.operation.log"]
        employee = self.entry_id.employee_id
        before = Log._balances(employee)
        amount = self.env["canteen.ledger"]._amount(self.new_amount, allow_zero=True)
        new_amount = f"{amount:.2f}"
        correction = self.env["canteen.ledger"]._correct(
            self.entry_id, amount, note=self.note, requested_at=requested_at
        )
        Log._record(
            "correction",
            employee,
            before,
            cards=self.entry_id.card_id,
            note=self.env._(
                "Charge #%(entry)s corrected to %(amount)s",
                entry=self.entry_id.id,
                amount=new_amount,
            ),
        )
        self.entry_id.invalidate_recordset(["correctable_amount"])
        refund = f"{sum(correction.mapped('amount')):.2f}"
        return notification(
            self.env._(
                "Charge #%(entry)s corrected to %(amount)s: %(refund)s given back to %(person)s "
                "(correction #%(correction)s).",
                entry=self.entry_id.id,
                amount=new_amount,
                refund=refund,
                person=employee.name,
                correction=correction[:1].id,
            ),
            title=self.env._("Charge Corrected"),
        )

    def _check_rest(self):
        """Refuse a correction beyond what is left of the charge, read afresh (another operator
        may have corrected it since this wizard opened)."""
        entry = self.entry_id
        entry.invalidate_recordset(["correction_ids", "correctable_amount"])
        rest = entry.correctable_amount
        if not rest:
            raise UserError(
                self.env._(
                    "Charge #%(entry)s is already corrected in full: nothing is left to give back.",
                    entry=entry.id,
                )
            )
        if self.new_amount > rest:
            rest_text = f"{rest:.2f}"
            raise UserError(
                self.env._(
                    "Charge #%(entry)s stands at %(rest)s after its corrections: a correction can only "
                    "lower it (type 0 to %(rest)s); record more money as a manual entry.",
                    entry=entry.id,
                    rest=rest_text,
                )
            )

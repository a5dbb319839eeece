from odoo import api, models


class CanteenAmountInputMixin(models.AbstractModel):
    """Wizards where an operator types an amount: whatever a client sends in those fields (NaN,
    inf, 1e30, "abc", 3 decimals) is refused with a clear message before it is stored, by the
    one amount parser of the ledger (canteen.ledger._amount)."""

    _name = "canteen.amount.input.mixin"
    _description = "Amount Input"

    _canteen_amount_fields = ("amount",)

    def _canteen_check_amounts(self, vals):
        for name in self._canteen_amount_fields:
            if vals.get(name) not in (None, False):
                self.env["canteen.ledger"]._amount(vals[name], allow_zero=True)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._canteen_check_amounts(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._canteen_check_amounts(vals)
        return super().write(vals)

    def _confirm_or_draft(self):
        """Called as superuser once the wizard's action has checked the caller: posts through
        `_confirm`, the wizard's one posting path. canteen_approval drafts an approval request
        instead when the company asks for one; the approved request then calls `_confirm`."""
        return self._confirm()

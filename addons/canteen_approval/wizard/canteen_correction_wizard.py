from decimal import Decimal

from odoo import models


class CanteenCorrectionWizard(models.TransientModel):
    """A correction above the threshold waits for its approval. Its window (24 h for an operator)
    is judged when the operator asks for it: a correction asked for in time is posted when
    approved, even after the window has closed (Card Finance approving on Monday a correction
    asked for on Friday evening); everything else (what is left of the charge, the cardholder
    still active) is checked again when it is posted."""

    _name = "canteen.correction.wizard"
    _inherit = ["canteen.correction.wizard", "canteen.approval.wizard.mixin"]

    _canteen_approval_fields = ("entry_id", "new_amount", "note")

    def _confirm_or_draft(self):
        self._check_rest()  # the wizard's own check first, with its message
        Ledger = self.env["canteen.ledger"]
        new_amount = Ledger._amount(self.new_amount, allow_zero=True)
        charged = Decimal(str(self.charged)).quantize(Decimal("0.01"))
        # A correction that could not be posted is refused now, not after its approval.
        Ledger.with_env(self.env(su=False))._check_correctable(self.entry_id, new_amount, charged)
        back = charged - new_amount
        new_text = f"{new_amount:.2f}"
        summary = self.env._(
            "Charge #%(entry)s of %(person)s corrected to %(amount)s",
            entry=self.entry_id.id,
            person=self.entry_id.employee_id.name,
            amount=new_text,
        )
        request = self._canteen_approval_draft(
            "correction", back, self.entry_id.employee_id, self.entry_id.company_id, summary
        )
        return request._sent_notification() if request else super()._confirm_or_draft()

    def _canteen_approval_post(self, request):
        self._confirm(requested_at=request.requested_date)
        return False

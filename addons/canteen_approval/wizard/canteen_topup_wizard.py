from odoo import models


class CanteenTopupWizard(models.TransientModel):
    _name = "canteen.topup.wizard"
    _inherit = ["canteen.topup.wizard", "canteen.approval.wizard.mixin"]

    _canteen_approval_fields = ("mode", "employee_ids", "wallet_kind", "amount", "payment_journal_id", "note")

    def _confirm_or_draft(self):
        if self.mode == "refund" and self.wallet_kind != "cash":
            return super()._confirm_or_draft()  # refused there, with its message
        each = self.env["canteen.ledger"]._amount(self.amount)
        employees = self.employee_ids
        amount = each * len(employees)
        each_text = f"{each:.2f}"
        if self.mode == "refund":
            summary = self.env._(
                "Refund of %(amount)s to each of %(count)s cardholders",
                amount=each_text,
                count=len(employees),
            )
        else:
            summary = self.env._(
                "Top-up of %(amount)s (%(wallet)s) for each of %(count)s cardholders",
                amount=each_text,
                wallet=dict(self._fields["wallet_kind"]._description_selection(self.env))[self.wallet_kind],
                count=len(employees),
            )
        request = self._canteen_approval_draft(self.mode, amount, employees, employees.company_id, summary)
        return request._sent_notification() if request else super()._confirm_or_draft()

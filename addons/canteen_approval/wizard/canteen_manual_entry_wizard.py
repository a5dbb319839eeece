from odoo import fields, models


class CanteenManualEntryWizard(models.TransientModel):
    _name = "canteen.manual.entry.wizard"
    _inherit = ["canteen.manual.entry.wizard", "canteen.approval.wizard.mixin"]

    _canteen_approval_fields = (
        "employee_id",
        "merchant_id",
        "terminal_ref",
        "date",
        "amount",
        "note",
        "meal_kind",
    )

    def _confirm_or_draft(self):
        amount = self.env["canteen.ledger"]._amount(self.amount)
        if self.date > fields.Datetime.now():
            return super()._confirm_or_draft()  # refused there, with its message
        amount_text = f"{amount:.2f}"
        summary = self.env._(
            "Manual entry of %(amount)s for %(person)s at %(merchant)s",
            amount=amount_text,
            person=self.employee_id.name,
            merchant=self.merchant_id.name,
        )
        request = self._canteen_approval_draft(
            "manual_entry", amount, self.employee_id, self.employee_id.company_id, summary
        )
        return request._sent_notification() if request else super()._confirm_or_draft()

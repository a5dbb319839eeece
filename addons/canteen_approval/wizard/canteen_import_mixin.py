from odoo import models

from odoo.addons.canteen_card.tools.ledger_core import ZERO

# The Excel imports that move money, with what a row of their plan moves: the other imports
# (people, departments) post at once as before.
IMPORT_KINDS = {
    "canteen.topup.import.wizard": ("topup_import", lambda row: row.cash + row.subsidy),
    "canteen.refund.import.wizard": ("refund_import", lambda row: row.amount),
}


class CanteenImportMixin(models.AbstractModel):
    """The money imports (top-ups, refunds) above the company's threshold are drafted with their
    file; the approved request checks the file again and imports it (`_import_checked`)."""

    _name = "canteen.import.mixin"
    _inherit = ["canteen.import.mixin", "canteen.approval.wizard.mixin"]

    _canteen_approval_fields = ("company_id", "payment_journal_id", "note")

    def _apply_or_draft(self, plan):
        if self._name not in IMPORT_KINDS:
            return super()._apply_or_draft(plan)
        kind, row_amount = IMPORT_KINDS[self._name]
        employees = self.env["hr.employee"].browse([row.employee.id for row in plan])
        amount = sum((row_amount(row) for row in plan), ZERO)
        Request = self.env["canteen.approval.request"]
        summary = self.env._(
            "%(kind)s %(file)s: %(count)s rows",
            kind=dict(Request._fields["kind"]._description_selection(self.env))[kind],
            file=self.filename or "",
            count=len(plan),
        )
        request = self._canteen_approval_draft(
            kind,
            amount,
            employees,
            self.company_id | employees.company_id,
            summary,
            file=self.file,
            filename=self.filename,
        )
        return request._sent_notification() if request else super()._apply_or_draft(plan)

    def _canteen_approval_post(self, request):
        return self._import_checked()

from odoo import models

from odoo.addons.canteen_card.tools.ledger_core import ZERO


class CanteenRefundImportWizard(models.TransientModel):
    _name = "canteen.refund.import.wizard"
    _inherit = ["canteen.refund.import.wizard", "canteen.approval.wizard.mixin"]

    _canteen_approval_fields = ("company_id", "payment_journal_id", "note")

    def _apply_or_draft(self, plan):
        employees = self.env["hr.employee"].browse([row.employee.id for row in plan])
        amount = sum((row.amount for row in plan), ZERO)
        summary = self.env._(
            "Refund import %(file)s: %(count)s rows", file=self.filename or "", count=len(plan)
        )
        request = self._canteen_approval_draft(
            "refund_import",
            amount,
            employees,
            self.company_id | employees.company_id,
            summary,
            file=self.file,
            filename=self.filename,
        )
        return request._sent_notification() if request else super()._apply_or_draft(plan)

    def _canteen_approval_post(self):
        return self._import_checked()

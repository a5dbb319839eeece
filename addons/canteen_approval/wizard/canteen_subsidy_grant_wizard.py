from odoo import Command, models

from odoo.addons.canteen_card.tools.access import MANAGER, check_caller


class CanteenSubsidyGrantWizard(models.TransientModel):
    _name = "canteen.subsidy.grant.wizard"
    _inherit = ["canteen.subsidy.grant.wizard", "canteen.approval.wizard.mixin"]

    _canteen_approval_fields = ("employee_ids", "amount", "mode", "expiry_date", "note")

    def _confirm_or_draft(self):
        employees = self._recipients()
        if not employees:
            return super()._confirm_or_draft()  # refused there, with its message
        check_caller(self.env(su=False), MANAGER, employees.company_id)
        each = self.env["canteen.ledger"]._amount(self.amount)
        each_text = f"{each:.2f}"
        summary = self.env._(
            "Subsidy of %(amount)s for each of %(count)s cardholders", amount=each_text, count=len(employees)
        )
        # The cardholders of the departments are fixed now: the approver approves these people.
        request = self._canteen_approval_draft(
            "subsidy_grant",
            each * len(employees),
            employees,
            employees.company_id,
            summary,
            overrides={"employee_ids": [Command.set(employees.ids)]},
        )
        return request._sent_notification() if request else super()._confirm_or_draft()

from odoo import fields, models


def _keep(records):
    """The operation log is never changed: its approval lines outlive the addon."""
    return records


class CanteenOperationLog(models.Model):
    _inherit = "canteen.operation.log"

    action = fields.Selection(
        selection_add=[
            ("approval_request", "Sent for Approval"),
            ("approval_approve", "Approved"),
            ("approval_refuse", "Approval Refused"),
        ],
        ondelete={"approval_request": _keep, "approval_approve": _keep, "approval_refuse": _keep},
    )

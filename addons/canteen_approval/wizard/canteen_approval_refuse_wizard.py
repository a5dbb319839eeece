from odoo import fields, models


class CanteenApprovalRefuseWizard(models.TransientModel):
    """Refuse an approval request with a reason, which the request keeps."""

    _name = "canteen.approval.refuse.wizard"
    _description = "Refuse an Approval Request"

    request_id = fields.Many2one("canteen.approval.request", required=True, help="The request to refuse.")
    reason = fields.Text(required=True, help="Why the operation is refused: the operator reads it.")

    def action_confirm(self):
        self.ensure_one()
        self.request_id.action_refuse(self.reason)
        return {"type": "ir.actions.act_window_close"}

from odoo import Command, api, fields, models
from odoo.exceptions import UserError


class CanteenCardBatchIssueWizard(models.TransientModel):
    """Issue auto-numbered virtual cards (自动生成卡号) to everyone selected who has no card yet."""

    _name = "canteen.card.batch.issue.wizard"
    _description = "Issue Virtual Cards"

    employee_ids = fields.Many2many("hr.employee", string="Cardholders")
    department_ids = fields.Many2many(
        "hr.department", string="Departments", help="Every active cardholder of these departments and below."
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "hr.employee" and "employee_ids" in fields_list:
            values["employee_ids"] = [Command.set(self.env.context.get("active_ids", []))]
        return values

    def action_issue(self):
        self.ensure_one()
        employees = self.employee_ids
        if self.department_ids:
            employees |= self.env["hr.employee"].search(
                [("department_id", "child_of", self.department_ids.ids)]
            )
        employees = employees.filtered(lambda e: e.cardholder_state == "active" and not e.current_card_id)
        if not employees:
            raise UserError(self.env._("Everyone selected already holds a card, or has resigned."))
        cards = self.env["canteen.card"]._issue([{"employee_id": e.id, "kind": "virtual"} for e in employees])
        action = self.env["ir.actions.act_window"]._for_xml_id("canteen_card.canteen_card_action")
        action.update({"domain": [("id", "in", cards.ids)], "context": {}})
        return action

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.access import OPERATOR, check_caller


class CanteenCardIssueWizard(models.TransientModel):
    _name = "canteen.card.issue.wizard"
    _description = "Issue a Card"

    employee_id = fields.Many2one("hr.employee", string="Cardholder", required=True)
    kind = fields.Selection(
        [("physical", "Physical"), ("virtual", "Virtual")], required=True, default="physical"
    )
    uid = fields.Char(string="Card UID", help="Read the card on the desk reader. Virtual cards are numbered.")
    card_type_id = fields.Many2one(
        "canteen.card.type", compute="_compute_card_type_id", store=True, readonly=False, required=True
    )

    @api.depends("employee_id")
    def _compute_card_type_id(self):
        for wizard in self:
            wizard.card_type_id = wizard.employee_id.card_type_id

    def action_issue(self):
        self.ensure_one()
        check_caller(self.env, OPERATOR, self.employee_id.company_id)
        employee = self.employee_id.sudo()
        if employee.cardholder_state != "active":
            raise UserError(
                self.env._("%(person)s has resigned and cannot get a card.", person=employee.name)
            )
        if employee.current_card_id:
            raise UserError(
                self.env._(
                    "%(person)s already holds card %(uid)s; replace or cancel it first.",
                    person=employee.name,
                    uid=employee.current_card_id.uid,
                )
            )
        if self.kind == "physical" and not (self.uid or "").strip():
            raise UserError(self.env._("Read or type the UID of the physical card."))
        if not employee.card_type_id:
            employee.card_type_id = self.card_type_id
        card = self.env["canteen.card"]._issue(
            [
                {
                    "employee_id": employee.id,
                    "kind": self.kind,
                    "uid": (self.uid or "").strip().upper() or False,
                    "card_type_id": self.card_type_id.id,
                }
            ]
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "canteen.card",
            "res_id": card.id,
            "view_mode": "form",
            "target": "current",
        }

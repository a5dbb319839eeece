from odoo import fields, models


class CanteenRuleGroup(models.Model):
    _name = "canteen.rule.group"
    _inherit = ["canteen.company.shared.mixin"]
    _description = "Consumption Rule Group"
    _order = "sequence, name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", index=True, help="Leave empty to share the group with every company."
    )
    employee_ids = fields.One2many("hr.employee", "rule_group_id", string="Cardholders")
    note = fields.Text(help="What the consumption rules of this group are for (staff, students, guests).")

from odoo import fields, models


class CanteenRuleGroup(models.Model):
    _inherit = "canteen.rule.group"

    currency_id = fields.Many2one("res.currency", default=lambda self: self.env.company.currency_id)
    daily_amount_limit = fields.Monetary(help="Most a person of the group may spend per day. 0: no limit.")
    rule_ids = fields.One2many("canteen.consumption.rule", "rule_group_id", string="Rules per Meal")

from odoo import fields, models

from .canteen_meal_period import MEAL_KIND_SELECTION


class CanteenConsumptionRule(models.Model):
    """What a rule group may do in one meal (限次、限额、打折); no rule means no limit."""

    _name = "canteen.consumption.rule"
    _description = "Consumption Rule"
    _order = "rule_group_id, meal_kind"

    rule_group_id = fields.Many2one("canteen.rule.group", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="rule_group_id.company_id", store=True)
    currency_id = fields.Many2one("res.currency", default=lambda self: self.env.company.currency_id)
    meal_kind = fields.Selection(MEAL_KIND_SELECTION, required=True)
    allowed = fields.Boolean(default=True, help="Unticked: the group may not eat in this meal.")
    count_limit = fields.Integer(help="Meals a person may take in this period per day. 0: no limit.")
    amount_limit = fields.Monetary(string="Amount Limit per Meal", help="0: no limit.")
    discount_percent = fields.Float(string="Discount (%)", help="Taken off each charge in this meal.")

    _sql_constraints = [
        ("group_meal_uniq", "unique (rule_group_id, meal_kind)", "One rule per group and meal."),
        (
            "discount_range",
            "CHECK (discount_percent >= 0 AND discount_percent <= 100)",
            "A discount is 0 to 100 %.",
        ),
        (
            "limits_not_negative",
            "CHECK (count_limit >= 0 AND amount_limit >= 0)",
            "Limits cannot be negative.",
        ),
    ]

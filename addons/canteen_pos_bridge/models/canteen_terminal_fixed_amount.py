from odoo import fields, models


class CanteenTerminalFixedAmount(models.Model):
    _name = "canteen.terminal.fixed.amount"
    _description = "Fixed Amount per Meal"

    terminal_id = fields.Many2one("canteen.terminal", required=True, ondelete="cascade", index=True)
    meal_kind = fields.Selection(
        selection=lambda self: self.env["canteen.meal.period"]._fields["kind"].selection, required=True
    )
    currency_id = fields.Many2one(related="terminal_id.currency_id")
    amount = fields.Monetary(required=True)

    _sql_constraints = [
        ("terminal_meal_uniq", "unique (terminal_id, meal_kind)", "One fixed amount per meal and terminal."),
        ("amount_not_negative", "CHECK (amount >= 0)", "A fixed amount cannot be negative."),
    ]

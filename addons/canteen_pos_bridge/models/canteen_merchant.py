from odoo import fields, models


class CanteenMerchant(models.Model):
    _inherit = "canteen.merchant"

    meal_period_ids = fields.One2many("canteen.meal.period", "merchant_id", string="Meal Periods")
    menu_item_ids = fields.One2many("canteen.menu.item", "merchant_id", string="Menu")
    terminal_ids = fields.One2many("canteen.terminal", "merchant_id", string="Terminals")

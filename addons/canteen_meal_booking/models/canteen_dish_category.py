from odoo import fields, models


class CanteenDishCategory(models.Model):
    _name = "canteen.dish.category"
    _description = "Dish Category"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True, help="E.g. staple, meat dish, vegetable, soup.")
    sequence = fields.Integer(default=10, help="Order of the categories on menus.")
    active = fields.Boolean(default=True, help="Archived categories are no longer offered.")

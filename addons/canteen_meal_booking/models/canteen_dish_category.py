from odoo import fields, models


class CanteenDishCategory(models.Model):
    _name = "canteen.dish.category"
    _description = "Dish Category"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True, help="E.g. staple, meat dish, vegetable, soup.")
    sequence = fields.Integer(default=10, help="Order of the categories on menus.")
    company_id = fields.Many2one(
        "res.company",
        index=True,
        help="Left empty, every company uses it; otherwise that company and its branches.",
    )
    active = fields.Boolean(default=True, help="Archived categories are no longer offered.")

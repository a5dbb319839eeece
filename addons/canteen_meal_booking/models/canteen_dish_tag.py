from odoo import fields, models


class CanteenDishTag(models.Model):
    _name = "canteen.dish.tag"
    _description = "Dish Tag"
    _order = "name"

    name = fields.Char(required=True, translate=True, help="E.g. spicy, vegetarian, halal.")
    color = fields.Integer(help="Colour of the tag on menus.")
    company_id = fields.Many2one(
        "res.company",
        index=True,
        help="Left empty, every company uses it; otherwise that company and its branches.",
    )

    _sql_constraints = [("name_uniq", "unique (name)", "A dish tag name is unique.")]

from odoo import fields, models


class CanteenDish(models.Model):
    """A dish a canteen can put on its menus."""

    _name = "canteen.dish"
    _inherit = ["image.mixin"]
    _description = "Dish"
    _order = "category_id, name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, help="Name shown on menus.")
    code = fields.Char(
        index="btree_not_null",
        help="What a terminal in menu mode sends for this dish; priced from the published menu.",
    )
    description = fields.Text(translate=True, help="Ingredients or a short description.")
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        help="Canteens of this company and of its branches may serve the dish.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")
    price = fields.Monetary(required=True, help="Usual price; a menu may set another for one day.")
    category_id = fields.Many2one("canteen.dish.category", help="Staple, meat dish, vegetable, soup...")
    tag_ids = fields.Many2many("canteen.dish.tag", string="Tags", help="Spicy, vegetarian, halal...")
    active = fields.Boolean(default=True, help="Archived dishes are no longer offered.")

    _sql_constraints = [
        ("price_positive", "CHECK (price >= 0)", "A dish price is not negative."),
        ("company_code_uniq", "unique (company_id, code)", "A dish code is unique within a company."),
    ]

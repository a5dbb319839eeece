from odoo import api, fields, models


class CanteenMenuLine(models.Model):
    _name = "canteen.menu.line"
    _description = "Menu Dish"
    _order = "menu_id, sequence, id"
    _check_company_auto = True

    menu_id = fields.Many2one("canteen.menu", required=True, ondelete="cascade", index=True, help="The menu.")
    company_id = fields.Many2one(
        related="menu_id.company_id", store=True, index=True, string="Company", help="The canteen's company."
    )
    currency_id = fields.Many2one(related="menu_id.currency_id", string="Currency")
    sequence = fields.Integer(default=10, help="Order of the dish on the menu.")
    dish_id = fields.Many2one("canteen.dish", required=True, check_company=True, help="The dish served.")
    category_id = fields.Many2one(related="dish_id.category_id", string="Category")
    tag_ids = fields.Many2many(related="dish_id.tag_ids", string="Tags")
    price = fields.Monetary(
        compute="_compute_price",
        store=True,
        readonly=False,
        precompute=True,
        help="Price of the dish on this menu; the dish's usual price by default.",
    )

    _sql_constraints = [("price_positive", "CHECK (price >= 0)", "A dish price is not negative.")]

    @api.depends("dish_id")
    def _compute_price(self):
        for line in self:
            line.price = line.dish_id.price

from odoo import fields, models


class CanteenMenuItem(models.Model):
    """A dish a menu-mode terminal sells, by its code."""

    _name = "canteen.menu.item"
    _description = "Menu Item"
    _order = "merchant_id, code"
    _check_company_auto = True

    merchant_id = fields.Many2one("canteen.merchant", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="merchant_id.company_id", store=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    code = fields.Char(required=True, help="What the terminal sends as the product of an item.")
    name = fields.Char(required=True, translate=True)
    price = fields.Monetary(required=True)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("merchant_code_uniq", "unique (merchant_id, code)", "A dish code is unique per merchant."),
        ("price_positive", "CHECK (price > 0)", "A dish has a positive price."),
    ]

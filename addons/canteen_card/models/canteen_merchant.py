from odoo import api, fields, models

MERCHANT_KIND_SELECTION = [("canteen", "Canteen"), ("supermarket", "Supermarket"), ("shop", "Shop")]


class CanteenMerchant(models.Model):
    """A canteen, supermarket or shop that takes card payments and is settled separately."""

    _name = "canteen.merchant"
    _inherit = ["canteen.company.shared.mixin"]
    _description = "Merchant"
    _order = "company_id, name"
    _check_company_auto = True

    name = fields.Char(required=True)
    kind = fields.Selection(MERCHANT_KIND_SELECTION, required=True, default="canteen")
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    partner_id = fields.Many2one(
        "res.partner", check_company=True, help="The merchant's contact, when it is a separate business."
    )
    account_id = fields.Many2one(
        "account.account",
        string="Settlement Account",
        check_company=True,
        compute="_compute_account_id",
        store=True,
        readonly=False,
        precompute=True,
        help="Credited by the clearing run with what the merchant's customers spent.",
    )
    clearing_ids = fields.One2many("canteen.clearing", "merchant_id", string="Clearings", readonly=True)

    @api.depends("company_id")
    def _compute_account_id(self):
        for merchant in self:
            merchant.account_id = merchant.company_id.canteen_merchant_account_id

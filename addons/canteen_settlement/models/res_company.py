from odoo import fields, models
from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__)

FEE_ACCOUNT_CODE = "419200"
FEE_ACCOUNT_NAME = _lt("Merchant Settlement Fees")


class ResCompany(models.Model):
    _inherit = "res.company"

    canteen_settlement_fee_account_id = fields.Many2one(
        "account.account",
        string="Settlement Fee Income Account",
        check_company=True,
        help="Credited with the fees kept from external merchants when their settlement is "
        "confirmed. Created on first use when empty.",
    )

    def _canteen_settlement_fee_account(self):
        """The fee income account, created (on the root company, shared with its branches) on
        first use."""
        self.ensure_one()
        if not self.canteen_settlement_fee_account_id:
            root = self.root_id
            account = root.canteen_settlement_fee_account_id or root._canteen_create_account(
                FEE_ACCOUNT_CODE, "income", FEE_ACCOUNT_NAME
            )
            (self | root).sudo().canteen_settlement_fee_account_id = account
        return self.canteen_settlement_fee_account_id

    def _canteen_settlement_journal(self):
        """The purchase journal that carries merchant bills by default."""
        self.ensure_one()
        return (
            self.env["account.journal"]
            .sudo()
            .search([("company_id", "=", self.id), ("type", "=", "purchase")], limit=1)
        )

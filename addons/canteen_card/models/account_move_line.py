from odoo import api, models

# Fields of a journal item that carry the books: refused on an item of an entry the canteen
# ledger posted (matching and reconciliation fields stay writable).
BOOKED_LINE_FIELDS = frozenset(
    {
        "move_id",
        "account_id",
        "debit",
        "credit",
        "balance",
        "amount_currency",
        "currency_id",
        "company_id",
        "date",
        "partner_id",
        "name",
        "tax_ids",
        "tax_line_id",
        "display_type",
    }
)


class AccountMoveLine(models.Model):
    """The journal items of an entry the canteen ledger posted are as final as the entry."""

    _inherit = "account.move.line"

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            moves = self.env["account.move"].browse(
                {vals["move_id"] for vals in vals_list if vals.get("move_id")}
            )
            moves._canteen_check_alterable()
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and BOOKED_LINE_FIELDS.intersection(vals):
            self.move_id._canteen_check_alterable()
            if vals.get("move_id"):
                self.env["account.move"].browse(vals["move_id"])._canteen_check_alterable()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_canteen_locked(self):
        self.move_id._canteen_check_alterable()

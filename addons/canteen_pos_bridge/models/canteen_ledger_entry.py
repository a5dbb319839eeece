from odoo import fields, models


class CanteenLedgerEntry(models.Model):
    _inherit = "canteen.ledger.entry"

    # Set by the ledger core from the bridge's values when a terminal charges.
    terminal_id = fields.Many2one("canteen.terminal", readonly=True, index="btree_not_null")

from odoo import fields, models

from odoo.addons.canteen_card.models.canteen_ledger_entry import MEAL_KIND_SELECTION


class CanteenSettlementLine(models.Model):
    """One day and meal of a merchant statement: the charges and corrections it covers."""

    _name = "canteen.settlement.line"
    _inherit = ["canteen.protected.mixin"]
    _description = "Merchant Statement Line"
    _order = "date, meal_kind, id"

    settlement_id = fields.Many2one(
        "canteen.settlement", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="settlement_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="settlement_id.currency_id")
    date = fields.Date(required=True, readonly=True, help="The business day of the charges.")
    meal_kind = fields.Selection(
        MEAL_KIND_SELECTION, string="Meal", readonly=True, help="Empty at a shop without meal periods."
    )
    charge_count = fields.Integer(string="Charges", readonly=True, help="Number of charges (transactions).")
    charge_amount = fields.Monetary(
        string="Charged", readonly=True, help="What the charges took from wallets."
    )
    correction_count = fields.Integer(string="Corrections", readonly=True)
    correction_amount = fields.Monetary(
        string="Corrected", readonly=True, help="What corrections gave back to wallets."
    )
    amount = fields.Monetary(string="Net", readonly=True, help="Charged less corrected.")

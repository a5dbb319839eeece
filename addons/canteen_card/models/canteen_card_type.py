from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools import ledger_core


class CanteenCardType(models.Model):
    _name = "canteen.card.type"
    _inherit = ["canteen.company.shared.mixin"]
    _description = "Card Type"
    _order = "sequence, name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        help="Leave empty to share the card type with every company; a headquarters' card "
        "type is also usable by its branches.",
    )
    currency_id = fields.Many2one(
        "res.currency", compute="_compute_currency_id", help="Currency of the amounts below."
    )
    use_cash = fields.Boolean(string="Cash Wallet", default=True)
    use_subsidy = fields.Boolean(string="Subsidy Wallet", default=True)
    max_balance = fields.Monetary(
        string="Maximum Balance",
        help="A top-up may not bring a wallet above this balance. 0 means no maximum.",
    )
    overdraft_floor = fields.Monetary(
        help="Lowest balance a charge may leave in the cash wallet: 0, or negative to allow a debt.",
    )
    validity_years = fields.Integer(
        string="Validity (years)", help="Cards of this type expire after this many years. 0: never."
    )
    card_cost = fields.Monetary(help="Charged when a card of this type is cancelled or replaced.")
    subsidy_above_max = fields.Boolean(
        string="Subsidies Exempt from the Maximum",
        help="Subsidy grants may bring the subsidy wallet above the maximum balance. Unticked, every "
        "credit (top-up or subsidy) respects it.",
    )

    _sql_constraints = [
        (
            "overdraft_floor_not_positive",
            "CHECK (overdraft_floor <= 0)",
            "The overdraft floor is 0 or negative.",
        ),
        ("max_balance_not_negative", "CHECK (max_balance >= 0)", "The maximum balance cannot be negative."),
        ("card_cost_not_negative", "CHECK (card_cost >= 0)", "The card cost cannot be negative."),
        ("validity_not_negative", "CHECK (validity_years >= 0)", "The validity cannot be negative."),
        ("some_wallet", "CHECK (use_cash OR use_subsidy)", "A card type uses at least one wallet."),
    ]

    @api.depends("company_id")
    def _compute_currency_id(self):
        for card_type in self:
            card_type.currency_id = (card_type.company_id or self.env.company).currency_id

    @api.model
    def _canteen_card_cost_amount(self, value, card_type):
        """The card cost to take: a valid amount (0 included), at most `card_type`'s card cost."""
        amount = self.env["canteen.ledger"]._amount(value, allow_zero=True)
        maximum = ledger_core.to_amount(card_type.card_cost or 0, allow_zero=True)
        if amount > maximum:
            maximum_text, type_name = f"{maximum:.2f}", card_type.display_name or "-"
            raise UserError(
                self.env._(
                    "The card cost can be at most %(maximum)s, the card cost of card type %(type)s.",
                    maximum=maximum_text,
                    type=type_name,
                )
            )
        return amount

from odoo import fields, models
from odoo.exceptions import UserError

from .canteen_meal_period import MEAL_KIND_SELECTION

DECLINE_REASONS = [
    ("unknown_identity", "Unknown identity"),
    ("card_lost", "Card lost"),
    ("card_cancelled", "Card cancelled"),
    ("card_expired", "Card expired"),
    ("insufficient_funds", "Insufficient funds"),
    ("count_limit", "Count limit"),
    ("amount_limit", "Amount limit per meal"),
    ("daily_limit", "Daily limit"),
    ("outside_meal_period", "Outside meal period"),
    ("not_allowed_here", "Not allowed here"),
]


class CanteenTransaction(models.Model):
    """One request of a terminal to charge someone (online or uploaded offline), approved or
    declined. (terminal, seq) is the idempotency key: the stored answer is replayed."""

    _name = "canteen.transaction"
    _description = "Terminal Transaction"
    _order = "id desc"

    name = fields.Char(required=True, readonly=True, index=True)
    terminal_id = fields.Many2one("canteen.terminal", required=True, readonly=True, index=True)
    seq = fields.Integer(string="Sequence", required=True, readonly=True, aggregator=None)
    company_id = fields.Many2one("res.company", readonly=True, index=True, help="The cardholder's company.")
    currency_id = fields.Many2one(related="company_id.currency_id")
    employee_id = fields.Many2one("hr.employee", string="Cardholder", readonly=True, index=True)
    card_id = fields.Many2one("canteen.card", readonly=True)
    identity_type = fields.Char(readonly=True)
    identity_value = fields.Char(readonly=True)
    status = fields.Selection(
        [("approved", "Approved"), ("declined", "Declined")], required=True, readonly=True
    )
    reason = fields.Selection(DECLINE_REASONS, readonly=True)
    amount_requested = fields.Monetary(readonly=True)
    charged = fields.Monetary(readonly=True)
    discount = fields.Monetary(readonly=True)
    meal_kind = fields.Selection(MEAL_KIND_SELECTION, readonly=True)
    business_date = fields.Date(readonly=True, index=True, help="Local day of the meal.")
    occurred_at = fields.Datetime(readonly=True, help="When the terminal says it happened.")
    deduplicated = fields.Boolean(readonly=True)
    original_id = fields.Many2one("canteen.transaction", string="Original Transaction", readonly=True)
    offline = fields.Boolean(readonly=True, help="Uploaded after being recorded while offline.")
    overdraft = fields.Boolean(readonly=True)
    after_loss = fields.Boolean(readonly=True, help="Offline record of a card reported lost before it.")
    response = fields.Json(
        readonly=True, help="The answer sent to the terminal, replayed for a repeated seq."
    )

    _sql_constraints = [
        ("terminal_seq_uniq", "unique (terminal_id, seq)", "A terminal never reuses a sequence number."),
    ]

    def init(self):
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS canteen_transaction_holder_day_idx "
            "ON canteen_transaction (employee_id, business_date) WHERE status = 'approved'"
        )

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("Terminal transactions are a record of what happened and cannot change."))

    def unlink(self):  # pylint: disable=method-required-super
        raise UserError(self.env._("Terminal transactions cannot be deleted."))

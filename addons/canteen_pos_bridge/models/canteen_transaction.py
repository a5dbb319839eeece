from decimal import Decimal

from odoo import fields, models
from odoo.exceptions import UserError

from odoo.addons.canteen_card.tools.access import MANAGER, check_caller

from .canteen_meal_period import MEAL_KIND_SELECTION

DECLINE_REASONS = [
    ("unknown_identity", "Unknown identity"),
    ("card_lost", "Card lost"),
    ("card_cancelled", "Card cancelled"),
    ("card_replaced", "Card replaced by a new one"),
    ("card_expired", "Card expired"),
    ("insufficient_funds", "Insufficient funds"),
    ("count_limit", "Count limit"),
    ("amount_limit", "Amount limit per meal"),
    ("daily_limit", "Daily limit"),
    ("outside_meal_period", "Outside meal period"),
    ("not_allowed_here", "Not allowed here"),
    ("invalid_time", "Time out of bounds"),
    ("not_booked", "No booking for this meal"),
    ("qr_expired", "QR code expired"),
]
# What a manager may still record on a transaction of the exception queue (as superuser).
EXCEPTION_FIELDS = frozenset({"exception_state", "exception_user_id", "exception_date"})


class CanteenTransaction(models.Model):
    """One request of a terminal to charge someone (online or uploaded offline), approved or
    declined. (terminal, seq) is the idempotency key: the stored answer is replayed."""

    _name = "canteen.transaction"
    _inherit = ["canteen.protected.mixin"]
    _description = "Terminal Transaction"
    _order = "id desc"

    name = fields.Char(required=True, readonly=True, index=True)
    # No index of its own: the unique (terminal_id, seq) key below serves lookups by terminal.
    terminal_id = fields.Many2one("canteen.terminal", required=True, readonly=True)
    seq = fields.Integer(string="Sequence", required=True, readonly=True, aggregator=None)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        index=True,
        help="The cardholder's company; the terminal's when nobody was identified.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    employee_id = fields.Many2one("hr.employee", string="Cardholder", readonly=True, index=True)
    card_id = fields.Many2one("canteen.card", readonly=True)
    identity_type = fields.Selection(
        [("card", "Card"), ("face", "Face"), ("employee", "Employee Number"), ("qr", "QR Code")],
        string="Identified By",
        readonly=True,
        help="How the terminal identified the person.",
    )
    identity_value = fields.Char(
        string="Identity", readonly=True, help="The card UID, employee number or face match sent."
    )
    status = fields.Selection(
        [("approved", "Approved"), ("declined", "Declined"), ("exception", "Exception")],
        required=True,
        readonly=True,
        help="Exception: an offline record of a card cancelled since (its wallet was refunded); nothing "
        "was charged and a card manager decides (异常处理).",
    )
    reason = fields.Selection(DECLINE_REASONS, readonly=True)
    amount_requested = fields.Monetary(readonly=True)
    charged = fields.Monetary(readonly=True)
    discount = fields.Monetary(readonly=True)
    meal_kind = fields.Selection(MEAL_KIND_SELECTION, readonly=True)
    business_date = fields.Date(readonly=True, index=True, help="Local day of the meal.")
    occurred_at = fields.Datetime(readonly=True, help="When the terminal says it happened.")
    deduplicated = fields.Boolean(
        readonly=True,
        help="The same person at the same merchant within the dedup window: approved again without a "
        "second charge.",
    )
    original_id = fields.Many2one("canteen.transaction", string="Original Transaction", readonly=True)
    offline = fields.Boolean(readonly=True, help="Uploaded after being recorded while offline.")
    overdraft = fields.Boolean(readonly=True)
    after_loss = fields.Boolean(readonly=True, help="Offline record of a card reported lost before it.")
    exception_state = fields.Selection(
        [("open", "To Decide"), ("charged", "Charged"), ("dismissed", "Dismissed")],
        readonly=True,
        index="btree_not_null",
        help="Exception queue: charged to the person (a debt if need be) or dismissed (the merchant's loss).",
    )
    exception_user_id = fields.Many2one("res.users", string="Decided By", readonly=True)
    exception_date = fields.Datetime(string="Decided On", readonly=True)
    response = fields.Json(
        readonly=True, help="The answer sent to the terminal, replayed for a repeated seq."
    )

    _sql_constraints = [
        ("terminal_seq_uniq", "unique (terminal_id, seq)", "A terminal never reuses a sequence number."),
    ]

    def init(self):
        # An index on terminal_id alone repeated the (terminal_id, seq) key, and it hurt: the
        # bridge prepares its replay lookup (terminal, seq) while the table is still empty, the
        # planner took that index then, and each lookup went through every record of the
        # terminal (an offline upload of 36,000 records: 1,000 lookups of up to 36,000 rows per
        # batch). Odoo keeps an index that a field no longer asks for, so it is dropped here.
        self.env.cr.execute("DROP INDEX IF EXISTS canteen_transaction__terminal_id_index")
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS canteen_transaction_holder_day_idx "
            "ON canteen_transaction (employee_id, business_date) WHERE status = 'approved'"
        )

    def write(self, vals):
        if not self.env.su or set(vals) - EXCEPTION_FIELDS:
            raise UserError(
                self.env._("Terminal transactions are a record of what happened and cannot change.")
            )
        return super().write(vals)

    def unlink(self):  # pylint: disable=method-required-super
        raise UserError(self.env._("Terminal transactions cannot be deleted."))

    # Exception queue (异常处理) ----------------------------------------------------------------
    def _check_exception_open(self):
        check_caller(self.env, MANAGER, self.company_id)
        for transaction in self:
            if transaction.status != "exception" or transaction.exception_state != "open":
                raise UserError(self.env._("%(name)s is not an open exception.", name=transaction.name))

    def action_exception_charge(self):
        """Charge the person what the record says they consumed, below the floor if need be."""
        self._check_exception_open()
        ledger = self.env["canteen.ledger"].sudo()
        for transaction in self.sudo():
            # The card is cancelled and the person may have resigned: a plain debit of the cash
            # wallet, as a charge at the merchant (cleared with it), a debt if need be. Its meal
            # and local day are the record's, as for any charge the bridge books.
            values = {
                "merchant_id": transaction.terminal_id.merchant_id.id,
                "terminal_id": transaction.terminal_id.id,
                "card_id": transaction.card_id.id or None,
                "transaction_ref": transaction.name,
                "date": transaction.occurred_at,
                "meal_kind": transaction.meal_kind or None,
            }
            if transaction.business_date:
                # Without one, the ledger reckons the day in the company's time zone.
                values["business_date"] = transaction.business_date
            ledger._debit(
                transaction.employee_id,
                "cash",
                Decimal(str(transaction.amount_requested)),
                "charge",
                note=self.env._("Exception %(name)s charged", name=transaction.name),
                values=values,
                floor=Decimal("-Infinity"),
            )
        self._close_exceptions("charged")
        return True

    def action_exception_dismiss(self):
        """Charge nobody: the merchant bears the meal."""
        self._check_exception_open()
        self._close_exceptions("dismissed")
        return True

    def _close_exceptions(self, state):
        self.sudo().write(
            {
                "exception_state": state,
                "exception_user_id": self.env.uid,
                "exception_date": fields.Datetime.now(),
            }
        )

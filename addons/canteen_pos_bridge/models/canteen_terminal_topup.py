import logging

from odoo import api, fields, models

from .canteen_transaction import DECLINE_REASONS

_logger = logging.getLogger(__name__)

TOPUP_DECLINE_REASONS = [
    *DECLINE_REASONS,
    ("amount_not_allowed", "Amount not offered by the kiosk"),
    ("max_balance", "Above the maximum balance"),
    ("wallet_not_allowed", "Cash wallet not allowed"),
]
IDENTITY_SELECTION = [
    ("card", "Card"),
    ("face", "Face"),
    ("employee", "Employee Number"),
    ("qr", "QR Code"),
    ("face_image", "Face Picture"),
]


class CanteenTerminalTopup(models.Model):
    """A self-service top-up (刷脸自动充值) a kiosk asked for, approved or declined, written by the
    bridge (tools/topup_engine.py). (terminal, seq) is the idempotency key: the stored answer is
    replayed. An approved one credits the cash wallet through the ledger under a desk operation
    on the kiosk's payment journal, booked to the accounts by `_cron_book`."""

    _name = "canteen.terminal.topup"
    _inherit = ["canteen.protected.mixin"]
    _description = "Kiosk Top-up"
    _order = "id desc"

    name = fields.Char(required=True, readonly=True, index=True)
    terminal_id = fields.Many2one(
        "canteen.terminal", string="Kiosk", required=True, readonly=True, index=True
    )
    seq = fields.Integer(string="Sequence", required=True, readonly=True, aggregator=None)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        index=True,
        help="The cardholder's company; the kiosk's when nobody was identified.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    employee_id = fields.Many2one("hr.employee", string="Cardholder", readonly=True, index=True)
    card_id = fields.Many2one("canteen.card", readonly=True)
    identity_type = fields.Selection(
        IDENTITY_SELECTION, string="Identified By", readonly=True, help="How the kiosk identified the person."
    )
    identity_value = fields.Char(
        string="Identity", readonly=True, help="The card UID, employee number or face id sent or found."
    )
    amount = fields.Monetary(readonly=True, help="The amount the person chose at the kiosk.")
    status = fields.Selection(
        [("approved", "Approved"), ("declined", "Declined")], required=True, readonly=True
    )
    reason = fields.Selection(TOPUP_DECLINE_REASONS, readonly=True)
    occurred_at = fields.Datetime(readonly=True, help="When the kiosk says it happened.")
    operation_id = fields.Many2one(
        "canteen.operation",
        readonly=True,
        help="The top-up operation of an approved one: its ledger entry and journal entry.",
    )
    payment_journal_id = fields.Many2one(related="operation_id.payment_journal_id")
    move_id = fields.Many2one(related="operation_id.move_id", string="Journal Entry")
    response = fields.Json(readonly=True, help="The answer sent to the kiosk, replayed for a repeated seq.")

    _sql_constraints = [
        ("terminal_seq_uniq", "unique (terminal_id, seq)", "A terminal never reuses a sequence number."),
    ]

    @api.model
    def _cron_book(self, limit=500):
        """Book the operations of approved kiosk top-ups not booked yet: one journal entry each,
        the kiosk's cash or bank journal against the cash wallets' liability, as at the desk.
        The bridge asks for a run (an ir.cron trigger) with every approved top-up."""
        topups = self.sudo().search(
            [("status", "=", "approved"), ("operation_id", "!=", False), ("move_id", "=", False)],
            order="id",
            limit=limit,
        )
        booked = self.env["canteen.operation"]
        for operation in topups.operation_id:
            try:
                with self.env.cr.savepoint():
                    operation._book()
                booked |= operation
            except Exception:  # one bad journal must not hold up the others
                _logger.exception("kiosk top-up %s not booked", operation.name)
        return booked

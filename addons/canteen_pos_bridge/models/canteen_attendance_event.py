from odoo import fields, models

from .canteen_terminal_topup import IDENTITY_SELECTION
from .canteen_transaction import DECLINE_REASONS


class CanteenAttendanceEvent(models.Model):
    """An identification an attendance point reported (POST /api/v1/attendance), written by the
    bridge; (terminal, seq) is the idempotency key. canteen_attendance (with hr_attendance)
    turns the recorded ones into check-ins and check-outs."""

    _name = "canteen.attendance.event"
    _inherit = ["canteen.protected.mixin"]
    _description = "Attendance Event"
    _order = "occurred_at desc, id desc"

    name = fields.Char(required=True, readonly=True, index=True)
    terminal_id = fields.Many2one("canteen.terminal", required=True, readonly=True, index=True)
    seq = fields.Integer(string="Sequence", required=True, readonly=True, aggregator=None)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        index=True,
        help="The person's company; the terminal's when nobody was identified.",
    )
    employee_id = fields.Many2one("hr.employee", readonly=True, index=True)
    identity_type = fields.Selection(IDENTITY_SELECTION, string="Identified By", readonly=True)
    identity_value = fields.Char(string="Identity", readonly=True)
    occurred_at = fields.Datetime(required=True, readonly=True, help="When the terminal saw the person.")
    status = fields.Selection(
        [("recorded", "Recorded"), ("declined", "Declined")], required=True, readonly=True
    )
    reason = fields.Selection(DECLINE_REASONS, readonly=True)
    state = fields.Selection(
        [
            ("pending", "To Process"),
            ("check_in", "Checked In"),
            ("check_out", "Checked Out"),
            ("ignored", "Ignored"),
            ("failed", "Failed"),
        ],
        required=True,
        readonly=True,
        default="pending",
        index=True,
        help="What the attendance glue (canteen_attendance) made of it.",
    )
    note = fields.Char(readonly=True, help="Why it was ignored or failed.")
    response = fields.Json(
        readonly=True, help="The answer sent to the terminal, replayed for a repeated seq."
    )

    _sql_constraints = [
        ("terminal_seq_uniq", "unique (terminal_id, seq)", "A terminal never reuses a sequence number."),
    ]

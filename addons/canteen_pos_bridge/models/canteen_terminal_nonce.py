from datetime import timedelta

from odoo import fields, models
from odoo.tools import SQL

NONCE_LIFETIME = timedelta(minutes=10)


class CanteenTerminalNonce(models.Model):
    """Nonces seen in the last 10 minutes, shared by every bridge process (replay protection)."""

    _name = "canteen.terminal.nonce"
    _inherit = ["canteen.protected.mixin"]
    _description = "Terminal Request Nonce"
    _log_access = False

    terminal_id = fields.Many2one("canteen.terminal", required=True, ondelete="cascade")
    nonce = fields.Char(required=True)
    seen_at = fields.Datetime(required=True, index=True)

    _sql_constraints = [("terminal_nonce_uniq", "unique (terminal_id, nonce)", "A nonce is used once.")]

    def _purge(self):
        self.env.cr.execute(
            SQL(
                "DELETE FROM canteen_terminal_nonce WHERE seen_at < %s",
                fields.Datetime.now() - NONCE_LIFETIME,
            )
        )

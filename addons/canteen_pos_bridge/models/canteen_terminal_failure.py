from odoo import api, fields, models

from odoo.addons.canteen_card.tools.access import check_caller
from odoo.addons.canteen_card.tools.display import notification

from .canteen_terminal_command import MANAGER_GROUP


class CanteenTerminalFailure(models.Model):
    """What a terminal reported it could not do (a command it failed), for the terminal's log."""

    _name = "canteen.terminal.failure"
    _inherit = ["canteen.protected.mixin"]
    _description = "Terminal Failure"
    _order = "id desc"

    terminal_id = fields.Many2one("canteen.terminal", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="terminal_id.company_id", store=True)
    command_id = fields.Many2one("canteen.terminal.command", ondelete="set null")
    command_type = fields.Selection(related="command_id.type", string="Command Type")
    command_subject = fields.Char(
        related="command_id.subject", string="About", help="The card or person the command was about."
    )
    error = fields.Char(required=True)

    @api.depends("terminal_id", "command_id", "error")
    def _compute_display_name(self):
        for failure in self:
            failure.display_name = f"{failure.terminal_id.display_name}: {failure.error or ''}"

    def action_resend(self):
        """Send again what failed: the command, or the whole list when the failure was a list
        change (they are not kept per terminal)."""
        check_caller(self.env, MANAGER_GROUP, self.company_id)
        failures = self.sudo()
        failures.command_id.action_resend()
        without_command = failures.filtered(lambda f: not f.command_id).terminal_id
        if without_command:
            without_command.action_resend_list()
        return notification(
            self.env._(
                "Sent again to %(terminals)s: the failed commands, and the whole card list where the "
                "failure was a list change.",
                terminals=", ".join(failures.terminal_id.mapped("name")),
            ),
            title=self.env._("Resent"),
        )

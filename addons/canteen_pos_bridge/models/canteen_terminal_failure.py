from odoo import fields, models


class CanteenTerminalFailure(models.Model):
    """What a terminal reported it could not do (a command it failed), for the terminal's log."""

    _name = "canteen.terminal.failure"
    _inherit = ["canteen.protected.mixin"]
    _description = "Terminal Failure"
    _order = "id desc"

    terminal_id = fields.Many2one("canteen.terminal", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="terminal_id.company_id", store=True)
    command_id = fields.Many2one("canteen.terminal.command", ondelete="set null")
    error = fields.Char(required=True)

from odoo import fields, models


class CanteenTerminalSecretWizard(models.TransientModel):
    """Shows a terminal's new secret once, to be typed into the device."""

    _name = "canteen.terminal.secret.wizard"
    _description = "Terminal Secret"

    terminal_id = fields.Many2one("canteen.terminal", required=True, readonly=True)
    serial = fields.Char(related="terminal_id.serial")
    secret = fields.Char(readonly=True)

from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CanteenTerminal(models.Model):
    _name = "canteen.terminal"
    _description = "Canteen Terminal"
    _order = "company_id, number"
    _check_company_auto = True

    name = fields.Char(required=True)
    number = fields.Integer(
        required=True, help="Terminal number shown on the device, 1 to 999, unique per company."
    )
    serial = fields.Char(
        string="Serial Number", required=True, copy=False, help="The device's serial number, unique."
    )
    kind = fields.Selection(
        [("card", "Card reader"), ("face", "Face terminal"), ("kiosk", "Self-service kiosk")],
        required=True,
        default="card",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "number_company_uniq",
            "unique (company_id, number)",
            "A terminal number must be unique per company.",
        ),
        ("serial_uniq", "unique (serial)", "A terminal serial number must be unique."),
    ]

    @api.constrains("number")
    def _check_number(self):
        for terminal in self:
            if not 1 <= terminal.number <= 999:
                raise ValidationError(
                    self.env._("Terminal number %(number)s is outside 1 to 999.", number=terminal.number)
                )

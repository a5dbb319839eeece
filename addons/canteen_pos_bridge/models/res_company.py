from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    canteen_dedup_window = fields.Integer(
        string="Deduplication Window (s)",
        default=60,
        help="The same person charged again within this time, on any terminal of the company, is "
        "approved without a second charge.",
    )
    canteen_terminal_alert_user_id = fields.Many2one(
        "res.users", string="Terminal Alerts To", help="Who gets an activity when a terminal falls silent."
    )

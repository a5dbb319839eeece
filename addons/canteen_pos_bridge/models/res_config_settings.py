from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    canteen_dedup_window = fields.Integer(related="company_id.canteen_dedup_window", readonly=False)
    canteen_offline_max_days = fields.Integer(related="company_id.canteen_offline_max_days", readonly=False)
    canteen_terminal_alert_user_id = fields.Many2one(
        related="company_id.canteen_terminal_alert_user_id", readonly=False
    )

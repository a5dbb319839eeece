from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    canteen_dedup_window = fields.Integer(
        string="Deduplication Window (s)",
        default=60,
        help="The same person charged again within this time by an automatic terminal (fixed or "
        "count mode, face auto-charge) of the same merchant is approved without a second charge. "
        "A cashier-entered or menu amount is never deduplicated.",
    )
    canteen_offline_max_days = fields.Integer(
        string="Offline Records Accepted For (days)",
        default=7,
        help="An offline record older than this is rejected (invalid_time); none may be dated in the "
        "future beyond the 300 s clock window.",
    )
    canteen_terminal_alert_user_id = fields.Many2one(
        "res.users", string="Terminal Alerts To", help="Who gets an activity when a terminal falls silent."
    )

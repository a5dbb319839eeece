from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    canteen_approval_always = fields.Boolean(related="company_id.canteen_approval_always", readonly=False)
    canteen_approval_threshold = fields.Monetary(
        related="company_id.canteen_approval_threshold", readonly=False
    )
    canteen_approval_second_threshold = fields.Monetary(
        related="company_id.canteen_approval_second_threshold", readonly=False
    )

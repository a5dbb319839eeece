from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    dingtalk_app_key = fields.Char(related="company_id.dingtalk_app_key", readonly=False)
    dingtalk_app_secret = fields.Char(related="company_id.dingtalk_app_secret", readonly=False)
    dingtalk_agent_id = fields.Char(related="company_id.dingtalk_agent_id", readonly=False)

from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    dingtalk_app_key = fields.Char(related="company_id.dingtalk_app_key", readonly=False)
    dingtalk_app_secret = fields.Char(related="company_id.dingtalk_app_secret", readonly=False)
    dingtalk_agent_id = fields.Char(related="company_id.dingtalk_agent_id", readonly=False)
    dingtalk_callback_token = fields.Char(related="company_id.dingtalk_callback_token", readonly=False)
    dingtalk_aes_key = fields.Char(related="company_id.dingtalk_aes_key", readonly=False)
    dingtalk_sync_enabled = fields.Boolean(related="company_id.dingtalk_sync_enabled", readonly=False)
    dingtalk_notify = fields.Boolean(related="company_id.dingtalk_notify", readonly=False)
    dingtalk_low_balance = fields.Monetary(related="company_id.dingtalk_low_balance", readonly=False)
    dingtalk_api_base = fields.Char(
        string="DingTalk API Host",
        config_parameter="canteen_dingtalk.api_base",
        help="Host of DingTalk's new API (access tokens); a test or private deployment may point elsewhere.",
    )
    dingtalk_oapi_base = fields.Char(
        string="DingTalk OAPI Host",
        config_parameter="canteen_dingtalk.oapi_base",
        help="Host of DingTalk's topapi calls (address book, work notifications).",
    )

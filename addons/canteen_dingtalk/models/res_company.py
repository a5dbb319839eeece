from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    dingtalk_app_key = fields.Char(string="DingTalk App Key", groups="canteen_dingtalk.group_dingtalk_admin")
    dingtalk_app_secret = fields.Char(
        string="DingTalk App Secret", groups="canteen_dingtalk.group_dingtalk_admin"
    )
    dingtalk_agent_id = fields.Char(
        string="DingTalk Agent ID",
        groups="canteen_dingtalk.group_dingtalk_admin",
        help="The micro-app that sends balance-change messages.",
    )

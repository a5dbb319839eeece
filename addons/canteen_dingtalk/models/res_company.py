from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.client import DingTalkClient
from ..tools.crypto import aes_key_valid

ADMIN = "canteen_dingtalk.group_dingtalk_admin"


class ResCompany(models.Model):
    _inherit = "res.company"

    dingtalk_app_key = fields.Char(
        string="DingTalk App Key",
        groups=ADMIN,
        help="AppKey (Client ID) of the company's DingTalk internal app, also its callbacks' owner key.",
    )
    dingtalk_app_secret = fields.Char(
        string="DingTalk App Secret", groups=ADMIN, help="AppSecret (Client Secret) of the DingTalk app."
    )
    dingtalk_agent_id = fields.Char(
        string="DingTalk Agent ID",
        groups=ADMIN,
        help="The micro-app that sends balance-change messages.",
    )
    dingtalk_callback_token = fields.Char(
        string="DingTalk Callback Token",
        groups=ADMIN,
        help="The token of the app's event subscription, used to sign callbacks.",
    )
    dingtalk_aes_key = fields.Char(
        string="DingTalk AES Key",
        groups=ADMIN,
        help="The 43-character aes_key of the app's event subscription, used to encrypt callbacks.",
    )
    dingtalk_sync_enabled = fields.Boolean(
        string="Scheduled DingTalk Sync",
        groups=ADMIN,
        help="Synchronise departments and people from DingTalk on the schedule.",
    )
    dingtalk_notify = fields.Boolean(
        string="DingTalk Balance Messages",
        groups=ADMIN,
        help="Send every cardholder a DingTalk message at each balance change.",
    )
    dingtalk_low_balance = fields.Monetary(
        string="DingTalk Low-Balance Alert",
        currency_field="currency_id",
        default=20,
        groups=ADMIN,
        help="A balance-change message warns the person when the total balance after a payment "
        "falls below this amount (0: no alert).",
    )

    @api.constrains("dingtalk_aes_key")
    def _check_dingtalk_aes_key(self):
        for company in self.sudo():
            if company.dingtalk_aes_key and not aes_key_valid(company.dingtalk_aes_key):
                raise ValidationError(
                    self.env._(
                        "The DingTalk AES key must be 43 characters of base64 (A-Z, a-z, 0-9, + and /)."
                    )
                )

    def _dingtalk_configured(self):
        self.ensure_one()
        company = self.sudo()
        return bool(company.dingtalk_app_key and company.dingtalk_app_secret)

    def _dingtalk_client(self, **options):
        """A client of this company's app; base URLs and back-off from the system parameters."""
        self.ensure_one()
        company = self.sudo()
        params = self.env["ir.config_parameter"].sudo()
        options.setdefault("backoff", float(params.get_param("canteen_dingtalk.backoff_seconds", "1.0")))
        return DingTalkClient(
            params.get_param("canteen_dingtalk.api_base", "https://api.dingtalk.com"),
            params.get_param("canteen_dingtalk.oapi_base", "https://oapi.dingtalk.com"),
            company.dingtalk_app_key,
            company.dingtalk_app_secret,
            **options,
        )

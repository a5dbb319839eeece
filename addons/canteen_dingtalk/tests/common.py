from odoo.tests import TransactionCase

from ..tools.client import clear_token_cache
from ..tools.fake_dingtalk import FakeDingTalk

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CALLBACK_TOKEN = "callback-token"


class FakeDingTalkMixin:
    """Starts a fake DingTalk on 127.0.0.1 for the class and points the system parameters at it."""

    @classmethod
    def _start_fake(cls, company):
        cls.fake = FakeDingTalk().start()
        cls.addClassCleanup(cls.fake.stop)
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("canteen_dingtalk.api_base", cls.fake.base_url)
        params.set_param("canteen_dingtalk.oapi_base", cls.fake.base_url)
        params.set_param("canteen_dingtalk.backoff_seconds", "0.01")
        params.set_param("canteen_dingtalk.page_size", "10")
        company.sudo().write(
            {
                "dingtalk_app_key": cls.fake.app_key,
                "dingtalk_app_secret": cls.fake.app_secret,
                "dingtalk_agent_id": "3000001",
                "dingtalk_callback_token": CALLBACK_TOKEN,
                "dingtalk_aes_key": AES_KEY,
            }
        )

    def setUp(self):
        super().setUp()
        clear_token_cache()
        self.fake.failures.clear()
        self.fake.down = False
        self.fake.token_calls = 0
        self.fake.requests.clear()
        self.fake.messages.clear()
        self.fake.expire_tokens()


class DingtalkSyncCase(FakeDingTalkMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env["res.company"].create({"name": "DingTalk Sync Co"})
        cls.env.user.company_ids |= cls.company
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=[cls.company.id]))
        cls._start_fake(cls.company)
        cls.Run = cls.env["canteen.dingtalk.sync.run"]
        cls.Employee = cls.env["hr.employee"].with_context(active_test=False)

    def sync(self):
        return self.Run.sudo()._sync_company(self.company, "cron")

    def employee(self, userid):
        return self.Employee.search([("company_id", "=", self.company.id), ("dingtalk_userid", "=", userid)])

    def department(self, dept_id):
        return (
            self.env["hr.department"]
            .with_context(active_test=False)
            .search([("company_id", "=", self.company.id), ("dingtalk_dept_id", "=", str(dept_id))])
        )

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestDingtalkSettings(TransactionCase):
    def test_credentials_stored_per_company(self):
        company_b = self.env["res.company"].create({"name": "DingTalk Co B"})
        settings = self.env["res.config.settings"].create(
            {"dingtalk_app_key": "key-a", "dingtalk_app_secret": "secret-a"}
        )
        settings.execute()
        self.assertEqual(self.env.company.dingtalk_app_key, "key-a")
        self.assertFalse(company_b.dingtalk_app_key)

    def test_secret_hidden_from_other_users(self):
        self.env.company.dingtalk_app_secret = "top-secret"
        user = new_test_user(self.env, "dingtalk_plain", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.env.company.with_user(user).read(["dingtalk_app_secret"])

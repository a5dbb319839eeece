import json
import time

from odoo.tests import HttpCase, tagged

from ..tools.crypto import CallbackError, DingTalkCrypto
from .common import AES_KEY, CALLBACK_TOKEN, DingtalkSyncCase, FakeDingTalkMixin


@tagged("post_install", "-at_install")
class TestDingtalkEvents(DingtalkSyncCase):
    def setUp(self):
        super().setUp()
        fake = self.fake
        fake.departments = {1: {"dept_id": 1, "name": "Acme", "parent_id": None}}
        fake.users = {}
        fake.add_department(10, "Kitchen")
        fake.add_user("u-alice", "Alice", [10], job_number="A001")
        self.sync()

    def event(self, event, **options):
        params, body = self.fake.encrypt_event(
            event,
            options.get("token", CALLBACK_TOKEN),
            options.get("aes_key", AES_KEY),
            options.get("owner", self.fake.app_key),
            timestamp=options.get("timestamp"),
        )
        reply = self.Run._handle_callback(
            self.company.id, params["msg_signature"], params["timestamp"], params["nonce"], body["encrypt"]
        )
        self.assertEqual(self.fake.decrypt_reply(reply, CALLBACK_TOKEN, AES_KEY), "success")
        return self.Run.search([("company_id", "=", self.company.id)], limit=1)

    def test_user_events(self):
        self.fake.add_user("u-bob", "Bob", [10], job_number="B002")
        run = self.event({"EventType": "user_add_org", "UserId": ["u-bob"], "CorpId": "ding-corp"})
        self.assertEqual((run.trigger, run.event_type, run.employees_created), ("event", "user_add_org", 1))
        self.assertEqual(self.employee("u-bob").employee_no, "B002")

        self.fake.users["u-bob"]["name"] = "Robert"
        run = self.event({"EventType": "user_modify_org", "UserId": ["u-bob"]})
        self.assertEqual(run.employees_updated, 1)
        self.assertEqual(self.employee("u-bob").name, "Robert")

        run = self.event({"EventType": "user_leave_org", "UserId": ["u-bob"]})
        self.assertEqual(run.employees_resigned, 1)
        self.assertEqual(self.employee("u-bob").cardholder_state, "resigned")

        run = self.event({"EventType": "user_add_org", "UserId": ["u-bob"]})
        self.assertEqual(run.employees_rehired, 1)
        self.assertEqual(self.employee("u-bob").cardholder_state, "active")
        self.assertEqual(self.employee("u-bob").employee_no, "B002")

    def test_department_events(self):
        self.fake.add_department(20, "Office")
        self.fake.add_department(21, "Finance", parent_id=20)
        run = self.event({"EventType": "org_dept_create", "DeptId": [21]})
        self.assertEqual(run.departments_created, 2, "an unknown parent comes first")
        finance, office = self.department(21), self.department(20)
        self.assertEqual(finance.parent_id, office)

        self.fake.departments[20].update(name="Head Office", parent_id=10)
        run = self.event({"EventType": "org_dept_modify", "DeptId": [20]})
        self.assertEqual(run.departments_updated, 1)
        kitchen = self.department(10)
        self.assertEqual((office.name, office.parent_id), ("Head Office", kitchen))
        self.assertTrue(office.code.startswith(kitchen.code) and len(office.code) == len(kitchen.code) + 2)
        self.assertTrue(finance.code.startswith(office.code), "the moved department's children are recoded")

        del self.fake.departments[21]
        run = self.event({"EventType": "org_dept_remove", "DeptId": [21]})
        self.assertEqual(run.departments_archived, 1)
        self.assertFalse(finance.active)

    def test_check_url_changes_nothing(self):
        before = self.Run.search_count([])
        self.event({"EventType": "check_url"})
        self.assertEqual(self.Run.search_count([]), before)

    def test_refused_callbacks_change_nothing(self):
        self.fake.add_user("u-bob", "Bob", [10])
        event = {"EventType": "user_add_org", "UserId": ["u-bob"]}
        stale = int((time.time() - 3600) * 1000)
        for options in (
            {"token": "forged"},
            {"owner": "another-app"},
            {"timestamp": stale},
            {"aes_key": "B" * 43},
        ):
            with self.subTest(options=list(options)), self.assertRaises(CallbackError):
                self.event(event, **options)
        params, body = self.fake.encrypt_event(event, CALLBACK_TOKEN, AES_KEY, self.fake.app_key)
        tampered = body["encrypt"][:-8] + ("A" * 8 if body["encrypt"][-8:] != "A" * 8 else "B" * 8)
        with self.assertRaises(CallbackError):
            self.Run._handle_callback(
                self.company.id, params["msg_signature"], params["timestamp"], params["nonce"], tampered
            )
        self.assertFalse(self.employee("u-bob"))
        self.assertFalse(self.fake.calls("/topapi/v2/user/get"), "a refused event reads nothing")

    def test_crypto_round_trip_matches_dingtalk_layout(self):
        crypto = DingTalkCrypto(CALLBACK_TOKEN, AES_KEY, "owner")
        reply = crypto.reply("success", 1700000000000, "nonce1")
        self.assertEqual(self.fake.decrypt_reply(reply, CALLBACK_TOKEN, AES_KEY), "success")
        self.assertEqual(crypto.decrypt(crypto.encrypt("你好")), "你好")


@tagged("post_install", "-at_install")
class TestDingtalkCallbackRoute(FakeDingTalkMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env["res.company"].create({"name": "DingTalk Route Co"})
        cls._start_fake(cls.company)

    def post(self, params, body):
        url = f"/canteen/dingtalk/callback/{self.company.id}"
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.url_open(
            f"{url}?{query}", data=json.dumps(body), headers={"Content-Type": "application/json"}
        )

    def test_check_url_handshake_and_refusal(self):
        params, body = self.fake.encrypt_event(
            {"EventType": "check_url"}, CALLBACK_TOKEN, AES_KEY, self.fake.app_key
        )
        response = self.post(params, body)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.fake.decrypt_reply(response.json(), CALLBACK_TOKEN, AES_KEY), "success")

        params["msg_signature"] = "0" * 40
        response = self.post(params, body)
        self.assertEqual(response.status_code, 403)

import time
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.canteen_card.tests.common import CanteenCardCase

from .common import FakeDingTalkMixin


@tagged("post_install", "-at_install")
class TestDingtalkMessages(FakeDingTalkMixin, CanteenCardCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._start_fake(cls.company)
        cls.company.sudo().write({"dingtalk_notify": True, "dingtalk_low_balance": 30})
        cls.alice.dingtalk_userid = "u-alice"
        cls.bob.dingtalk_userid = "u-bob"
        cls.Message = cls.env["canteen.dingtalk.message"]

    def messages(self, employee):
        return self.Message.search([("employee_id", "in", employee.ids)], order="id")

    def process(self):
        self.Message.sudo()._enqueue_new_entries()
        return self.Message.sudo()._send_pending()

    def test_topup_and_charge_are_sent_after_commit_from_the_queue(self):
        self.topup(self.alice, 100)
        self.assertFalse(self.fake.requests, "nothing goes to DingTalk inside the operation")
        self.process()
        message = self.messages(self.alice)
        self.assertEqual(message.state, "sent", message.last_error)
        self.assertIn("100.00", message.body)
        self.assertEqual(len(self.fake.messages), 1)
        sent = self.fake.messages[0]
        self.assertEqual((sent["agent_id"], sent["userid_list"]), (3000001, "u-alice"))
        self.assertEqual(sent["msg"]["text"]["content"], message.body)
        self.assertEqual(message.task_id, "1001")

        self.process()
        self.assertEqual(len(self.messages(self.alice)), 1, "each entry is enqueued once")
        self.assertEqual(len(self.fake.messages), 1)

    def test_cron_enqueues_and_sends(self):
        self.topup(self.alice, 10)
        self.topup(self.bob, 10)
        self.Message._cron_process()
        self.assertEqual(set(self.messages(self.alice + self.bob).mapped("state")), {"sent"})
        # One call for both when their texts are the same (asyncsend_v2 takes a list of users),
        # one each otherwise: each person exactly once.
        recipients = sorted(u for sent in self.fake.messages for u in sent["userid_list"].split(","))
        self.assertEqual(recipients, ["u-alice", "u-bob"])

    def test_changes_close_together_go_as_one_message(self):
        self.topup(self.alice, 50)
        self.charge(self.alice, 12.5)
        self.charge(self.alice, 3)
        self.process()
        message = self.messages(self.alice)
        self.assertEqual(len(message), 1)
        self.assertEqual(len(message.entry_ids), 3)
        self.assertIn("12.50", message.body)
        self.assertIn("34.50", message.body, "the balance after the last change")
        self.assertEqual(len(self.fake.messages), 1)

    def test_low_balance_alert(self):
        self.topup(self.alice, 40)
        self.process()
        self.assertFalse(self.messages(self.alice).low_balance, "a top-up does not alert")
        self.charge(self.alice, 15)
        self.Message.sudo()._enqueue_new_entries()
        last = self.messages(self.alice)[-1:]
        self.assertTrue(last.low_balance)
        self.assertIn("30.00", last.body)

    def test_opt_out_and_people_without_dingtalk(self):
        self.bob.dingtalk_opt_out = True
        self.topup(self.bob, 20)
        carol = self._make_cardholder("Carol", "C003", self.company)
        self.topup(carol, 20)
        self.process()
        self.assertEqual(self.messages(self.bob).state, "skipped")
        self.assertEqual(self.messages(carol).state, "skipped")
        self.assertFalse(self.fake.messages)

    def test_outage_is_retried_with_back_off_and_loses_nothing(self):
        self.fake.down = True
        started = time.monotonic()
        self.topup(self.alice, 100)
        self.charge(self.alice, 5)
        self.assertLess(time.monotonic() - started, 5)
        self.assertFalse(self.fake.requests, "a charge never waits for DingTalk")
        self.process()
        message = self.messages(self.alice)
        self.assertEqual((message.state, message.attempts), ("pending", 1))
        self.assertIn("503", message.last_error)
        self.assertGreater(message.next_try, fields.Datetime.now())
        self.process()
        self.assertEqual(message.attempts, 1, "not retried before its back-off")

        self.fake.down = False
        message.sudo().next_try = fields.Datetime.now() - timedelta(seconds=1)
        self.process()
        self.assertEqual(message.state, "sent")
        self.assertEqual(len(self.fake.messages), 1)

    def test_rate_limited_send_waits_then_gives_up_after_retries(self):
        self.topup(self.alice, 10)
        self.fake.fail("/topapi/message/corpconversation/asyncsend_v2", times=1, errcode=41047)
        self.process()
        message = self.messages(self.alice)
        self.assertEqual(message.state, "sent", "a throttled call is retried after a back-off")
        self.fake.down = True
        self.topup(self.alice, 10)
        self.Message.sudo()._enqueue_new_entries()
        second = self.messages(self.alice)[-1:]
        for _attempt in range(10):
            second.sudo().next_try = fields.Datetime.now() - timedelta(seconds=1)
            self.Message.sudo()._send_pending()
        self.assertEqual((second.state, second.attempts), ("failed", 10))
        self.fake.down = False
        second.action_retry()
        self.Message.sudo()._send_pending()
        self.assertEqual(second.state, "sent")

    def _people(self, count, start=0):
        people = self.env["hr.employee"]
        for index in range(start, start + count):
            person = self._make_cardholder(f"Diner {index}", f"D{index:03d}", self.company)
            person.dingtalk_userid = f"u-diner-{index}"
            people |= person
        return people

    def _enqueue_queries(self, people):
        self.Message.sudo()._enqueue_new_entries(limit=10**6)  # what other addons' demo data left
        self.topup(people, 10)
        self.env.flush_all()
        before = self.env.cr.sql_log_count
        messages = self.Message.sudo()._enqueue_new_entries()
        self.env.flush_all()
        self.assertEqual(len(messages), len(people))
        return self.env.cr.sql_log_count - before

    def test_many_messages_are_rendered_in_a_few_queries(self):
        few = self._enqueue_queries(self._people(2))
        many = self._enqueue_queries(self._people(20, start=2))
        self.assertLessEqual(many, few + 2, "the queries do not grow with the number of people")
        bodies = self.Message.search([("employee_id.name", "=like", "Diner %")]).mapped("body")
        self.assertEqual(len(bodies), 22)
        self.assertTrue(all("10.00" in body for body in bodies))

    def test_same_text_goes_in_one_call_different_texts_in_parallel(self):
        Message = self.Message.sudo()
        now = fields.Datetime.now()
        base = {"company_id": self.company.id, "next_try": now}
        same = Message.create(
            [
                {
                    **base,
                    "employee_id": self.alice.id,
                    "dingtalk_userid": "u-alice",
                    "body": "Canteen closed",
                },
                {**base, "employee_id": self.bob.id, "dingtalk_userid": "u-bob", "body": "Canteen closed"},
            ]
        )
        people = self._people(9)
        own = Message.create(
            [
                {**base, "employee_id": p.id, "dingtalk_userid": p.dingtalk_userid, "body": f"To {p.name}"}
                for p in people
            ]
        )
        self.env["ir.config_parameter"].sudo().set_param("canteen_dingtalk.send_workers", "3")
        Message._send_pending()
        self.assertEqual(set((same | own).mapped("state")), {"sent"})
        calls = {m["msg"]["text"]["content"]: m["userid_list"] for m in self.fake.messages}
        self.assertEqual(len(self.fake.messages), 10, "one call for the shared text, one per other text")
        self.assertEqual(calls["Canteen closed"], "u-alice,u-bob")
        self.assertEqual(len(set(same.mapped("task_id"))), 1)
        self.assertEqual(calls["To Diner 4"], "u-diner-4")

    def test_outage_holds_every_message_not_tried_yet(self):
        people = self._people(8)
        for index, person in enumerate(people):
            self.topup(person, 10 + index)  # texts differ: one call each
        self.Message.sudo()._enqueue_new_entries(limit=10**6)
        messages = self.messages(people)
        self.env["ir.config_parameter"].sudo().set_param("canteen_dingtalk.send_workers", "2")
        self.fake.down = True
        self.Message.sudo()._send_pending()
        self.assertEqual(set(messages.mapped("state")), {"pending"})
        tried = messages.filtered("attempts")
        self.assertEqual(len(tried), 2, "the first wave was tried, the rest wait")
        now = fields.Datetime.now()
        self.assertTrue(all(message.next_try > now for message in messages), "all wait for the back-off")
        self.assertFalse(self.fake.messages)
        self.fake.down = False
        messages.sudo().next_try = fields.Datetime.now() - timedelta(seconds=1)
        self.Message.sudo()._send_pending()
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        self.assertEqual(
            sorted(m["userid_list"] for m in self.fake.messages), sorted(people.mapped("dingtalk_userid"))
        )

    def test_message_in_chinese_by_default(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        modules = self.env["ir.module.module"].search([("name", "in", ("canteen_card", "canteen_dingtalk"))])
        modules._update_translations(["zh_CN"])
        self.topup(self.alice, 10)
        self.process()
        body = self.messages(self.alice).body
        self.assertIn("饭卡余额变动", body)
        self.assertIn("总余额", body)
        self.assertEqual(self.fake.messages[0]["msg"]["text"]["content"], body)

    def test_only_admins_link_dingtalk_users(self):
        hr_user = self._user("dt_hr", "hr.group_hr_user", [self.company])
        with self.assertRaises(AccessError):
            self.bob.with_user(hr_user).write({"dingtalk_userid": "u-spy"})
        with self.assertRaises(AccessError):
            self.env["hr.employee"].with_user(hr_user).create({"name": "Spy", "dingtalk_userid": "u-alice2"})
        self.assertEqual(self.bob.dingtalk_userid, "u-bob")
        self.bob.with_user(hr_user).write({"name": "Bob B."})
        self.assertEqual(self.bob.name, "Bob B.", "HR officers still edit the person's record")

    def test_hostile_calls(self):
        self.topup(self.alice, 10)
        self.fake.down = True
        self.process()
        message = self.messages(self.alice)
        auditor = self._user("dt_auditor", "canteen_card.group_card_auditor", [self.company])
        operator = self._user("dt_operator", "canteen_card.group_card_operator", [self.company])
        for user in (auditor, operator):
            with self.assertRaises(AccessError):
                message.with_user(user).write({"state": "sent"})
            with self.assertRaises(AccessError):
                message.with_user(user).with_context(dingtalk_admin=True).action_retry()
            with self.assertRaises(AccessError):
                self.Message.with_user(user).create(
                    {"company_id": self.company.id, "employee_id": self.bob.id}
                )
            with self.assertRaises(AccessError):
                message.with_user(user).unlink()
        self.assertEqual(message.state, "pending")
        other = self._make_company("DingTalk Other Co")
        outsider = self._user(
            "dt_outsider", "canteen_dingtalk.group_dingtalk_admin,canteen_card.group_card_auditor", [other]
        )
        with self.assertRaises(AccessError):
            message.with_user(outsider).with_context(allowed_company_ids=[other.id]).action_retry()

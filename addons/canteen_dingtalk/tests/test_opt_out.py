from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from odoo.addons.canteen_card.tests.common import CanteenCardCase

from .common import FakeDingTalkMixin


@tagged("post_install", "-at_install")
class TestDingtalkOptOut(FakeDingTalkMixin, CanteenCardCase):
    """A person stops (and resumes) their own balance messages; nobody can do it for another."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._start_fake(cls.company)
        cls.company.sudo().write({"dingtalk_notify": True})
        cls.alice.dingtalk_userid = "u-alice"
        cls.bob.dingtalk_userid = "u-bob"
        cls.alice_user = cls._user("dt_alice", "base.group_portal", [cls.company])
        cls.bob_user = cls._user("dt_bob", "base.group_user", [cls.company])
        cls.alice.user_id = cls.alice_user
        cls.bob.user_id = cls.bob_user
        cls.hr_user = cls._user(
            "dt_hr_officer", "hr.group_hr_user,canteen_card.group_card_manager", [cls.company]
        )
        cls.admin_user = cls._user(
            "dt_sysadmin",
            "base.group_system,base.group_erp_manager,hr.group_hr_manager,canteen_dingtalk.group_dingtalk_admin",
            [cls.company],
        )
        cls.Message = cls.env["canteen.dingtalk.message"]

    def last_message(self, employee):
        self.Message.sudo()._enqueue_new_entries()
        return self.Message.search([("employee_id", "=", employee.id)], order="id desc", limit=1)

    def test_a_person_opts_out_and_back_in_from_their_preferences(self):
        for user, employee in ((self.alice_user, self.alice), (self.bob_user, self.bob)):
            with self.subTest(user=user.login):
                me = self.env(user=user).user
                self.assertTrue(me.dingtalk_cardholder)
                self.assertFalse(me.dingtalk_opt_out)
                me.write({"dingtalk_opt_out": True})
                self.assertTrue(employee.dingtalk_opt_out)
                self.topup(employee, 10)
                message = self.last_message(employee)
                self.assertEqual(message.state, "skipped")
                self.assertIn("opted out", message.skip_reason)

                me.write({"dingtalk_opt_out": False})
                self.assertFalse(employee.dingtalk_opt_out)
                self.topup(employee, 10)
                self.assertEqual(self.last_message(employee).state, "pending")
        # The preferences form shows the choice (read as the user over the form's fields).
        form = self.env(user=self.bob_user)["res.users"].get_views([(False, "form")])
        self.assertTrue(form)
        values = self.bob_user.with_user(self.bob_user).read(["dingtalk_opt_out", "dingtalk_cardholder"])
        self.assertEqual(values[0]["dingtalk_cardholder"], True)

    def test_nobody_opts_out_another_person(self):
        hostile_context = {"dingtalk_admin": True, "active_test": False, "force_opt_out": True}
        for user in (self.alice_user, self.bob_user, self.hr_user, self.admin_user):
            env = self.env(user=user, context=hostile_context)
            with self.subTest(user=user.login):
                others = (self.alice_user | self.bob_user) - user
                with self.assertRaises(AccessError), self.cr.savepoint():
                    env["res.users"].browse(others.ids).write({"dingtalk_opt_out": True})
                with self.assertRaises(AccessError), self.cr.savepoint():
                    env["res.users"].browse((others | user).ids).write({"dingtalk_opt_out": True})
                with self.assertRaises(AccessError), self.cr.savepoint():
                    env["hr.employee"].browse(self.bob.id).write({"dingtalk_opt_out": True})
                with self.assertRaises(AccessError), self.cr.savepoint():
                    env["hr.employee"].create({"name": "Silenced", "dingtalk_opt_out": True})
                with self.assertRaises(AccessError), self.cr.savepoint():
                    env["res.users"].create({"name": "New", "login": "dt_new", "dingtalk_opt_out": True})
        self.assertFalse(self.alice.dingtalk_opt_out or self.bob.dingtalk_opt_out)
        # Bob's own opt-out reaches only Bob's employee record.
        self.env(user=self.bob_user).user.write({"dingtalk_opt_out": True})
        self.assertEqual((self.alice.dingtalk_opt_out, self.bob.dingtalk_opt_out), (False, True))
        # An officer cannot turn a person's messages back on either.
        with self.assertRaises(AccessError), self.cr.savepoint():
            self.env(user=self.hr_user)["hr.employee"].browse(self.bob.id).write({"dingtalk_opt_out": False})
        self.assertTrue(self.bob.dingtalk_opt_out)


@tagged("post_install", "-at_install")
class TestDingtalkOptOutPortal(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env["res.company"].create({"name": "DingTalk Portal Co"})
        cls.user = cls.env["res.users"].create(
            {
                "name": "Portal Carol",
                "login": "dt_portal_carol",
                "password": "dt_portal_carol",
                "company_id": cls.company.id,
                "company_ids": [(6, 0, cls.company.ids)],
                "groups_id": [(6, 0, [cls.env.ref("base.group_portal").id])],
            }
        )
        cls.carol = cls.env["hr.employee"].create(
            {"name": "Carol", "company_id": cls.company.id, "user_id": cls.user.id}
        )
        cls.dave = cls.env["hr.employee"].create({"name": "Dave", "company_id": cls.company.id})

    def test_portal_page_sets_only_the_own_choice(self):
        self.authenticate("dt_portal_carol", "dt_portal_carol")
        home = self.url_open("/my")
        self.assertIn("/my/dingtalk", home.text)
        page = self.url_open("/my/dingtalk")
        self.assertEqual(page.status_code, 200)
        self.assertIn('name="opt_out"', page.text)
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        # An employee id or user id in the form names nobody: only the logged-in user changes.
        answer = self.url_open(
            "/my/dingtalk",
            data={"csrf_token": csrf, "opt_out": "1", "employee_id": self.dave.id, "user_id": 1},
        )
        self.assertEqual(answer.status_code, 200)
        self.assertIn("checked", answer.text.split('id="dingtalk_opt_out"')[1].split(">")[0])
        self.assertTrue(self.carol.dingtalk_opt_out)
        self.assertFalse(self.dave.dingtalk_opt_out)
        self.url_open("/my/dingtalk", data={"csrf_token": csrf})
        self.carol.invalidate_recordset()
        self.assertFalse(self.carol.dingtalk_opt_out)

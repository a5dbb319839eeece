from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import DingtalkSyncCase


@tagged("post_install", "-at_install")
class TestDingtalkSync(DingtalkSyncCase):
    def setUp(self):
        super().setUp()
        fake = self.fake
        fake.departments = {1: {"dept_id": 1, "name": "Acme", "parent_id": None}}
        fake.users = {}
        fake.add_department(10, "Kitchen")
        fake.add_department(11, "Cold Dishes", parent_id=10)
        fake.add_department(20, "Office")
        fake.add_user("u-alice", "Alice", [10], mobile="13800000001", job_number="A001")
        fake.add_user("u-bob", "Bob", [11, 20], mobile="13800000002", job_number="")
        for n in range(25):  # three pages of 10 in the Office
            fake.add_user(f"u-{n:04d}", f"Staff {n}", [20], job_number=f"S{n:04d}")

    def test_first_sync_then_nothing_changes(self):
        run = self.sync()
        self.assertEqual(run.state, "done", run.log)
        self.assertEqual(run.departments_created, 4)
        self.assertEqual(run.employees_created, 27)
        root, kitchen, cold, office = (self.department(d) for d in (1, 10, 11, 20))
        self.assertEqual(len(root.code), 1)
        self.assertFalse(root.parent_id)
        self.assertEqual(kitchen.parent_id, root)
        self.assertEqual(cold.parent_id, kitchen)
        self.assertEqual(cold.code[: len(kitchen.code)], kitchen.code)
        self.assertEqual(len(cold.code), len(kitchen.code) + 2)
        self.assertEqual(len(office.code), len(root.code) + 2)
        alice = self.employee("u-alice")
        self.assertEqual(
            (alice.name, alice.employee_no, alice.mobile_phone), ("Alice", "A001", "13800000001")
        )
        self.assertEqual(alice.department_id, kitchen)
        bob = self.employee("u-bob")
        self.assertTrue(bob.employee_no.startswith("DT"), "an empty job number gets a generated number")
        self.assertEqual(bob.department_id, cold, "the first DingTalk department is the main one")
        office_pages = [b for b in self.fake.calls("/topapi/v2/user/list") if b["dept_id"] == 20]
        self.assertEqual([b["cursor"] for b in office_pages], [0, 10, 20])
        self.assertEqual(self.fake.token_calls, 1)

        second = self.sync()
        self.assertEqual(second.state, "done")
        counters = [
            "departments_created",
            "departments_updated",
            "departments_archived",
            "employees_created",
            "employees_updated",
            "employees_resigned",
            "employees_rehired",
            "error_count",
        ]
        self.assertEqual([second[c] for c in counters], [0] * len(counters))
        self.assertEqual(bob, self.employee("u-bob"))
        self.assertEqual(self.fake.token_calls, 1, "the token is cached between runs")

    def test_rename_move_and_remove_departments(self):
        self.sync()
        self.fake.departments[20]["name"] = "Head Office"
        self.fake.departments[10]["parent_id"] = 20  # the Kitchen and its child move under the Office
        self.fake.add_department(30, "Shop")
        run = self.sync()
        self.assertEqual((run.departments_created, run.departments_updated), (1, 2), run.log)
        office, kitchen, cold = self.department(20), self.department(10), self.department(11)
        self.assertEqual(office.name, "Head Office")
        self.assertEqual(kitchen.parent_id, office)
        self.assertTrue(kitchen.code.startswith(office.code) and len(kitchen.code) == len(office.code) + 2)
        self.assertTrue(cold.code.startswith(kitchen.code) and len(cold.code) == len(kitchen.code) + 2)

        del self.fake.departments[30]
        run = self.sync()
        self.assertEqual(run.departments_archived, 1)
        self.assertFalse(self.department(30).active)

    def test_leaver_goes_to_pool_and_returner_is_rehired(self):
        self.sync()
        alice = self.employee("u-alice")
        card = self.env["canteen.card"].create({"employee_id": alice.id, "uid": "DTCARD1"})
        self.assertEqual(card.state, "active")
        left = self.fake.users.pop("u-alice")
        run = self.sync()
        self.assertEqual(run.employees_resigned, 1)
        self.assertEqual(alice.cardholder_state, "resigned")
        self.assertEqual(card.state, "lost", "the leaver's card is blocked")
        self.assertTrue(alice.exists())

        self.fake.users["u-alice"] = left
        run = self.sync()
        self.assertEqual(run.employees_rehired, 1)
        self.assertEqual(alice.cardholder_state, "active")
        self.assertEqual(alice.employee_no, "A001")
        logs = self.env["canteen.operation.log"].search([("employee_id", "=", alice.id)])
        self.assertIn("resign", logs.mapped("action"))
        self.assertIn("rehire", logs.mapped("action"))

    def test_existing_employee_linked_by_number(self):
        existing = self.Employee.create(
            {"name": "Alice Old", "employee_no": "A001", "company_id": self.company.id}
        )
        self.sync()
        self.assertEqual(self.employee("u-alice"), existing)
        self.assertEqual(existing.name, "Alice")

    def test_rate_limits_and_expired_token_are_waited_out(self):
        self.fake.fail("/topapi/v2/department/listsub", times=2, errcode=90018)
        self.fake.fail("/topapi/v2/user/list", times=1, http=429)
        run = self.sync()
        self.assertEqual(run.state, "done", run.log)
        self.assertEqual(run.rate_limit_waits, 3)
        self.assertEqual(run.employees_created, 27)

        self.fake.expire_tokens()
        self.fake.add_user("u-new", "Newcomer", [10])
        run = self.sync()
        self.assertEqual(run.state, "done", run.log)
        self.assertEqual(run.employees_created, 1)
        self.assertEqual(self.fake.token_calls, 2, "an invalid token is renewed at once")

    def test_outage_fails_the_run_and_changes_nothing(self):
        self.sync()
        self.fake.down = True
        run = self.sync()
        self.assertEqual(run.state, "failed")
        self.assertIn("DingTalk could not be read", run.log)
        self.assertEqual(self.employee("u-alice").cardholder_state, "active", "nobody leaves on an outage")
        self.assertEqual(run.employees_resigned, 0)

    def test_bad_record_is_an_error_not_a_failure(self):
        # A DingTalk job number that another (linked) person already holds is refused alone.
        self.fake.add_user("u-dup", "Duplicate", [10], job_number="S0001")
        run = self.sync()
        self.assertEqual(run.state, "partial")
        self.assertEqual(run.error_count, 1)
        self.assertEqual(run.employees_created, 27)

    def test_button_and_hostile_calls(self):
        plain = new_test_user(self.env, "dt_plain", groups="base.group_user", company_id=self.company.id)
        operator = new_test_user(
            self.env, "dt_operator", groups="canteen_card.group_card_operator", company_id=self.company.id
        )
        for user in (plain, operator):
            with self.assertRaises(AccessError):
                self.Run.with_user(user).action_sync_now()
            with self.assertRaises(AccessError):
                self.Run.with_user(user).create({"company_id": self.company.id, "trigger": "manual"})
            with self.assertRaises(AccessError):
                self.company.with_user(user).read(["dingtalk_aes_key"])
        self.assertFalse(self.fake.requests, "a refused call reaches DingTalk never")
        admin = new_test_user(
            self.env,
            "dt_admin",
            groups="canteen_dingtalk.group_dingtalk_admin,hr.group_hr_user",
            company_id=self.company.id,
        )
        action = self.Run.with_user(admin).action_sync_now()
        run = self.Run.browse(action["res_id"])
        self.assertEqual((run.trigger, run.user_id, run.employees_created), ("manual", admin, 27))
        with self.assertRaises(AccessError):
            run.with_user(admin).write({"employees_created": 0})
        self.assertEqual(run.employees_created, 27)

import base64
import datetime
import io

import openpyxl
from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.canteen_card.tests.common import CanteenCardCase

OPERATOR = "canteen_card.group_card_operator"
MANAGER = "canteen_card.group_card_manager"
FINANCE = "canteen_card.group_card_finance"


def xlsx(rows):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@tagged("post_install", "-at_install")
class TestApprovals(CanteenCardCase):
    """Desk operations above the company's thresholds wait for one or two Card Finance users, never
    the operator who drafted them, and post once, through the wizard's own posting."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Request = cls.env["canteen.approval.request"]
        cls.operator = cls._user("apr_operator", OPERATOR, [cls.company])
        cls.manager = cls._user("apr_manager", MANAGER, [cls.company])
        cls.finance = cls._user("apr_finance", FINANCE, [cls.company])
        cls.finance2 = cls._user("apr_finance2", FINANCE, [cls.company])
        cls.finance_operator = cls._user("apr_fin_op", f"{OPERATOR},{FINANCE}", [cls.company])
        cls.company.write({"canteen_approval_threshold": 100, "canteen_approval_second_threshold": 1000})

    def topup_as(self, user, employees, amount, mode="topup"):
        wizard = (
            self.env["canteen.topup.wizard"]
            .with_user(user)
            .create({"employee_ids": [(6, 0, employees.ids)], "amount": amount, "mode": mode})
        )
        return wizard.action_confirm()

    def last_request(self):
        return self.Request.search([], order="id desc", limit=1)

    def log_actions(self, request):
        logs = self.env["canteen.operation.log"].search(
            [("action", "like", "approval_"), ("note", "like", request.name)], order="id"
        )
        return logs.mapped(lambda log: (log.action, log.user_id))

    # thresholds -------------------------------------------------------------------------------
    def test_below_threshold_posts_at_once(self):
        before = self.Request.search_count([])
        result = self.topup_as(self.operator, self.alice | self.bob, 50)  # 100 in all: not above
        self.assertEqual(self.balances(self.alice)[0], 50)
        self.assertEqual(self.Request.search_count([]), before)
        self.assertEqual(result["res_model"], "canteen.operation")

    def test_always_by_setting(self):
        self.company.canteen_approval_always = True
        self.topup_as(self.operator, self.alice, 5)
        self.assertEqual(self.last_request().state, "waiting")
        self.assertEqual(self.balances(self.alice)[0], 0)

    # one level --------------------------------------------------------------------------------
    def test_one_level_posts_once_when_approved(self):
        result = self.topup_as(self.operator, self.alice | self.bob, 300)
        self.assertEqual(result["params"]["title"], "Sent for Approval")
        request = self.last_request()
        self.assertEqual(
            (request.state, request.levels, request.amount, request.kind), ("waiting", 1, 600, "topup")
        )
        self.assertEqual(request.requested_by_id, self.operator)
        self.assertEqual(request.employee_ids, self.alice | self.bob)
        self.assertEqual(self.balances(self.alice), (0, 0), "nothing posted before the approval")

        self.assertFalse(request.with_user(self.operator).can_approve)
        self.assertTrue(request.with_user(self.finance).can_approve)
        mine = self.Request.with_user(self.finance).search([("can_approve", "=", True)])
        self.assertIn(request, mine)
        request.with_user(self.finance).action_approve()
        self.assertEqual(request.state, "posted")
        self.assertEqual(request.first_approver_id, self.finance)
        self.assertEqual(self.balances(self.alice)[0], 300)
        self.assertEqual(self.balances(self.bob)[0], 300)
        operation = self.env["canteen.operation"].search([], order="id desc", limit=1)
        self.assertEqual(operation.create_uid, self.operator, "posted as the operator's operation")
        self.assertEqual(
            self.log_actions(request),
            [("approval_request", self.operator), ("approval_approve", self.finance)],
        )
        bodies = " ".join(request.message_ids.mapped("body"))
        self.assertIn("sent for approval", bodies)
        self.assertIn("posted", bodies)

        # Approving again posts nothing twice.
        for user in (self.finance, self.finance2):
            with self.assertRaises(UserError):
                request.with_user(user).action_approve()
        self.assertEqual(self.balances(self.alice)[0], 300)
        self.assertNotIn(request, self.Request.with_user(self.finance2).search([("can_approve", "=", True)]))

    # two levels -------------------------------------------------------------------------------
    def test_two_levels_need_two_different_approvers(self):
        self.topup_as(self.operator, self.alice | self.bob, 600)  # 1200 > 1000
        request = self.last_request()
        self.assertEqual(request.levels, 2)
        request.with_user(self.finance).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertEqual(self.balances(self.alice)[0], 0, "one approval of two posts nothing")
        with self.assertRaisesRegex(UserError, "second is another"):
            request.with_user(self.finance).action_approve()
        self.assertFalse(request.with_user(self.finance).can_approve)
        self.assertEqual(request.state, "approved")
        request.with_user(self.finance2).action_approve()
        self.assertEqual(request.state, "posted")
        self.assertEqual(request.second_approver_id, self.finance2)
        self.assertEqual(self.balances(self.alice)[0], 600)
        self.assertEqual(self.balances(self.bob)[0], 600)
        self.assertEqual(
            [action for action, _user in self.log_actions(request)],
            ["approval_request", "approval_approve", "approval_approve"],
        )

    # refusal ----------------------------------------------------------------------------------
    def test_refusal_keeps_its_reason(self):
        self.topup_as(self.operator, self.alice, 200)
        request = self.last_request()
        with self.assertRaises(UserError):
            request.with_user(self.finance).action_refuse("  ")
        wizard = (
            self.env["canteen.approval.refuse.wizard"]
            .with_user(self.finance)
            .create({"request_id": request.id, "reason": "No receipt for the cash"})
        )
        wizard.action_confirm()
        self.assertEqual(request.state, "refused")
        self.assertEqual(request.refuse_reason, "No receipt for the cash")
        self.assertEqual(request.refused_by_id, self.finance)
        self.assertIn("No receipt for the cash", " ".join(request.message_ids.mapped("body")))
        self.assertEqual(self.log_actions(request)[-1], ("approval_refuse", self.finance))
        with self.assertRaises(UserError):
            request.with_user(self.finance2).action_approve()
        self.assertEqual(self.balances(self.alice)[0], 0)

    # who may approve ----------------------------------------------------------------------------
    def test_self_approval_refused(self):
        self.topup_as(self.finance_operator, self.alice, 200)
        request = self.last_request()
        with self.assertRaisesRegex(UserError, "another Card Finance user"):
            request.with_user(self.finance_operator).action_approve()
        with self.assertRaises(UserError):
            request.with_user(self.finance_operator).action_refuse("mine")
        self.assertFalse(request.with_user(self.finance_operator).can_approve)
        self.assertEqual((request.state, self.balances(self.alice)[0]), ("waiting", 0))
        request.with_user(self.finance).action_approve()
        self.assertEqual(self.balances(self.alice)[0], 200)

    def test_operator_and_other_companies_cannot_approve(self):
        self.topup_as(self.operator, self.alice, 200)
        request = self.last_request()
        for user in (self.operator, self.manager):
            with self.assertRaises(AccessError):
                request.with_user(user).action_approve()
            with self.assertRaises(AccessError):
                request.with_user(user).action_refuse("no")
        other = self._make_company("Approval Other Group")
        outsider = self._user("apr_outsider", FINANCE, [other])
        with self.assertRaises(AccessError):
            request.with_user(outsider).with_context(allowed_company_ids=[other.id]).action_approve()
        self.assertEqual((request.state, self.balances(self.alice)[0]), ("waiting", 0))

    def test_hostile_client_cannot_bypass(self):
        # Context keys a client could send change nothing: the wizard drafts.
        wizard = (
            self.env["canteen.topup.wizard"]
            .with_user(self.operator)
            .with_context(canteen_approved=True, skip_approval=True, active_test=False)
            .create({"employee_ids": [(6, 0, self.alice.ids)], "amount": 500})
        )
        wizard.action_confirm()
        request = self.last_request()
        self.assertEqual(self.balances(self.alice)[0], 0)
        hostile = request.with_user(self.finance_operator)
        for vals in ({"state": "approved"}, {"state": "posted"}, {"requested_by_id": self.finance.id}):
            with self.assertRaises(AccessError):
                hostile.write(vals)
        with self.assertRaises(AccessError):
            self.Request.with_user(self.finance).create({"kind": "topup", "company_id": self.company.id})
        with self.assertRaises(AccessError):
            hostile.unlink()
        self.assertEqual((request.state, self.balances(self.alice)[0]), ("waiting", 0))

    # the other desk operations ----------------------------------------------------------------
    def test_refund_import_waits_and_posts_once(self):
        self.topup(self.alice, 90)  # below the threshold: posted at once
        self.topup(self.bob, 90)
        content = xlsx([["h"] * 6, ["", "A001", "", "", 80, 1], ["", "B002", "", "", 70, 1]])

        def import_file():
            return (
                self.env["canteen.refund.import.wizard"]
                .with_user(self.operator)
                .create({"file": base64.b64encode(content), "filename": "refunds.xlsx"})
                .action_import()
            )

        import_file()
        first = self.last_request()
        import_file()  # the same file again, before the first is approved
        second = self.last_request()
        self.assertEqual(
            (first.kind, first.amount, first.payload_filename), ("refund_import", 150, "refunds.xlsx")
        )
        self.assertEqual(self.balances(self.alice)[0], 90)
        first.with_user(self.finance).action_approve()
        self.assertEqual(self.balances(self.alice)[0], 10)
        self.assertEqual(self.balances(self.bob)[0], 20)
        self.assertIn("2 rows imported", first.result)
        # The second request of the same file is checked again when approved: refused, nothing moves.
        with self.assertRaisesRegex(UserError, "import version"):
            second.with_user(self.finance).action_approve()
        self.assertEqual(self.balances(self.alice)[0], 10)

    def test_topup_import_waits(self):
        content = xlsx([["h"] * 9, ["", "A001", "", "", 150, 20, 1, None, 1]])
        self.env["canteen.topup.import.wizard"].with_user(self.operator).create(
            {"file": base64.b64encode(content), "filename": "topups.xlsx"}
        ).action_import()
        request = self.last_request()
        self.assertEqual((request.kind, request.amount), ("topup_import", 170))
        self.assertEqual(self.balances(self.alice), (0, 0))
        request.with_user(self.finance).action_approve()
        self.assertEqual(self.balances(self.alice), (150, 20))

    def test_subsidy_grant_fixes_its_cardholders(self):
        department = self.env["hr.department"].create(
            {"name": "Approval Dept", "company_id": self.company.id}
        )
        (self.alice | self.bob).department_id = department
        self.env["canteen.subsidy.grant.wizard"].with_user(self.manager).create(
            {"department_ids": [(6, 0, department.ids)], "amount": 60}
        ).action_confirm()
        request = self.last_request()
        self.assertEqual(
            (request.kind, request.amount, request.employee_ids),
            ("subsidy_grant", 120, self.alice | self.bob),
        )
        # Someone joining the department before the approval is not granted by this request.
        carol = self._make_cardholder("Carol", "C003", self.company)
        carol.department_id = department
        request.with_user(self.finance).action_approve()
        self.assertEqual(self.balances(self.alice)[1], 60)
        self.assertEqual(self.balances(carol)[1], 0)

    def test_manual_entry_and_correction_wait(self):
        self.topup(self.alice, 90)
        self.company.canteen_approval_threshold = 30
        self.env["canteen.manual.entry.wizard"].with_user(self.operator).create(
            {
                "employee_id": self.alice.id,
                "merchant_id": self.merchant.id,
                "terminal_ref": "T9",
                "date": fields.Datetime.now(),
                "amount": 40,
                "meal_kind": "lunch",
            }
        ).action_confirm()
        request = self.last_request()
        self.assertEqual((request.kind, request.amount), ("manual_entry", 40))
        self.assertEqual(self.balances(self.alice)[0], 90)
        request.with_user(self.finance).action_approve()
        self.assertEqual(self.balances(self.alice)[0], 50)
        charge = self.env["canteen.ledger.entry"].search(
            [("employee_id", "=", self.alice.id), ("kind", "=", "charge")], order="id desc", limit=1
        )
        self.assertEqual(charge.terminal_ref, "T9")
        self.env["canteen.correction.wizard"].with_user(self.operator).create(
            {"entry_id": charge.id, "new_amount": 5}
        ).action_confirm()
        correction = self.last_request()
        self.assertEqual((correction.kind, correction.amount), ("correction", 35))
        correction.with_user(self.finance).action_approve()
        self.assertEqual(self.balances(self.alice)[0], 85)

    # the correction window (24 h for an operator) -----------------------------------------------
    def correct_as(self, user, charge, new_amount, **context):
        return (
            self.env["canteen.correction.wizard"]
            .with_user(user)
            .with_context(**context)
            .create({"entry_id": charge.id, "new_amount": new_amount})
            .action_confirm()
        )

    def test_correction_window_is_judged_when_asked_for(self):
        self.topup(self.alice, 90)  # each below the threshold: posted at once
        self.topup(self.bob, 90)
        self.company.canteen_approval_threshold = 30
        monday_noon = datetime.datetime(2026, 5, 4, 4, 0)
        hour = datetime.timedelta(hours=1)
        alice_lunch = self.charge(self.alice, 40, date=monday_noon)
        bob_lunch = self.charge(self.bob, 40, date=monday_noon)
        with freeze_time(monday_noon + 23 * hour):  # asked for an hour before the window closes
            self.correct_as(self.operator, alice_lunch, 0)
        request = self.last_request()
        self.assertEqual((request.kind, request.state), ("correction", "waiting"))
        # The operator cannot move the time the request was asked for.
        with self.assertRaises(AccessError):
            request.with_user(self.operator).write({"requested_date": monday_noon + 30 * hour})
        with freeze_time(monday_noon + 50 * hour):  # approved two days later: posted all the same
            request.with_user(self.finance).action_approve()
        self.assertEqual(request.state, "posted")
        self.assertEqual(self.balances(self.alice)[0], 90)
        self.assertEqual(alice_lunch.correctable_amount, 0)

        # Asked for after the window: refused at once, over the ORM too, whatever the context.
        with freeze_time(monday_noon + 25 * hour):
            for context in ({}, {"requested_at": "2026-05-04 05:00:00", "canteen_approved": True}):
                with self.subTest(context=context), self.assertRaisesRegex(UserError, "older than 24 hours"):
                    self.correct_as(self.operator, bob_lunch, 0, **context)
        self.assertEqual(self.last_request(), request)
        self.assertEqual(self.balances(self.bob)[0], 50)

    def test_correction_rechecked_when_approved(self):
        """Only the window is judged when asked for: a charge corrected meanwhile is refused."""
        self.topup(self.alice, 90)
        self.company.canteen_approval_threshold = 30
        lunch = self.charge(self.alice, 40, date=fields.Datetime.now() - datetime.timedelta(hours=2))
        self.correct_as(self.operator, lunch, 0)
        request = self.last_request()
        self.company.canteen_approval_threshold = 100
        self.correct_as(self.manager, lunch, 0)  # below the threshold: posted at once
        with self.assertRaisesRegex(UserError, "already corrected in full"):
            request.with_user(self.finance).action_approve()
        self.assertEqual((request.state, self.balances(self.alice)[0]), ("waiting", 90))

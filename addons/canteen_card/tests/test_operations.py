from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CanteenCardCase


@tagged("post_install", "-at_install")
class TestOperations(CanteenCardCase):
    def _move_lines(self, operation):
        return {(line.account_id, line.debit, line.credit) for line in operation.move_id.line_ids}

    def test_topup_books_cash_against_wallet_liability(self):
        operation = self.topup(self.alice | self.bob, 100)
        self.assertEqual(operation.amount_total, 200)
        self.assertEqual(operation.move_id.state, "posted")
        cash_account = self.company.canteen_payment_journal_id.default_account_id
        liability = self.company.canteen_cash_liability_account_id
        # The wallet side names each cardholder (their work contact), so an accountant finds a
        # person's movements in the journal items; the cash side is one line.
        self.assertEqual(self._move_lines(operation), {(cash_account, 200, 0), (liability, 0, 100)})
        people = operation.move_id.line_ids.filtered(lambda line: line.account_id == liability)
        self.assertEqual(people.partner_id, (self.alice | self.bob).work_contact_id)
        self.assertFalse(
            operation.move_id.line_ids.filtered(lambda line: line.account_id == cash_account).partner_id
        )
        self.assertEqual(self.balances(self.alice), (100.0, 0.0))

    def test_subsidy_topup_goes_to_subsidy_liability(self):
        operation = self.topup(self.alice, 30, wallet_kind="subsidy")
        self.assertIn((self.company.canteen_subsidy_liability_account_id, 0, 30), self._move_lines(operation))
        self.assertEqual(self.balances(self.alice), (0.0, 30.0))

    def test_refund_pays_cash_back(self):
        self.topup(self.alice, 50)
        operation = self.topup(self.alice, 20, mode="refund")
        cash_account = self.company.canteen_payment_journal_id.default_account_id
        self.assertIn((cash_account, 0, 20), self._move_lines(operation))
        self.assertEqual(self.balances(self.alice), (30.0, 0.0))
        with self.assertRaisesRegex(UserError, "missing"):
            self.topup(self.alice, 30.01, mode="refund")
        with self.assertRaisesRegex(UserError, "Only the cash wallet"):
            self.topup(self.alice, 1, wallet_kind="subsidy", mode="refund")

    def test_failed_batch_changes_nothing(self):
        self.alice.current_card_id.action_report_loss()
        with self.assertRaisesRegex(UserError, "reported lost"):
            self.topup(self.bob | self.alice, 10)
        self.assertEqual(self.balances(self.bob), (0.0, 0.0))

    def test_subsidy_grant_to_department_and_below(self):
        root = self.env["hr.department"].create({"name": "Plant", "company_id": self.company.id})
        line = self.env["hr.department"].create(
            {"name": "Line", "parent_id": root.id, "company_id": self.company.id}
        )
        self.alice.department_id = root
        self.bob.department_id = line
        self.grant(25, departments=root)
        self.assertEqual(self.balances(self.alice), (0.0, 25.0))
        self.assertEqual(self.balances(self.bob), (0.0, 25.0))
        operation = self.env["canteen.operation"].search([("kind", "=", "subsidy_grant")], limit=1)
        expense = self.company.canteen_subsidy_expense_account_id
        self.assertIn((expense, 50, 0), self._move_lines(operation))

    def test_subsidy_modes_accumulate_and_replace(self):
        self.grant(20, employees=self.alice)
        self.charge(self.alice, 5)
        self.grant(20, employees=self.alice)  # 15 left + 20
        self.assertEqual(self.balances(self.alice), (0.0, 35.0))
        self.grant(20, employees=self.alice, mode="replace")  # what is left is withdrawn
        self.assertEqual(self.balances(self.alice), (0.0, 20.0))
        kinds = self.env["canteen.ledger.entry"].search([("employee_id", "=", self.alice.id)]).mapped("kind")
        self.assertIn("subsidy_expiry", kinds)

    def test_resigned_cardholders_get_no_subsidy(self):
        self.bob.cardholder_state = "resigned"
        self.grant(10, employees=self.alice | self.bob)
        self.assertEqual(self.balances(self.bob), (0.0, 0.0))

    def test_subsidy_expiry_cron(self):
        with freeze_time("2026-03-01"):
            self.grant(40, employees=self.alice, expiry_date="2026-03-31")
            self.grant(40, employees=self.bob)
        with freeze_time("2026-03-31"):
            self.env["canteen.wallet"]._cron_expire_subsidies()
            self.assertEqual(self.balances(self.alice), (0.0, 40.0))
        with freeze_time("2026-04-01"):
            operations = self.env["canteen.wallet"]._cron_expire_subsidies()
        self.assertEqual(self.balances(self.alice), (0.0, 0.0))
        self.assertEqual(self.balances(self.bob), (0.0, 40.0))
        self.assertEqual(operations.amount_total, -40)
        self.assertIn((self.company.canteen_subsidy_expense_account_id, 0, 40), self._move_lines(operations))
        self.assertFalse(self.env["canteen.wallet"]._cron_expire_subsidies())

    def test_issue_card_wizard(self):
        carol = self.env["hr.employee"].create({"name": "Carol", "company_id": self.company.id})
        wizard = self.env["canteen.card.issue.wizard"].create(
            {"employee_id": carol.id, "uid": " 04a1b2c3 ", "card_type_id": self.card_type.id}
        )
        wizard.action_issue()
        self.assertEqual(carol.current_card_id.uid, "04A1B2C3")
        self.assertEqual(carol.card_type_id, self.card_type)
        self.assertEqual(len(carol.wallet_ids), 2)
        with self.assertRaisesRegex(UserError, "already holds"):
            self.env["canteen.card.issue.wizard"].create(
                {"employee_id": carol.id, "kind": "virtual", "card_type_id": self.card_type.id}
            ).action_issue()

    def test_virtual_cards_are_numbered(self):
        carol = self.env["hr.employee"].create({"name": "Carol", "company_id": self.company.id})
        card = self.env["canteen.card"].create({"employee_id": carol.id, "kind": "virtual"})
        self.assertTrue(card.uid.startswith("V"))

    @mute_logger("odoo.sql_db")
    def test_live_uid_unique_per_company(self):
        carol = self.env["hr.employee"].create({"name": "Carol", "company_id": self.company.id})
        with self.assertRaises(Exception):  # noqa: B017 - the constraint or the unique index
            self.env["canteen.card"].create({"employee_id": carol.id, "uid": self.alice.current_card_id.uid})

    def _flush_tracking(self):
        """Mail tracking is written before commit, comparing values with those of the last one."""
        self.env.flush_all()
        self.cr.precommit.run()

    def test_loss_and_unblock_from_employee(self):
        card = self.alice.current_card_id
        self._flush_tracking()
        self.alice.action_report_card_loss()
        self.assertEqual(card.state, "lost")
        self.assertTrue(card.lost_at)
        with self.assertRaisesRegex(UserError, "Only an active card"):
            card.action_report_loss()
        self._flush_tracking()
        self.alice.action_unblock_card()
        self.assertEqual(card.state, "active")
        with self.assertRaisesRegex(UserError, "Only a lost card"):
            card.action_unblock()
        self._flush_tracking()
        card.invalidate_recordset(["message_ids"])
        tracked = card.message_ids.tracking_value_ids.filtered(lambda t: t.field_id.name == "state")
        self.assertEqual(sorted(tracked.mapped("new_value_char")), ["Active", "Lost"])
        operator = self._user("ops_operator", "canteen_card.group_card_operator", [self.company])
        hostile = card.with_user(operator).with_context(canteen_card_state_change=True)
        with self.assertRaises(AccessError):
            hostile.write({"state": "cancelled"})
        self.assertEqual(card.state, "active")

    def test_card_expiry_cron(self):
        card_type = self.env["canteen.card.type"].create(
            {"name": "Student", "company_id": self.company.id, "validity_years": 4}
        )
        with freeze_time("2022-09-01"):
            carol = self._make_cardholder("Carol", "C003", self.company, card_type=card_type)
        card = carol.current_card_id
        self.assertEqual(str(card.expiry_date), "2026-09-01")
        with freeze_time("2026-09-02"):
            self.env["canteen.card"]._cron_expire_cards()
        self.assertEqual(card.state, "expired")

    def test_every_company_with_a_chart_has_wallet_accounting(self):
        branch = self._make_company("Canteen Test Branch", parent=self.company)
        for company in self.company | branch:
            for field_name in (
                "canteen_cash_journal_id",
                "canteen_subsidy_journal_id",
                "canteen_cash_liability_account_id",
                "canteen_subsidy_liability_account_id",
                "canteen_subsidy_expense_account_id",
                "canteen_merchant_account_id",
            ):
                self.assertTrue(company[field_name], f"{company.name}: {field_name}")
        self.assertEqual(
            branch.canteen_cash_liability_account_id, self.company.canteen_cash_liability_account_id
        )
        self.assertNotEqual(branch.canteen_cash_journal_id, self.company.canteen_cash_journal_id)


@tagged("post_install", "-at_install")
class TestServerActions(CanteenCardCase):
    """The list's Actions menu runs server actions the way the web client does."""

    def run_server_action(self, xmlid, records):
        action = self.env.ref(xmlid)
        context = {"active_model": records._name, "active_ids": records.ids, "active_id": records[:1].id}
        return action.with_context(**context).run()

    def test_freeze_cards_and_rehire_from_the_list(self):
        done = self.run_server_action("canteen_card.hr_employee_freeze_cards_action", self.alice | self.bob)
        self.assertEqual(done["tag"], "display_notification", "the Actions menu confirms what it did")
        self.assertEqual(set((self.alice | self.bob).current_card_id.mapped("state")), {"lost"})
        self.bob.current_card_id.action_unblock()
        self.bob._canteen_cancel(card_cost=0, resign=True)
        self.assertEqual(self.bob.cardholder_state, "resigned")
        self.assertFalse(self.run_server_action("canteen_card.hr_employee_rehire_action", self.bob))
        self.assertEqual(self.bob.cardholder_state, "active")

import datetime
import re

import pytz
from freezegun import freeze_time
from lxml import etree

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import format_datetime

from .common import CanteenCardCase


@tagged("post_install", "-at_install")
class TestCardDesk(CanteenCardCase):
    """Replace, claim, scrap, cancel, resign and re-hire, corrections, manual entries, batch issue."""

    def replace(self, employee, uid="NEWCARD", card_cost=0):
        wizard = self.env["canteen.card.replace.wizard"].create(
            {"old_card_id": employee.current_card_id.id, "uid": uid, "card_cost": card_cost}
        )
        wizard.action_replace()
        return self.env["canteen.card.replacement"].search([("employee_id", "=", employee.id)], limit=1)

    def list_changes(self, card):
        changes = self.env["canteen.card.list.change"].search([("card_id", "=", card.id)], order="id")
        return [(change.change, change.reason) for change in changes]

    def cancel(self, employees, **values):
        self.env["canteen.card.cancel.wizard"].create(
            dict({"employee_ids": [(6, 0, employees.ids)]}, **values)
        ).action_confirm()

    # replace and claim ------------------------------------------------------------------------
    def test_replace_only_a_lost_card(self):
        with self.assertRaisesRegex(UserError, "Only a lost card can be replaced"):
            self.replace(self.alice)

    def test_replace_parks_balance_until_waiting_days_are_over(self):
        self.card_type.card_cost = 10
        self.topup(self.alice, 100)
        self.grant(30, employees=self.alice)
        old_card = self.alice.current_card_id
        with freeze_time("2026-05-01 08:00:00"):
            old_card.action_report_loss()
        with freeze_time("2026-05-02 09:00:00"):
            replacement = self.replace(self.alice, card_cost=10)
            new_card = self.alice.current_card_id
            self.assertNotEqual(new_card, old_card)
            self.assertEqual(old_card.state, "replaced")
            self.assertEqual(old_card.replaced_by_id, new_card)
            # The new card starts empty: the old balance (less the card cost) is parked.
            self.assertEqual(self.balances(self.alice), (0.0, 0.0))
            self.assertEqual((replacement.cash_amount, replacement.subsidy_amount), (90.0, 30.0))
            self.assertEqual(replacement.state, "waiting")
            with self.assertRaisesRegex(UserError, "does not have enough money: 5.00 missing"):
                self.charge(self.alice, 25)  # the parked balance cannot be spent; the floor is -20
            self.topup(self.alice, 20)
            self.charge(self.alice, 5)
        with freeze_time("2026-05-04 07:59:00"), self.assertRaisesRegex(UserError, "can be claimed from"):
            replacement.action_claim()
        with freeze_time("2026-05-04 08:00:00"):
            replacement.action_claim()
        self.assertEqual(replacement.state, "claimed")
        self.assertEqual(self.balances(self.alice), (105.0, 30.0))
        parked = self.env["canteen.ledger.entry"].search(
            [("employee_id", "=", self.alice.id), ("kind", "=", "claim_park")]
        )
        self.assertEqual(sorted(parked.mapped("amount")), [-90.0, -30.0])
        claimed = self.env["canteen.ledger.entry"].search(
            [("employee_id", "=", self.alice.id), ("kind", "=", "claim_return")]
        )
        self.assertEqual(sorted(claimed.mapped("amount")), [30.0, 90.0])
        income = self.company.canteen_card_cost_account_id
        self.assertTrue(income)
        self.assertEqual(
            sum(self.env["account.move.line"].search([("account_id", "=", income.id)]).mapped("credit")), 10
        )
        claim_account = self.company.canteen_claim_account_id
        lines = self.env["account.move.line"].search([("account_id", "=", claim_account.id)])
        self.assertEqual(sum(lines.mapped("balance")), 0)
        with self.assertRaisesRegex(UserError, "already claimed"):
            replacement.action_claim()
        self.assertEqual(
            self.list_changes(old_card),
            [("whitelist.add", "issue"), ("blacklist.add", "loss"), ("blacklist.add", "replace")],
        )
        self.assertEqual(self.list_changes(new_card), [("whitelist.add", "replace")])

    def test_zero_waiting_days_keeps_the_balance_on_the_new_card(self):
        self.company.canteen_grey_wait_days = 0
        self.topup(self.alice, 50)
        self.alice.current_card_id.action_report_loss()
        replacement = self.replace(self.alice)
        self.assertEqual(replacement.state, "claimed")
        self.assertEqual(self.balances(self.alice), (50.0, 0.0))
        self.charge(self.alice, 5)

    def test_waiting_days_count_from_the_loss(self):
        self.topup(self.alice, 50)
        with freeze_time("2026-05-01 08:00:00"):
            self.alice.current_card_id.action_report_loss()
        with freeze_time("2026-05-05 08:00:00"):
            replacement = self.replace(self.alice)
        self.assertEqual(replacement.state, "claimed")
        self.assertEqual(self.balances(self.alice), (50.0, 0.0))

    def test_expired_subsidy_is_withdrawn_at_claim(self):
        with freeze_time("2026-05-01 08:00:00"):
            self.grant(30, employees=self.alice, expiry_date="2026-05-02")
            self.alice.current_card_id.action_report_loss()
            replacement = self.replace(self.alice)
        with freeze_time("2026-05-10 08:00:00"):
            replacement.action_claim()
        self.assertEqual(self.balances(self.alice), (0.0, 0.0))

    def test_found_old_card_can_only_be_scrapped(self):
        old_card = self.alice.current_card_id
        old_card.action_report_loss()
        self.replace(self.alice)
        with self.assertRaisesRegex(UserError, "Only a lost card can be unblocked"):
            old_card.action_unblock()
        with self.assertRaisesRegex(UserError, "Only a replaced or cancelled card"):
            self.alice.current_card_id.action_scrap()
        old_card.action_scrap()
        self.assertTrue(old_card.scrapped)
        carol = self.env["hr.employee"].create({"name": "Carol", "company_id": self.company.id})
        with self.assertRaisesRegex(ValidationError, "scrapped"):
            self.env["canteen.card"].create({"employee_id": carol.id, "uid": old_card.uid})

    def test_lost_replace_claim_cancel_at_the_desk(self):
        """The path of issue 11 as the operator walks it, in the user's time zone and format."""
        self.env.user.tz = "Asia/Shanghai"
        self.company.canteen_grey_wait_days = 3
        self.topup(self.alice, 80)
        self.grant(20, employees=self.alice)
        old_card = self.alice.current_card_id
        with freeze_time("2026-05-01 12:43:00"):  # 20:43 in Shanghai
            done = self.alice.action_report_card_loss()
        self.assertEqual(done["tag"], "display_notification")
        self.assertIn(old_card.uid, done["params"]["message"])
        self.assertIn("20:43", done["params"]["message"])
        # Replace is offered on the person, and the lost card is found by name or employee number.
        wizard_action = self.alice.action_replace_card()
        self.assertEqual(wizard_action["context"]["default_old_card_id"], old_card.id)
        for text in ("Alice", "A001", old_card.uid):
            found = self.env["canteen.card"].name_search(text, [("state", "=", "lost")])
            self.assertEqual([row[0] for row in found], [old_card.id], text)
        self.assertEqual(old_card.display_name, f"{old_card.uid} (Alice)")
        with freeze_time("2026-05-02 09:00:00"):
            replacement = self.replace(self.alice)
        new_card = self.alice.current_card_id
        # The person shows the parked balance and when it can be claimed.
        self.alice.invalidate_recordset()
        self.assertEqual(self.balances(self.alice), (0.0, 0.0))
        self.assertEqual(self.alice.canteen_claim_amount, 100)
        self.assertEqual(self.alice.canteen_claimable_at, datetime.datetime(2026, 5, 4, 12, 43))
        self.assertEqual((new_card.claim_id, old_card.claim_id), (replacement, replacement))
        self.assertEqual(new_card.claim_amount, 100)
        parked = replacement.replace_operation_id
        self.assertEqual(set(parked.entry_ids.mapped("kind")), {"claim_park"})
        self.assertEqual(parked.parked_amount, -100)
        # The refusals say from when, as the user reads it (Shanghai time, Odoo's format).
        shown = format_datetime(self.env, replacement.claimable_at, tz="Asia/Shanghai", dt_format=False)
        self.assertIn("20:43", shown)
        with freeze_time("2026-05-03 09:00:00"):
            with self.assertRaisesRegex(UserError, re.escape(f"claimable from {shown}")):
                self.cancel(self.alice)
            with self.assertRaisesRegex(UserError, re.escape(f"can be claimed from {shown}")):
                replacement.action_claim()
        with freeze_time("2026-05-04 12:43:00"):
            replacement.action_claim()
        self.assertEqual(set(replacement.claim_operation_id.entry_ids.mapped("kind")), {"claim_return"})
        self.alice.invalidate_recordset()
        self.assertFalse(self.alice.canteen_claim_id)
        self.assertEqual(self.balances(self.alice), (80.0, 20.0))
        self.cancel(self.alice)
        operation = self.env["canteen.operation"].search([("kind", "=", "cancel")], limit=1)
        self.assertEqual((operation.refund_amount, operation.subsidy_withdrawn_amount), (80, 20))
        self.assertEqual(
            set(operation.entry_ids.mapped("kind")), {"refund", "subsidy_withdrawal"}, "not an expiry"
        )

    def test_desk_actions_confirm_what_they_did(self):
        self.topup(self.alice, 50)
        charge = self.charge(self.alice, 12)
        done = (
            self.env["canteen.correction.wizard"]
            .create({"entry_id": charge.id, "new_amount": 0})
            .action_confirm()
        )
        self.assertEqual(done["tag"], "display_notification")
        self.assertIn("12.00 given back to Alice", done["params"]["message"])
        self.assertEqual(done["params"]["next"], {"type": "ir.actions.act_window_close"})
        self.assertEqual(charge.correction_ids.related_entry_id, charge, "linked both ways")
        done = (
            self.env["canteen.manual.entry.wizard"]
            .create(
                {
                    "employee_id": self.alice.id,
                    "merchant_id": self.merchant.id,
                    "terminal_ref": "7",
                    "date": datetime.datetime.now() - datetime.timedelta(hours=1),
                    "amount": 3,
                }
            )
            .action_confirm()
        )
        self.assertIn("3.00 charged to Alice at Staff Canteen", done["params"]["message"])
        done = (self.alice | self.bob).action_freeze_cards()
        self.assertIn("2 cards are blocked", done["params"]["message"])

    # cancel, freeze, resign, re-hire ------------------------------------------------------------
    def test_cancel_charges_card_cost_refunds_cash_withdraws_subsidy(self):
        self.card_type.card_cost = 15
        self.topup(self.alice, 100)
        self.grant(30, employees=self.alice)
        card = self.alice.current_card_id
        self.cancel(self.alice, to_resigned_pool=True)
        self.assertEqual(self.balances(self.alice), (0.0, 0.0))
        self.assertEqual(card.state, "cancelled")
        self.assertFalse(card.scrapped)
        self.assertEqual(self.alice.cardholder_state, "resigned")
        entries = self.env["canteen.ledger.entry"].search(
            [("card_id", "=", False), ("employee_id", "=", self.alice.id)]
        )
        by_kind = {
            kind: sum(entries.filtered(lambda e, k=kind: e.kind == k).mapped("amount"))
            for kind in ("card_cost", "refund", "subsidy_withdrawal")
        }
        self.assertEqual(by_kind, {"card_cost": -15.0, "refund": -85.0, "subsidy_withdrawal": -30.0})
        operation = self.env["canteen.operation"].search([("kind", "=", "cancel")], limit=1)
        # What the operator hands over, keeps and takes back, each on its own line.
        self.assertEqual(operation.amount_total, -130)
        self.assertEqual(
            (operation.refund_amount, operation.card_cost_amount, operation.subsidy_withdrawn_amount),
            (85, 15, 30),
        )
        accounts = {line.account_id: line.balance for line in operation.move_id.line_ids}
        self.assertEqual(accounts[self.company.canteen_card_cost_account_id], -15)
        self.assertEqual(accounts[self.company.canteen_payment_journal_id.default_account_id], -85)
        self.assertEqual(accounts[self.company.canteen_subsidy_expense_account_id], -30)
        self.assertEqual(self.list_changes(card)[-1], ("blacklist.add", "resign"))
        # The card came back: its UID may be issued again.
        carol = self.env["hr.employee"].create({"name": "Carol", "company_id": self.company.id})
        self.env["canteen.card"].create({"employee_id": carol.id, "uid": card.uid})

    def test_card_cost_is_at_most_the_cash_and_the_card_types(self):
        self.card_type.card_cost = 10
        self.topup(self.alice, 4)
        with self.assertRaisesRegex(UserError, "at most 10.00"):
            self.cancel(self.alice, use_card_type_cost=False, card_cost=1000)
        self.assertEqual(self.balances(self.alice), (4.0, 0.0))
        self.cancel(self.alice, use_card_type_cost=False, card_cost=10)
        self.assertEqual(self.balances(self.alice), (0.0, 0.0))
        self.assertEqual(self.alice.cardholder_state, "active")

    def test_cancel_refused_for_a_debt_changes_nothing(self):
        self.topup(self.bob, 10)
        self.charge(self.alice, 5)  # floor -20
        with self.assertRaisesRegex(UserError, "Alice owes 5.00"):
            self.cancel(self.alice | self.bob)
        self.assertEqual(self.balances(self.bob), (10.0, 0.0))
        self.assertEqual(self.bob.current_card_id.state, "active")

    def test_cancel_refused_while_a_claim_waits(self):
        self.topup(self.alice, 10)
        self.alice.current_card_id.action_report_loss()
        self.replace(self.alice)
        with self.assertRaisesRegex(UserError, "old card balance of 10.00 to claim, claimable from"):
            self.cancel(self.alice)

    def test_batch_freeze_and_no_card_cancellation(self):
        self.topup(self.alice | self.bob, 10)
        cards = (self.alice | self.bob).current_card_id
        (self.alice | self.bob).action_freeze_cards()
        self.assertEqual(set(cards.mapped("state")), {"lost"})
        self.cancel(self.alice | self.bob, card_returned=False, to_resigned_pool=True)
        self.assertEqual(set(cards.mapped("state")), {"cancelled"})
        self.assertTrue(all(cards.mapped("scrapped")))
        self.assertEqual(self.balances(self.alice), (0.0, 0.0))
        self.assertEqual(set((self.alice | self.bob).mapped("cardholder_state")), {"resigned"})

    def test_resigned_pool_and_rehire(self):
        with self.assertRaisesRegex(UserError, "Cancel the cards"):
            self.alice.action_resign()
        self.cancel(self.alice)
        self.alice.action_resign()
        visible = self.env["hr.employee"].search(
            [("cardholder_state", "=", "active"), ("id", "in", (self.alice | self.bob).ids)]
        )
        self.assertEqual(visible, self.bob)
        with self.assertRaisesRegex(UserError, "has resigned"):
            self.env["canteen.card.issue.wizard"].create(
                {"employee_id": self.alice.id, "kind": "virtual", "card_type_id": self.card_type.id}
            ).action_issue()
        self.alice.action_rehire()
        self.assertEqual(self.alice.cardholder_state, "active")
        self.assertEqual(self.alice.employee_no, "A001")
        self.assertEqual(len(self.alice.card_ids), 1, "history is kept")
        actions = (
            self.env["canteen.operation.log"].search([("employee_id", "=", self.alice.id)]).mapped("action")
        )
        self.assertTrue({"cancel", "resign", "rehire"} <= set(actions))

    # corrections and manual entries -----------------------------------------------------------
    def test_correction_within_window_is_a_linked_entry(self):
        self.topup(self.alice, 50)
        charge = self.charge(self.alice, 12)
        wizard = self.env["canteen.correction.wizard"].create({"entry_id": charge.id, "new_amount": 8})
        self.assertEqual(wizard.charged, 12)
        wizard.action_confirm()
        self.assertEqual(self.balances(self.alice), (42.0, 0.0))
        correction = charge.correction_ids
        self.assertEqual((correction.kind, correction.amount), ("correction", 4.0))
        self.assertEqual(correction.merchant_id, self.merchant)
        self.assertEqual(charge.amount, -12, "the charge itself never changes")
        # A second correction starts from the corrected amount and only lowers it: more money
        # is a new manual entry, never a correction (12.00 corrected to 80.00 took 68.00 more).
        for higher in (10, 80):
            with self.assertRaisesRegex(UserError, "only lowers a charge"):
                self.env["canteen.ledger"]._correct(charge, higher)
        self.env["canteen.correction.wizard"].create(
            {"entry_id": charge.id, "new_amount": 6}
        ).action_confirm()
        self.assertEqual(self.balances(self.alice), (44.0, 0.0))
        with self.assertRaisesRegex(UserError, "already 6.00"):
            self.env["canteen.ledger"]._correct(charge, 6)
        with self.assertRaisesRegex(UserError, "not a valid amount"):
            self.env["canteen.ledger"]._correct(charge, -1)
        # Clear up to the charge's day in the company's time zone (ahead of UTC late in the day).
        local_day = (
            pytz.utc.localize(charge.date).astimezone(pytz.timezone(self.company._canteen_timezone())).date()
        )
        clearings = self.env["canteen.clearing"]._run(self.company, until=local_day)
        self.assertEqual(sum(clearings.mapped("amount")), 6)

    def test_correction_window_per_group(self):
        self.topup(self.alice, 50)
        old = datetime.datetime.now() - datetime.timedelta(hours=30)
        charge = self.charge(self.alice, 12, date=old)
        operator = self._user("desk_operator", "canteen_card.group_card_operator", [self.company])
        as_operator = self.env["canteen.ledger"].with_user(operator)
        with self.assertRaisesRegex(UserError, "older than 24 hours"):
            as_operator._correct(charge.with_user(operator), 0)
        self.env["canteen.ledger"]._correct(charge, 0)  # a card manager: 168 hours
        self.assertEqual(self.balances(self.alice), (50.0, 0.0))
        with self.assertRaisesRegex(UserError, "Only a charge"):
            self.env["canteen.ledger"]._correct(charge.correction_ids, 0)

    def test_correct_is_not_offered_once_the_charge_is_corrected_in_full(self):
        self.topup(self.alice, 50)
        charge = self.charge(self.alice, 12)
        other = self.charge(self.alice, 3)
        Entry = self.env["canteen.ledger.entry"]
        self.assertEqual(charge.correctable_amount, 12)
        Wizard = self.env["canteen.correction.wizard"]
        Wizard.create({"entry_id": charge.id, "new_amount": 5}).action_confirm()
        self.assertEqual(charge.correctable_amount, 5)
        self.assertEqual(charge.correction_ids.correctable_amount, 0, "a correction is not corrected")
        mine = [("employee_id", "=", self.alice.id)]
        self.assertEqual(Entry.search([*mine, ("correctable_amount", ">", 0)]), charge | other)
        self.assertEqual(Entry.search([*mine, ("correctable_amount", "=", 5)]), charge)
        self.assertEqual(
            Entry.search([*mine, ("correctable_amount", ">=", 4), ("kind", "=", "charge")]), charge
        )
        # A second correction beyond what is left (7.00 of a charge that stands at 5.00) is
        # refused in the wizard's words, and nothing is posted.
        entries = Entry.search_count(mine)
        with self.assertRaisesRegex(UserError, "stands at 5.00 after its corrections"):
            Wizard.create({"entry_id": charge.id, "new_amount": 7}).action_confirm()
        self.assertEqual(Entry.search_count(mine), entries, "nothing posted")
        Wizard.create({"entry_id": charge.id, "new_amount": 0}).action_confirm()
        self.assertEqual((charge.correctable_amount, self.balances(self.alice)), (0, (47.0, 0.0)))
        # Corrected in full: no longer offered (button, charge list of the wizard, the
        # Corrections menu's default filter) and refused if tried all the same.
        self.assertEqual(Entry.search([*mine, ("correctable_amount", ">", 0)]), other)
        self.assertIn(charge, Entry.search([*mine, ("correctable_amount", "=", 0)]))
        entries = Entry.search_count(mine)
        stale = Wizard.create({"entry_id": charge.id, "new_amount": 0})
        self.assertEqual(stale.charged, 0)
        with self.assertRaisesRegex(UserError, "already corrected in full"):
            stale.action_confirm()
        self.assertEqual(Entry.search_count(mine), entries, "nothing posted")
        self.assertEqual(self.balances(self.alice), (47.0, 0.0))
        form = etree.fromstring(self.env.ref("canteen_card.canteen_ledger_entry_view_form").arch)
        (button,) = form.xpath("//button[@name='action_correct']")
        self.assertIn("correctable_amount <= 0", button.get("invisible"))
        self.assertIn("('correctable_amount', '>', 0)", Wizard._fields["entry_id"].domain)

    def test_manual_entry_is_a_charge_with_terminal_and_time(self):
        self.topup(self.alice, 50)
        when = datetime.datetime.now().replace(microsecond=0) - datetime.timedelta(hours=3)
        self.env["canteen.manual.entry.wizard"].create(
            {
                "employee_id": self.alice.id,
                "merchant_id": self.merchant.id,
                "terminal_ref": "12",
                "date": when,
                "amount": 9.5,
            }
        ).action_confirm()
        entry = self.env["canteen.ledger.entry"].search(
            [("employee_id", "=", self.alice.id), ("kind", "=", "charge")]
        )
        self.assertEqual((entry.terminal_ref, entry.date, entry.amount), ("12", when, -9.5))
        self.assertEqual(self.balances(self.alice), (40.5, 0.0))
        with self.assertRaisesRegex(UserError, "future"):
            self.env["canteen.manual.entry.wizard"].create(
                {
                    "employee_id": self.alice.id,
                    "merchant_id": self.merchant.id,
                    "terminal_ref": "12",
                    "date": datetime.datetime.now() + datetime.timedelta(hours=1),
                    "amount": 1,
                }
            ).action_confirm()
        log = self.env["canteen.operation.log"].search([("action", "=", "manual_entry")])
        self.assertEqual((log.cash_before, log.cash_after), (50.0, 40.5))

    # batch issue, list changes, log -----------------------------------------------------------
    def test_batch_issue_virtual_cards(self):
        department = self.env["hr.department"].create({"name": "Site", "company_id": self.company.id})
        people = self.env["hr.employee"].create(
            [
                {"name": f"P{i}", "company_id": self.company.id, "department_id": department.id}
                for i in range(3)
            ]
        )
        self.alice.department_id = department
        self.env["canteen.card.batch.issue.wizard"].create(
            {"department_ids": [(6, 0, department.ids)]}
        ).action_issue()
        cards = people.current_card_id
        self.assertEqual(len(cards), 3)
        self.assertEqual(set(cards.mapped("kind")), {"virtual"})
        self.assertTrue(all(uid.startswith("V") for uid in cards.mapped("uid")))
        self.assertEqual(len(self.alice.card_ids), 1, "who holds a card is left alone")
        changes = self.env["canteen.card.list.change"].search([("card_id", "in", cards.ids)])
        self.assertEqual(set(changes.mapped("change")), {"whitelist.add"})
        with self.assertRaisesRegex(UserError, "already holds a card"):
            self.env["canteen.card.batch.issue.wizard"].create(
                {"employee_ids": [(6, 0, people.ids)]}
            ).action_issue()

    def test_list_changes_of_loss_unblock_expiry(self):
        card = self.bob.current_card_id
        card.action_report_loss()
        card.action_unblock()
        card.expiry_date = datetime.date(2020, 1, 1)
        self.env["canteen.card"]._cron_expire_cards()
        self.assertEqual(
            self.list_changes(card),
            [
                ("whitelist.add", "issue"),
                ("blacklist.add", "loss"),
                ("blacklist.remove", "unblock"),
                ("blacklist.add", "expire"),
            ],
        )
        change = self.env["canteen.card.list.change"].search([("card_id", "=", card.id)], limit=1)
        self.assertEqual((change.uid, change.company_id), (card.uid, self.company))

    def test_operation_log_is_read_only_and_for_managers_and_auditors(self):
        self.topup(self.alice, 25)
        log = self.env["canteen.operation.log"].search(
            [("action", "=", "topup"), ("employee_id", "=", self.alice.id)]
        )
        self.assertEqual((log.cash_before, log.cash_after, log.user_id), (0.0, 25.0, self.env.user))
        self.assertTrue(log.operation_id)
        with self.assertRaises(UserError):
            log.write({"note": "changed"})
        with self.assertRaises(UserError):
            log.unlink()
        operator = self._user("log_operator", "canteen_card.group_card_operator", [self.company])
        auditor = self._user("log_auditor", "canteen_card.group_card_auditor", [self.company])
        self.assertFalse(self.env["canteen.operation.log"].with_user(operator).has_access("read"))
        self.assertTrue(self.env["canteen.operation.log"].with_user(auditor).search([("id", "=", log.id)]))

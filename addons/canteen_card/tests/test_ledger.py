from decimal import Decimal

import psycopg2

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CanteenCardCase


@tagged("post_install", "-at_install")
class TestLedger(CanteenCardCase):
    def test_charge_takes_subsidy_first_then_cash(self):
        self.topup(self.alice, 50)
        self.grant(10, employees=self.alice)
        entries = self.charge(self.alice, 12.5)
        self.assertEqual(sorted(entries.mapped("wallet_kind")), ["cash", "subsidy"])
        self.assertEqual(self.balances(self.alice), (47.5, 0.0))
        self.assertEqual(set(entries.mapped("merchant_id")), {self.merchant})
        self.assertEqual(entries.filtered(lambda e: e.wallet_kind == "subsidy").amount, -10)

    def test_company_may_spend_cash_first(self):
        self.company.canteen_spend_cash_first = True
        self.topup(self.alice, 5)
        self.grant(10, employees=self.alice)
        self.charge(self.alice, 8)
        self.assertEqual(self.balances(self.alice), (0.0, 7.0))

    def test_charge_within_subsidy_touches_only_subsidy(self):
        self.grant(30, employees=self.alice)
        entries = self.charge(self.alice, 12)
        self.assertEqual(entries.wallet_kind, "subsidy")
        self.assertEqual(entries.balance_after, 18)

    def test_overdraft_floor(self):
        self.topup(self.alice, 10)
        self.charge(self.alice, 30)  # down to the floor of -20
        self.assertEqual(self.balances(self.alice), (-20.0, 0.0))
        with self.assertRaisesRegex(UserError, "0.01 missing"):
            self.charge(self.alice, 0.01)
        self.assertEqual(self.balances(self.alice), (-20.0, 0.0))

    def test_zero_floor_refuses_any_debt(self):
        carol = self._make_cardholder(
            "Carol",
            "C003",
            self.company,
            card_type=self.env["canteen.card.type"].create(
                {"name": "No credit", "company_id": self.company.id}
            ),
        )
        self.topup(carol, 5)
        with self.assertRaisesRegex(UserError, "5.01 missing"):
            self.charge(carol, 10.01)
        self.assertFalse(
            self.env["canteen.ledger.entry"].search([("employee_id", "=", carol.id), ("kind", "=", "charge")])
        )

    def test_offline_record_may_overdraw_and_is_flagged(self):
        self.topup(self.alice, 5)
        entries = self.charge(self.alice, 40, allow_overdraft=True)
        self.assertTrue(all(entries.mapped("overdraft")))
        self.assertEqual(self.balances(self.alice), (-35.0, 0.0))

    def test_bad_amounts_change_nothing(self):
        self.topup(self.alice, 10)
        for bad in ("0", "-1", "1.001", "abc", "NaN", "Infinity"):
            with self.subTest(amount=bad), self.assertRaisesRegex(UserError, "not a valid amount"):
                self.Ledger._charge(self.alice, bad, merchant=self.merchant)
        self.assertEqual(self.balances(self.alice), (10.0, 0.0))
        self.assertEqual(
            self.env["canteen.ledger.entry"].search_count([("employee_id", "=", self.alice.id)]), 1
        )

    def test_lost_cancelled_expired_cards_refused(self):
        self.topup(self.alice, 10)
        card = self.alice.current_card_id
        card.action_report_loss()
        with self.assertRaisesRegex(UserError, "reported lost"):
            self.charge(self.alice, 1)
        with self.assertRaisesRegex(UserError, "reported lost"):
            self.topup(self.alice, 1)
        card.action_unblock()
        self.charge(self.alice, 1)
        card.with_context(canteen_card_state_change=True).expiry_date = "2000-01-01"
        with self.assertRaisesRegex(UserError, "expired"):
            self.charge(self.alice, 1)
        card._set_state("cancelled")
        with self.assertRaisesRegex(UserError, "cancelled"):
            self.charge(self.alice, 1, card=card)
        self.assertEqual(self.balances(self.alice), (9.0, 0.0))

    def test_max_balance(self):
        self.topup(self.alice, 990)
        with self.assertRaisesRegex(UserError, "above the card type's maximum"):
            self.topup(self.alice, 10.01)
        self.topup(self.alice, 10)
        self.assertEqual(self.balances(self.alice), (1000.0, 0.0))

    def test_card_of_another_person_refused(self):
        self.topup(self.alice, 10)
        with self.assertRaisesRegex(UserError, "does not belong"):
            self.charge(self.alice, 1, card=self.bob.current_card_id)

    def test_entries_are_immutable(self):
        self.topup(self.alice, 10)
        entry = self.env["canteen.ledger.entry"].search([("employee_id", "=", self.alice.id)])
        with self.assertRaises(UserError):
            entry.write({"amount": 1000})
        with self.assertRaises(UserError):
            entry.unlink()
        with self.assertRaises(UserError):
            self.env["canteen.ledger.entry"].create({"amount": 5})
        # Even raw SQL cannot rewrite history.
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.Error), self.cr.savepoint():
            self.cr.execute("UPDATE canteen_ledger_entry SET amount = 1000 WHERE id = %s", [entry.id])
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.Error), self.cr.savepoint():
            self.cr.execute("DELETE FROM canteen_ledger_entry WHERE id = %s", [entry.id])

    def test_wallet_balance_is_not_writable(self):
        wallet = self.alice.wallet_ids[:1]
        with self.assertRaises(UserError):
            wallet.write({"balance": 1000})
        with self.assertRaises(UserError):
            wallet.with_context(canteen_ledger_service=True).write({"balance": 1000})

    def test_entry_records_balance_after_and_decimal_exactness(self):
        self.topup(self.alice, 0.1)
        self.topup(self.alice, 0.2)
        entries = self.charge(self.alice, 0.3)
        self.assertEqual(entries.balance_after, 0)
        self.cr.execute("SELECT balance FROM canteen_wallet WHERE id = %s", [entries.wallet_id.id])
        self.assertEqual(self.cr.fetchone()[0], Decimal("0.00"))

    def test_cross_company_records_refused(self):
        other = self._make_company("Other Group")
        foreign_type = self.env["canteen.card.type"].create({"name": "Foreign", "company_id": other.id})
        with self.assertRaises(UserError):
            self.alice.card_type_id = foreign_type
        foreign_merchant = self.env["canteen.merchant"].create({"name": "Elsewhere", "company_id": other.id})
        self.topup(self.alice, 10)
        with self.assertRaises(UserError):
            self.charge(self.alice, 1, merchant=foreign_merchant)
        self.assertEqual(self.balances(self.alice), (10.0, 0.0))

import datetime

from freezegun import freeze_time

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CanteenCardCase


@tagged("post_install", "-at_install")
class TestClearing(CanteenCardCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shop = cls.env["canteen.merchant"].create(
            {"name": "Campus Shop", "kind": "shop", "company_id": cls.company.id}
        )
        cls.company.resource_calendar_id.tz = "Asia/Shanghai"

    def test_one_entry_per_merchant_day_and_wallet(self):
        self.topup(self.alice | self.bob, 100)
        self.grant(10, employees=self.alice)
        # 2026-05-04 23:30 in Shanghai is 15:30 UTC; 2026-05-05 00:30 is 16:30 UTC the day before.
        self.charge(self.alice, 15, date=datetime.datetime(2026, 5, 4, 15, 30))  # 10 subsidy + 5 cash
        self.charge(self.bob, 7, date=datetime.datetime(2026, 5, 4, 15, 40))
        self.charge(self.bob, 3, merchant=self.shop, date=datetime.datetime(2026, 5, 4, 15, 45))
        self.charge(self.alice, 8, date=datetime.datetime(2026, 5, 4, 16, 30))  # next day locally
        self.assertBooksBalance()

        clearings = self.env["canteen.clearing"]._run(self.company, until=datetime.date(2026, 5, 4))
        summary = {
            (c.merchant_id.name, str(c.date), c.wallet_kind): (c.amount, c.entry_count) for c in clearings
        }
        self.assertEqual(
            summary,
            {
                ("Staff Canteen", "2026-05-04", "cash"): (12, 2),
                ("Staff Canteen", "2026-05-04", "subsidy"): (10, 1),
                ("Campus Shop", "2026-05-04", "cash"): (3, 1),
            },
        )
        canteen_cash = clearings.filtered(
            lambda c: c.merchant_id == self.merchant and c.wallet_kind == "cash"
        )
        lines = {(ln.account_id, ln.debit, ln.credit) for ln in canteen_cash.move_id.line_ids}
        self.assertEqual(
            lines,
            {(self.company.canteen_cash_liability_account_id, 12, 0), (self.merchant.account_id, 0, 12)},
        )
        self.assertEqual(canteen_cash.move_id.journal_id, self.company.canteen_cash_journal_id)
        self.assertTrue(all(canteen_cash.entry_ids.mapped("clearing_id")))
        self.assertBooksBalance()

        # A second run finds nothing new; the next day is cleared when its turn comes.
        self.assertFalse(self.env["canteen.clearing"]._run(self.company, until=datetime.date(2026, 5, 4)))
        with freeze_time("2026-05-06 03:00:00"):
            self.env["canteen.clearing"]._cron_clear()
        later = self.env["canteen.clearing"].search(
            [("company_id", "=", self.company.id), ("date", "=", "2026-05-05")]
        )
        self.assertEqual(later.amount, 8)

    def test_reconciliation_report_shows_uncleared_consumption(self):
        self.topup(self.alice, 40)
        self.charge(self.alice, 15, date=datetime.datetime(2026, 5, 4, 4, 0))
        row = self.env["canteen.reconciliation"].search(
            [("company_id", "=", self.company.id), ("wallet_kind", "=", "cash")]
        )
        self.assertEqual(
            (row.balance_total, row.entry_total, row.liability_balance, row.uncleared_total, row.difference),
            (25, 25, 40, 15, 0),
        )
        self.env["canteen.clearing"]._run(self.company, until=datetime.date(2026, 5, 4))
        self.env.flush_all()  # the report is an SQL view
        row.invalidate_recordset()
        self.assertEqual((row.liability_balance, row.uncleared_total, row.difference), (25, 0, 0))

    @mute_logger("odoo.sql_db")
    def test_cleared_entries_stay_immutable(self):
        self.topup(self.alice, 40)
        entries = self.charge(self.alice, 15, date=datetime.datetime(2026, 5, 4, 4, 0))
        self.env["canteen.clearing"]._run(self.company, until=datetime.date(2026, 5, 4))
        with self.assertRaises(Exception), self.cr.savepoint():  # noqa: B017 - the database trigger
            self.cr.execute("UPDATE canteen_ledger_entry SET clearing_id = NULL WHERE id = %s", [entries.id])

import datetime
from decimal import Decimal

from odoo.tests import tagged
from odoo.tools import SQL

from ..tools.ledger_core import CONSUMPTION_KINDS
from .common import CanteenCardCase

MAY_4 = datetime.date(2026, 5, 4)


def old_style_clearing(env, employee, merchant, amount, when):
    """Charge `amount` at `when` and clear it as the clearing run did before 08fb030: one entry in
    the cardholders' company, wallet liability against the merchant's account (the merchant's own
    or the cardholders' company's), nothing in the merchant's company."""
    env["canteen.ledger"]._charge(employee, Decimal(amount), merchant=merchant, date=when)
    company = employee.company_id
    env.flush_all()
    entries = env["canteen.ledger.entry"].search(
        [
            ("company_id", "=", company.id),
            ("merchant_id", "=", merchant.id),
            ("clearing_id", "=", False),
            ("kind", "in", CONSUMPTION_KINDS),
        ]
    )
    clearing = (
        env["canteen.clearing"]
        .sudo()
        .create(
            {
                "company_id": company.id,
                "merchant_id": merchant.id,
                "date": when.date(),
                "wallet_kind": "cash",
                "amount": -sum(entries.mapped("amount")),
                "entry_count": len(entries),
            }
        )
    )
    journal, liability = company._canteen_wallet_accounting("cash")
    clearing.move_id = clearing._post(
        company,
        journal,
        "old clearing",
        {"account_id": liability.id},
        {
            "account_id": merchant.account_id.id or company.canteen_merchant_account_id.id,
            "partner_id": merchant.partner_id.id,
        },
    )
    env.cr.execute(
        SQL("UPDATE canteen_ledger_entry SET clearing_id = %s WHERE id = ANY(%s)", clearing.id, entries.ids)
    )
    entries.invalidate_recordset(["clearing_id"])
    return clearing


@tagged("post_install", "-at_install")
class TestClearingMigration(CanteenCardCase):
    """migrations/18.0.1.1.0: a clearing made before intercompany clearing (a branch card at the
    parent's canteen, booked in the branch only, against the canteen's account) gets the books
    of a clearing made today, once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.resource_calendar_id.tz = "Asia/Shanghai"
        cls.north = cls._make_company("Mig North", parent=cls.company)
        cls.north_canteen = cls.env["canteen.merchant"].create(
            {"name": "Mig North Canteen", "company_id": cls.north.id}
        )
        cls.nora = cls._make_cardholder("Nora", "MIG-N1", cls.north)
        cls.topup(cls, cls.nora, 100)

    def old_clearing(self, employee, merchant, amount):
        return old_style_clearing(self.env, employee, merchant, amount, datetime.datetime(2026, 5, 4, 4, 0))

    def balance(self, company, account, partner=None):
        self.env.flush_all()
        domain = [
            ("company_id", "=", company.id),
            ("account_id", "=", account.id),
            ("parent_state", "=", "posted"),
        ]
        if partner is not None:
            domain.append(("partner_id", "=", partner.id))
        return sum(self.env["account.move.line"].search(domain).mapped("balance"))

    def lines(self, move):
        return {(line.account_id, line.partner_id, line.debit, line.credit) for line in move.line_ids}

    def test_old_intercompany_clearing_gets_both_companies_entries_once(self):
        hq, north = self.company, self.north
        old = self.old_clearing(self.nora, self.merchant, "12")
        own = self.old_clearing(self.nora, self.north_canteen, "3")  # her own company's: as before
        Clearing = self.env["canteen.clearing"]
        self.assertEqual(Clearing._old_intercompany_clearings(), old)
        payable, receivable = hq._canteen_intercompany_accounts()
        # In Odoo 18 a branch shares its root's chart: both canteens credit the same account, the
        # HQ canteen's 12 and North's own 3, all in North's books the old way.
        canteen_account = self.merchant.account_id
        self.assertEqual(self.north_canteen.account_id, canteen_account)
        self.assertEqual(self.balance(north, canteen_account), -15, "the old way: credited in North")
        self.assertEqual(self.balance(hq, canteen_account), 0)

        self.assertEqual(Clearing._migrate_old_intercompany_clearings(), old)
        self.assertEqual(old.correction_move_id.company_id, north)
        self.assertEqual(
            self.lines(old.correction_move_id),
            {(canteen_account, self.env["res.partner"], 12, 0), (payable, hq.partner_id, 0, 12)},
        )
        self.assertEqual(old.merchant_move_id.company_id, hq)
        self.assertEqual(
            self.lines(old.merchant_move_id),
            {(receivable, north.partner_id, 12, 0), (canteen_account, self.env["res.partner"], 0, 12)},
        )
        for move in old.correction_move_id | old.merchant_move_id:
            self.assertEqual((move.state, move.date, move.canteen_locked), ("posted", MAY_4, True))
        # The books of a clearing made today: North owes HQ 12, HQ's canteen is owed 12 in HQ.
        self.assertEqual(self.balance(north, canteen_account), -3, "North's own canteen only")
        self.assertEqual(self.balance(north, payable, hq.partner_id), -12)
        self.assertEqual(self.balance(hq, receivable, north.partner_id), 12)
        self.assertEqual(self.balance(hq, canteen_account), -12)
        self.assertFalse(own.merchant_move_id or own.correction_move_id)

        # Idempotent: a second run finds nothing and books nothing.
        moves = self.env["account.move"].search_count([])
        self.assertFalse(Clearing._old_intercompany_clearings())
        self.assertFalse(Clearing._migrate_old_intercompany_clearings())
        self.assertEqual(self.env["account.move"].search_count([]), moves)

    def test_new_clearings_untouched_and_locked_periods_respected(self):
        hq, north = self.company, self.north
        self.Ledger._charge(
            self.nora, Decimal("4"), merchant=self.merchant, date=datetime.datetime(2026, 5, 4, 4, 0)
        )
        new = self.env["canteen.clearing"]._run(north, until=MAY_4)
        self.assertTrue(new.merchant_move_id)
        old = self.old_clearing(self.nora, self.merchant, "5")
        lock = datetime.date(2026, 5, 31)
        (hq | north).sudo().write({"fiscalyear_lock_date": lock})
        self.assertEqual(self.env["canteen.clearing"]._migrate_old_intercompany_clearings(), old)
        self.assertEqual(
            set((old.correction_move_id | old.merchant_move_id).mapped("date")),
            {lock + datetime.timedelta(days=1)},
        )
        self.assertFalse(new.correction_move_id)

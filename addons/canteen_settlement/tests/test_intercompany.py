import datetime
from decimal import Decimal

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.canteen_card.tests.common import CanteenCardCase
from odoo.addons.canteen_card.tests.test_clearing_migration import old_style_clearing

MAY_4 = datetime.date(2026, 5, 4)


@tagged("post_install", "-at_install")
class TestIntercompanyClearing(CanteenCardCase):
    """Cards of one company spent at another company's merchants: the clearing posts in both
    companies, each company's books balance, the intercompany balances are netted, and an
    external merchant's statement settles such a clearing once, in the merchant's company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.resource_calendar_id.tz = "Asia/Shanghai"
        cls.north = cls._make_company("IC North", parent=cls.company)
        cls.south = cls._make_company("IC South", parent=cls.company)
        cls.north.canteen_cards_at_siblings = True
        cls.company.canteen_cards_at_branches = True
        cls.vendor = cls.env["res.partner"].create({"name": "South Catering Ltd"})
        Merchant = cls.env["canteen.merchant"]
        cls.south_shop = Merchant.create(
            {
                "name": "South Shop",
                "company_id": cls.south.id,
                "partner_id": cls.vendor.id,
                "settlement_type": "external",
                "settlement_period": "daily",
                "fee_percent": 10,
            }
        )
        cls.north_canteen = Merchant.create({"name": "North Canteen", "company_id": cls.north.id})
        cls.nora = cls._make_cardholder("Nora", "IC-N1", cls.north)
        cls.topup(cls, cls.nora | cls.alice, 100)
        g = "canteen_card.group_card_"
        everywhere = [cls.company, cls.north, cls.south]
        cls.finance = cls._user("ic_finance", f"{g}finance", everywhere)
        cls.operator = cls._user("ic_operator", f"{g}operator", everywhere)
        cls.north_finance = cls._user("ic_north_finance", f"{g}finance", [cls.north])
        elsewhere = cls.env["res.company"].create({"name": "IC Other Group"})
        cls.stranger = cls._user("ic_stranger", f"{g}finance", [elsewhere])

    def consume(self):
        """Nora (North) spends 12 at the HQ canteen and 5 at the South shop, Alice (HQ) 4 at the
        North canteen, and 3 at her own canteen, on 4 May (local noon)."""
        when = datetime.datetime(2026, 5, 4, 4, 0)
        for employee, amount, merchant in (
            (self.nora, "12", self.merchant),
            (self.nora, "5", self.south_shop),
            (self.alice, "4", self.north_canteen),
            (self.alice, "3", self.merchant),
        ):
            self.Ledger._charge(employee, Decimal(amount), merchant=merchant, date=when)
        return self.env["canteen.clearing"]._run(self.company | self.north | self.south, until=MAY_4)

    def lines(self, move):
        return {(line.account_id, line.partner_id, line.debit, line.credit) for line in move.line_ids}

    def ic_balances(self, company, other):
        wizard = self.env["canteen.intercompany.netting.wizard"].create(
            {"company_id": company.id, "other_company_id": other.id, "date": MAY_4}
        )
        return wizard.payable_amount, wizard.receivable_amount, wizard.net_amount

    def test_clearing_posts_in_both_companies(self):
        clearings = self.consume()
        self.assertEqual(len(clearings), 4)
        by_merchant = {(c.company_id, c.merchant_id): c for c in clearings}
        hq, north, south = self.company, self.north, self.south
        payable, receivable = hq.canteen_ic_payable_account_id, hq.canteen_ic_receivable_account_id
        self.assertTrue(payable and receivable)
        self.assertEqual(
            (north.canteen_ic_payable_account_id, south.canteen_ic_receivable_account_id),
            (payable, receivable),
        )

        # Nora at the HQ canteen: North owes HQ 12; HQ's canteen is owed 12 by North.
        at_hq = by_merchant[north, self.merchant]
        self.assertEqual((at_hq.amount, at_hq.merchant_company_id), (12, hq))
        self.assertEqual((at_hq.move_id.company_id, at_hq.merchant_move_id.company_id), (north, hq))
        self.assertEqual(
            self.lines(at_hq.move_id),
            {
                (north.canteen_cash_liability_account_id, self.env["res.partner"], 12, 0),
                (payable, hq.partner_id, 0, 12),
            },
        )
        self.assertEqual(
            self.lines(at_hq.merchant_move_id),
            {
                (receivable, north.partner_id, 12, 0),
                (self.merchant.account_id, self.env["res.partner"], 0, 12),
            },
        )
        # Nora at the South shop (external, with a partner), Alice (HQ) at the North canteen.
        at_south = by_merchant[north, self.south_shop]
        self.assertEqual(
            self.lines(at_south.merchant_move_id),
            {(receivable, north.partner_id, 5, 0), (self.south_shop.account_id, self.vendor, 0, 5)},
        )
        self.assertEqual(by_merchant[hq, self.north_canteen].merchant_move_id.company_id, north)
        # Alice at her own canteen: one entry, as before.
        own = by_merchant[hq, self.merchant]
        self.assertFalse(own.merchant_move_id)
        self.assertEqual(own.move_id.company_id, hq)
        for move in clearings.move_id | clearings.merchant_move_id:
            self.assertEqual(move.state, "posted")
            self.assertTrue(move.canteen_locked)

        # Each company's entries balance on their own; the reconciliation is 0 per company and wallet.
        self.env.flush_all()
        for company in (hq, north, south):
            items = self.env["account.move.line"].search([("company_id", "=", company.id)])
            self.assertAlmostEqual(sum(items.mapped("debit")), sum(items.mapped("credit")))
            rows = self.env["canteen.reconciliation"].search(
                [("company_id", "=", company.id), ("wallet_kind", "!=", False)]
            )
            self.assertEqual(len(rows), 2)
            self.assertEqual(rows.mapped("difference"), [0, 0])
        self.assertEqual(self.ic_balances(north, hq), (12, 4, 8))
        self.assertEqual(self.ic_balances(hq, north), (4, 12, -8))
        self.assertEqual(self.ic_balances(south, north), (0, 5, -5))

        # Branch users see the clearings of their merchants booked by another company.
        north_finance = self.env(user=self.north_finance, context={"allowed_company_ids": [north.id]})
        seen = north_finance["canteen.clearing"].search([("id", "in", clearings.ids)])
        self.assertEqual(
            seen, by_merchant[north, self.merchant] | at_south | by_merchant[hq, self.north_canteen]
        )

    def test_netting_between_two_companies(self):
        self.consume()
        hq, north = self.company, self.north
        wizard = self.env(user=self.finance, context={"allowed_company_ids": [hq.id, north.id]})[
            "canteen.intercompany.netting.wizard"
        ].create({"company_id": hq.id, "other_company_id": north.id, "date": MAY_4})
        wizard.journal_id = wizard._default_journal(hq)
        wizard.other_journal_id = wizard._default_journal(north)
        self.assertEqual((wizard.payable_amount, wizard.receivable_amount, wizard.net_amount), (4, 12, -8))
        # Not Card Finance, or not of both companies: refused, whatever the client sends.
        with self.assertRaises(AccessError):
            self.env(user=self.operator)["canteen.intercompany.netting.wizard"].create(
                {"company_id": hq.id, "other_company_id": north.id}
            )
        with self.assertRaises(AccessError):
            wizard.with_user(self.operator).action_post()
        for user in (self.north_finance, self.stranger):
            env = self.env(user=user, context={"allowed_company_ids": user.company_ids.ids})
            own = env["canteen.intercompany.netting.wizard"].create(
                {"company_id": hq.id, "other_company_id": north.id, "journal_id": wizard.journal_id.id}
            )
            self.assertEqual(own.net_amount, 0, "the amounts show to Card Finance of both companies only")
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                own.action_post()
        self.assertEqual(self.ic_balances(hq, north), (4, 12, -8))

        action = wizard.action_post()
        moves = self.env["account.move"].browse(action["domain"][0][2])
        self.assertEqual(moves.mapped("company_id"), hq | north)
        hq_move = moves.filtered(lambda m: m.company_id == hq)
        north_move = moves - hq_move
        accounts = hq._canteen_intercompany_accounts()
        self.assertEqual(
            self.lines(hq_move),
            {
                (accounts[0], north.partner_id, 4, 0),
                (accounts[1], north.partner_id, 0, 12),
                (wizard.journal_id.default_account_id, north.partner_id, 8, 0),
            },
        )
        self.assertEqual(
            self.lines(north_move),
            {
                (accounts[0], hq.partner_id, 12, 0),
                (accounts[1], hq.partner_id, 0, 4),
                (wizard.other_journal_id.default_account_id, hq.partner_id, 0, 8),
            },
        )
        self.assertEqual(self.ic_balances(hq, north), (0, 0, 0))
        self.assertEqual(self.ic_balances(north, hq), (0, 0, 0))
        self.assertEqual(self.ic_balances(north, self.south), (5, 0, 5), "other pairs untouched")
        with self.assertRaisesRegex(UserError, "owe each other nothing"):
            wizard.action_post()

    def test_intercompany_clearing_is_settled_once_in_the_merchants_company(self):
        self.consume()
        # A branch gets no purchase journal with its chart: South's bills need one.
        self.env["account.journal"].create(
            {"name": "South Purchases", "code": "SPUR", "type": "purchase", "company_id": self.south.id}
        )
        statement = self.south_shop._settle_due(today=datetime.date(2026, 5, 5))
        self.assertEqual(len(statement), 1)
        self.assertEqual((statement.company_id, statement.amount, statement.fee_amount), (self.south, 5, 0.5))
        self.assertEqual(statement.clearing_ids.company_id, self.north)
        self.assertFalse(
            self.south_shop._settle_due(today=datetime.date(2026, 5, 6)), "nothing settled twice"
        )
        with freeze_time("2026-05-06 03:00:00"):
            statement.action_confirm()
        bill = statement.move_id
        self.assertEqual(
            (bill.company_id, bill.partner_id, bill.amount_total), (self.south, self.vendor, 4.5)
        )
        # The shop's account in South: credited 5 by the clearing, debited 5 by the bill.
        self.env.flush_all()
        items = self.env["account.move.line"].search(
            [
                ("company_id", "=", self.south.id),
                ("account_id", "=", self.south_shop.account_id.id),
                ("parent_state", "=", "posted"),
            ]
        )
        self.assertAlmostEqual(sum(items.mapped("balance")), 0)

    def test_old_clearing_settled_once_after_the_upgrade(self):
        """A clearing made before intercompany clearing (North's card at the South shop, booked
        in North only) is settled by no statement; once the upgrade has corrected it, the South
        shop's statement settles it once, and the two companies owe each other its amount."""
        when = datetime.datetime(2026, 5, 4, 4, 0)
        old = old_style_clearing(self.env, self.nora, self.south_shop, "5", when)
        self.env["account.journal"].create(
            {"name": "South Purchases", "code": "SPUR", "type": "purchase", "company_id": self.south.id}
        )
        self.assertFalse(self.south_shop._settle_due(today=datetime.date(2026, 5, 5)))
        self.assertEqual(self.env["canteen.clearing"]._migrate_old_intercompany_clearings(), old)
        statement = self.south_shop._settle_due(today=datetime.date(2026, 5, 6))
        self.assertEqual(
            (statement.company_id, statement.amount, statement.fee_amount, statement.clearing_ids),
            (self.south, 5, 0.5, old),
        )
        self.assertFalse(self.env["canteen.clearing"]._migrate_old_intercompany_clearings())
        self.assertFalse(self.south_shop._settle_due(today=datetime.date(2026, 5, 7)), "settled once")
        self.assertEqual(self.ic_balances(self.north, self.south), (5, 0, 5))
        self.assertEqual(self.ic_balances(self.south, self.north), (0, 5, -5))

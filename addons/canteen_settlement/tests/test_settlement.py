import datetime
from decimal import Decimal

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from odoo.addons.canteen_card.tests.common import CanteenCardCase

MAY_4 = datetime.date(2026, 5, 4)  # a Monday


@tagged("post_install", "-at_install")
class TestSettlement(CanteenCardCase):
    """An outsourced canteen settled weekly with a 2 % + 0.10 fee; the staff canteen is internal."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.resource_calendar_id.tz = "Asia/Shanghai"
        cls.vendor = cls.env["res.partner"].create({"name": "Outsourced Catering Ltd"})
        cls.outsourced = cls.env["canteen.merchant"].create(
            {
                "name": "Outsourced Canteen",
                "company_id": cls.company.id,
                "partner_id": cls.vendor.id,
                "settlement_type": "external",
                "settlement_period": "weekly",
                "fee_percent": 2,
                "fee_fixed": 0.10,
            }
        )
        # A branch without a chart of accounts is enough for its finance user.
        cls.north = cls.env["res.company"].create({"name": "North", "parent_id": cls.company.id})
        g = "canteen_card.group_card_"
        cls.finance = cls._user("finance", f"{g}finance", [cls.company, cls.north])
        cls.north_finance = cls._user("north_finance", f"{g}finance", [cls.north])
        cls.operator = cls._user("operator", f"{g}operator", [cls.company])
        cls.auditor = cls._user("auditor", f"{g}auditor", [cls.company])
        cls._consume_first_week()

    def as_user(self, user):
        return self.env(user=user, context={"allowed_company_ids": user.company_ids.ids})

    @classmethod
    def _charge_at(cls, when, employee, amount, meal, merchant=None):
        with freeze_time(when):
            return cls.Ledger._charge(
                employee,
                Decimal(amount),
                merchant=merchant or cls.outsourced,
                values={"meal_kind": meal},
            )

    @classmethod
    def _consume_first_week(cls):
        """Charged 15 + 7 + 5 = 27 in three charges (one split over subsidy and cash), 3 given
        back by a correction: 24 cleared. At the internal canteen: 8."""
        cls.topup(cls, cls.alice | cls.bob, 100)
        cls.grant(cls, 10, employees=cls.alice)
        # Local (Shanghai) days: 04:00 UTC is noon, 11:00 UTC is 19:00.
        cls._charge_at("2026-05-04 04:00:00", cls.alice, 15, "lunch")
        bob_dinner = cls._charge_at("2026-05-04 11:00:00", cls.bob, 7, "dinner")
        with freeze_time("2026-05-04 12:00:00"):
            cls.Ledger._correct(bob_dinner, 4)
        cls._charge_at("2026-05-05 00:30:00", cls.alice, 5, "breakfast")
        cls._charge_at("2026-05-05 04:00:00", cls.bob, 8, "lunch", merchant=cls.merchant)

    def test_weekly_settlement_with_fee_and_vendor_bill(self):
        Settlement = self.env["canteen.settlement"]
        # The week is not over on Sunday: nothing is due.
        self.assertFalse(self.outsourced._settle_due(today=datetime.date(2026, 5, 10)))
        statement = self.outsourced._settle_due(today=datetime.date(2026, 5, 11))
        self.assertEqual(len(statement), 1)
        self.assertEqual((statement.date_from, statement.date_to), (MAY_4, datetime.date(2026, 5, 10)))
        self.assertEqual(
            (
                statement.charge_count,
                statement.charge_amount,
                statement.correction_count,
                statement.correction_amount,
                statement.amount,
            ),
            (3, 27, 1, 3, 24),
        )
        # 2 % of 24 = 0.48, plus 3 charges x 0.10 = 0.30.
        self.assertEqual((statement.fee_amount, statement.net_amount), (0.78, 23.22))
        lines = {
            (str(ln.date), ln.meal_kind): (ln.charge_count, ln.charge_amount, ln.correction_amount, ln.amount)
            for ln in statement.line_ids
        }
        self.assertEqual(
            lines,
            {
                ("2026-05-04", "lunch"): (1, 15, 0, 15),
                ("2026-05-04", "dinner"): (1, 7, 3, 4),
                ("2026-05-05", "breakfast"): (1, 5, 0, 5),
            },
        )
        # The statement covers exactly the ledger entries of its clearings, and they add up.
        entries = self.env["canteen.ledger.entry"].search([("clearing_id", "in", statement.clearing_ids.ids)])
        self.assertEqual(len(entries), 5)  # 15 = 10 subsidy + 5 cash, 7, correction, 5
        self.assertEqual(-sum(entries.mapped("amount")), statement.amount)
        self.assertEqual(sum(statement.clearing_ids.mapped("amount")), statement.amount)
        self.assertEqual(entries.merchant_id, self.outsourced)
        self.assertFalse(statement.move_id, "nothing is booked before confirmation")

        statement.with_user(self.finance).action_confirm()
        bill = statement.move_id
        self.assertEqual((statement.state, bill.state, bill.move_type), ("confirmed", "posted", "in_invoice"))
        self.assertEqual(
            (bill.partner_id, bill.amount_total, bill.invoice_date), (self.vendor, 23.22, statement.date_to)
        )
        self.assertTrue(bill.canteen_locked)
        booked = {(ln.account_id, ln.debit, ln.credit) for ln in bill.line_ids}
        self.assertEqual(
            booked,
            {
                (self.outsourced.account_id, 24, 0),
                (self.company.canteen_settlement_fee_account_id, 0, 0.78),
                (self.vendor.with_company(self.company).property_account_payable_id, 0, 23.22),
            },
        )
        with self.assertRaises(UserError):
            statement.with_user(self.finance).action_confirm()
        # Nothing is settled twice: the same period again, the run again, the method directly.
        self.assertFalse(Settlement._settle(self.outsourced, MAY_4, datetime.date(2026, 5, 10)))
        self.assertFalse(self.outsourced._settle_due(today=datetime.date(2026, 5, 11)))
        self.assertFalse(self.outsourced._settle_due(today=datetime.date(2026, 5, 20)))
        self.assertEqual(Settlement.search([("merchant_id", "=", self.outsourced.id)]), statement)

    def test_late_record_settled_once_in_the_next_statement(self):
        first = self.outsourced._settle_due(today=datetime.date(2026, 5, 11))
        # An offline record of May 5th arrives late, and a charge of the second week.
        self.charge(self.bob, 6, merchant=self.outsourced, date=datetime.datetime(2026, 5, 5, 5, 0))
        self.charge(self.bob, 2, merchant=self.outsourced, date=datetime.datetime(2026, 5, 12, 5, 0))
        second = self.outsourced._settle_due(today=datetime.date(2026, 5, 18))
        self.assertEqual(second.date_from, datetime.date(2026, 5, 11))
        self.assertEqual((second.amount, second.late_clearing_count), (8, 1))
        self.assertFalse(first.clearing_ids & second.clearing_ids)
        cleared = self.env["canteen.clearing"].search([("merchant_id", "=", self.outsourced.id)])
        self.assertEqual(cleared, first.clearing_ids | second.clearing_ids, "everything cleared is settled")

    def test_cancel_gives_clearings_back(self):
        statement = self.outsourced._settle_due(today=datetime.date(2026, 5, 11))
        clearings = statement.clearing_ids
        statement.with_user(self.finance).action_cancel()
        self.assertEqual(statement.state, "cancel")
        self.assertFalse(clearings.settlement_id)
        again = self.outsourced._settle_due(today=datetime.date(2026, 5, 11))
        self.assertEqual((again.clearing_ids, again.net_amount), (clearings, 23.22))

    def test_internal_merchants_never_settled(self):
        self.env["canteen.clearing"]._run(self.company, until=datetime.date(2026, 5, 10))
        self.assertFalse(self.merchant._settle_due(today=datetime.date(2026, 6, 1)))
        self.assertFalse(
            self.env["canteen.settlement"]._settle(self.merchant, MAY_4, datetime.date(2026, 5, 10))
        )
        self.env["canteen.merchant"]._cron_settle()
        internal = self.env["canteen.clearing"].search([("merchant_id", "=", self.merchant.id)])
        self.assertTrue(internal)
        self.assertFalse(internal.settlement_id)

    def test_external_merchant_needs_partner_and_sane_fee(self):
        with self.assertRaises(ValidationError):
            self.env["canteen.merchant"].create(
                {"name": "Kiosk", "company_id": self.company.id, "settlement_type": "external"}
            )
        with self.assertRaises(ValidationError):
            self.outsourced.fee_percent = 150

    def test_access(self):
        with freeze_time("2026-05-11 03:00:00"):
            # The operator cannot run settlements; Card Finance can.
            with self.assertRaises(AccessError):
                self.outsourced.with_env(self.as_user(self.operator)).action_run_settlement()
            self.outsourced.with_env(self.as_user(self.finance)).action_run_settlement()
        statement = self.env["canteen.settlement"].search([("merchant_id", "=", self.outsourced.id)])
        self.assertEqual(len(statement), 1)
        for user in (self.operator, self.auditor, self.north_finance):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                statement.with_env(self.as_user(user)).action_confirm()
        # The branch's finance user neither sees the HQ statement nor settles the HQ merchant.
        self.assertFalse(self.as_user(self.north_finance)["canteen.settlement"].search([]))
        with self.assertRaises(AccessError):
            self.outsourced.with_env(self.as_user(self.north_finance)).action_run_settlement()
        finance = self.as_user(self.finance)
        with self.assertRaises(AccessError):
            statement.with_env(finance).write({"net_amount": 1000})
        with self.assertRaises(AccessError):
            statement.with_env(finance).unlink()
        with self.assertRaises(AccessError):
            finance["canteen.settlement"].create(
                {
                    "merchant_id": self.outsourced.id,
                    "company_id": self.company.id,
                    "date_from": MAY_4,
                    "date_to": MAY_4,
                }
            )
        with self.assertRaises(AccessError):
            statement.line_ids[:1].with_env(finance).write({"amount": 1})
        with self.assertRaises(AccessError):
            statement.clearing_ids[:1].with_env(finance).write({"settlement_id": False})
        self.assertEqual(statement.state, "draft")
        statement.with_env(finance).action_confirm()
        self.assertEqual(statement.move_id.amount_total, 23.22)

    def test_statement_pdf_html(self):
        def html(statement):
            report = self.env["ir.actions.report"]
            return report._render_qweb_html("canteen_settlement.action_report_settlement", statement.ids)[
                0
            ].decode()

        # Made by the daily job (as OdooBot): nobody is named as its preparer, who signs by hand.
        statement = self.outsourced._settle_due(today=datetime.date(2026, 5, 11))
        text = html(statement)
        self.assertIn("Merchant Settlement Statement", text)
        self.assertIn("23.22", text)
        self.assertIn(statement.name, text)
        self.assertIn("<th>Meal</th>", text)
        self.assertFalse(statement.prepared_by_id)
        self.assertNotIn(self.env.ref("base.user_root").name, text)
        statement.with_env(self.as_user(self.finance)).action_confirm()
        self.assertIn(self.finance.name, html(statement), "checked by whoever confirmed it")

        # A shop without meal periods, settled by Card Finance: no Meal column, prepared by them.
        shop = self.env["canteen.merchant"].create(
            {
                "name": "Campus Shop",
                "kind": "shop",
                "company_id": self.company.id,
                "partner_id": self.vendor.id,
                "settlement_type": "external",
                "settlement_period": "daily",
            }
        )
        with freeze_time("2026-05-06 04:00:00"):
            self.Ledger._charge(self.bob, Decimal(3), merchant=shop)
        with freeze_time("2026-05-08 03:00:00"):
            shop.with_env(self.as_user(self.finance)).action_run_settlement()
        shop_statement = self.env["canteen.settlement"].search([("merchant_id", "=", shop.id)])
        self.assertEqual((shop_statement.amount, shop_statement.prepared_by_id), (3, self.finance))
        text = html(shop_statement)
        self.assertNotIn("<th>Meal</th>", text)
        self.assertIn(self.finance.name, text)

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest.mock import patch

import openpyxl
import pytz

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.canteen_card.tests.common import CanteenCardCase
from odoo.addons.canteen_pos_bridge.tools import charge_engine
from odoo.addons.canteen_pos_bridge.tools.sql_unit import Unit

from ..wizard import canteen_report_wizard

TZ = pytz.timezone("Asia/Shanghai")


@tagged("post_install", "-at_install")
class TestReports(CanteenCardCase):
    """A known data set: a headquarters and a branch, each with a canteen whose meal periods
    cover the day, charges by terminal (online and offline), by the cashier engine, manual
    entries and corrections, top-ups and subsidies. Every report total is checked against the
    ledger entries it covers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.branch = cls._make_company("Canteen Test Branch", parent=cls.company)
        for company in cls.company | cls.branch:
            company.partner_id.tz = "Asia/Shanghai"
            company.resource_calendar_id.tz = "Asia/Shanghai"
        cls.env.user.company_ids |= cls.branch
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=[cls.company.id, cls.branch.id]))
        cls.department = cls.env["hr.department"].create({"name": "Kitchen", "company_id": cls.company.id})
        cls.alice.department_id = cls.department
        cls.branch_merchant = cls.env["canteen.merchant"].create(
            {"name": "Branch Canteen", "company_id": cls.branch.id}
        )
        cls.carol = cls._make_cardholder("Carol", "C003", cls.branch)
        cls.terminals = {}
        for merchant, company, serial in (
            (cls.merchant, cls.company, "REP-HQ"),
            (cls.branch_merchant, cls.branch, "REP-BR"),
        ):
            for kind, start, end in (
                ("breakfast", 0, 10),
                ("lunch", 10, 15),
                ("dinner", 15, 21),
                ("late_night", 21, 24),
            ):
                cls.env["canteen.meal.period"].create(
                    {"kind": kind, "merchant_id": merchant.id, "hour_from": start, "hour_to": end}
                )
            cls.terminals[serial] = cls.env["canteen.terminal"].create(
                {
                    "name": serial,
                    "number": len(cls.terminals) + 1,
                    "serial": serial,
                    "company_id": company.id,
                    "merchant_id": merchant.id,
                }
            )
        cls.seq = 0
        cls.load_data()

    # the data set, written once for every test --------------------------------------------------
    @classmethod
    def engine_terminal(cls, serial):
        cls.env.flush_all()
        return charge_engine.load_terminal(cls.env.cr, serial)

    @classmethod
    def request(cls, employee, amount, moment=None):
        cls.seq += 1
        return {
            "seq": cls.seq,
            "identity": {"type": "employee", "value": employee.employee_no},
            "occurred_at": (moment or datetime.now(UTC)).isoformat(),
            "amount": amount,
        }

    @classmethod
    def terminal_charge(cls, serial, employee, amount):
        answer = charge_engine.charge(
            Unit.savepoint(cls.env.cr, "report_test"),
            cls.engine_terminal(serial),
            cls.request(employee, amount),
        )
        cls.env.invalidate_all()
        cls.answers.append(answer["status"])

    @classmethod
    def offline(cls, serial, employee, amount, local_hour, days_ago=1):
        day = datetime.now(TZ).date() - timedelta(days=days_ago)
        moment = TZ.localize(datetime(day.year, day.month, day.day, local_hour, 30))
        results = charge_engine.upload(
            Unit.savepoint(cls.env.cr, "report_upload"),
            cls.engine_terminal(serial),
            [cls.request(employee, amount, moment)],
        )
        cls.env.invalidate_all()
        cls.answers.append(results[0]["status"])
        return day

    @classmethod
    def manual(cls, employee, merchant, amount):
        # At noon the day before, the merchant's periods make it lunch.
        day = datetime.now(TZ).date() - timedelta(days=1)
        noon = TZ.localize(datetime(day.year, day.month, day.day, 12, 0)).astimezone(pytz.utc)
        wizard = cls.env["canteen.manual.entry.wizard"].create(
            {
                "employee_id": employee.id,
                "merchant_id": merchant.id,
                "terminal_ref": "7",
                "date": noon.replace(tzinfo=None),
                "amount": amount,
            }
        )
        cls.manual_meal_at_noon = wizard.meal_kind
        # Recorded now (a correction must be within its window), for lunch as the operator says.
        wizard.write({"date": fields.Datetime.now() - timedelta(minutes=1), "meal_kind": "lunch"})
        wizard.action_confirm()

    @classmethod
    def load_data(cls):
        cls.answers = []
        CanteenCardCase.topup(cls, cls.alice | cls.bob, 100)
        CanteenCardCase.topup(cls, cls.carol, 50)
        CanteenCardCase.grant(cls, 12, employees=cls.alice | cls.carol)
        cls.terminal_charge("REP-HQ", cls.alice, "15.00")  # 12 subsidy + 3 cash: two entries, one charge
        cls.terminal_charge("REP-HQ", cls.bob, "8.50")
        cls.terminal_charge("REP-BR", cls.carol, "6.00")
        cls.breakfast_day = cls.offline("REP-HQ", cls.bob, "4.00", 7)
        cls.offline("REP-BR", cls.carol, "9.00", 19, days_ago=3)
        cls.manual(cls.bob, cls.merchant, "11.00")
        charge = cls.env["canteen.ledger.entry"].search(
            [("employee_id", "=", cls.bob.id), ("kind", "=", "charge"), ("terminal_ref", "=", "7")]
        )
        cls.env["canteen.correction.wizard"].create({"entry_id": charge.id, "new_amount": 7}).action_confirm()

    def filters(self, **extra):
        today = datetime.now(TZ).date()
        return dict({"date_from": today - timedelta(days=10), "date_to": today + timedelta(days=1)}, **extra)

    def ledger_sum(self, domain):
        # The test's companies only: a database with demo data holds other companies' entries.
        scope = [("company_id", "in", (self.company | self.branch).ids)]
        entries = self.env["canteen.ledger.entry"].sudo().search(scope + domain)
        return sum((Decimal(str(e.amount)) for e in entries), Decimal("0.00")), sum(
            entries.mapped("charge_count")
        )

    # item 3 of issue 11 --------------------------------------------------------------------------
    def test_every_consumption_lands_in_the_ledger_with_meal_day_terminal_department(self):
        breakfast_day = self.breakfast_day
        self.assertEqual(self.answers, ["approved"] * 3 + ["accepted"] * 2)
        self.assertEqual(self.manual_meal_at_noon, "lunch")
        Entry = self.env["canteen.ledger.entry"]
        alice = Entry.search([("employee_id", "=", self.alice.id), ("kind", "=", "charge")])
        self.assertEqual(len(alice), 2, "15.00 paid from both wallets")
        self.assertEqual(sum(alice.mapped("charge_count")), 1, "two entries, one charge")
        self.assertEqual(alice.terminal_id, self.terminals["REP-HQ"])
        self.assertEqual(alice.department_id, self.department)
        self.assertTrue(alice[0].meal_kind)
        self.assertEqual(alice.mapped("business_date"), [datetime.now(TZ).date()] * 2)
        offline = Entry.search(
            [
                ("employee_id", "=", self.bob.id),
                ("meal_kind", "=", "breakfast"),
                ("business_date", "=", breakfast_day),
            ]
        )
        self.assertEqual((offline.business_date, offline.amount), (breakfast_day, -4.0))
        manual = Entry.search([("terminal_ref", "=", "7"), ("kind", "=", "charge")])
        self.assertEqual((manual.meal_kind, manual.charge_count), ("lunch", 1))
        self.assertEqual(manual.business_date, (datetime.now(TZ) - timedelta(minutes=1)).date())
        correction = Entry.search([("kind", "=", "correction")])
        self.assertEqual(
            (correction.meal_kind, correction.amount, correction.charge_count), ("lunch", 4.0, 0)
        )
        self.assertEqual(correction.business_date, datetime.now(TZ).date())
        self.assertFalse(Entry.search([("business_date", "=", False)]), "every entry has its day")

    # every total equals the ledger -----------------------------------------------------------------
    def test_summaries_equal_the_ledger_per_company_and_wallet(self):
        Report = self.env["canteen.report"]
        consumption = [("kind", "in", ("charge", "correction"))]
        for company in (self.company, self.branch):
            filters = self.filters(company_ids=[company.id])
            scope = [("company_id", "child_of", company.id)]  # a company and its branches
            for kind in ("daily_meal", "person_meal", "department_meal"):
                table = Report._summary(kind, filters)
                count, cash, subsidy, total = table["totals"][-4:]
                cash_sum, count_sum = self.ledger_sum(consumption + scope + [("wallet_kind", "=", "cash")])
                subsidy_sum, subsidy_count = self.ledger_sum(
                    consumption + scope + [("wallet_kind", "=", "subsidy")]
                )
                self.assertEqual((cash, subsidy), (-cash_sum, -subsidy_sum), (company.name, kind))
                self.assertEqual(total, -(cash_sum + subsidy_sum))
                self.assertEqual(count, count_sum + subsidy_count)
                # the rows add up to the totals
                for column, value in enumerate(table["totals"]):
                    self.assertEqual(sum(row[1][column] for row in table["rows"]), value)
            topups = Report._summary("daily_topup", filters)
            for wallet, column in (("cash", 6), ("subsidy", 7)):
                expected, _count = self.ledger_sum(
                    [
                        *scope,
                        ("kind", "in", ("topup", "refund", "subsidy_grant", "subsidy_expiry")),
                        ("wallet_kind", "=", wallet),
                    ]
                )
                self.assertEqual(topups["totals"][column], expected)
            merchants = Report._summary("merchant_day", filters)
            charged, count = self.ledger_sum(consumption + scope)
            self.assertEqual(merchants["totals"][:2], [count, -charged])
            self.assertEqual(merchants["totals"][2] + merchants["totals"][3], -charged)
            # the monthly bill: every entry, in and out of each wallet
            bill = Report._summary("person_bill", filters)
            count, cash_in, cash_out, subsidy_in, subsidy_out, received, spent, net = bill["totals"]
            for wallet, incoming, outgoing in (
                ("cash", cash_in, cash_out),
                ("subsidy", subsidy_in, subsidy_out),
            ):
                positive, _count = self.ledger_sum([*scope, ("wallet_kind", "=", wallet), ("amount", ">", 0)])
                negative, _count = self.ledger_sum([*scope, ("wallet_kind", "=", wallet), ("amount", "<", 0)])
                self.assertEqual((incoming, outgoing), (positive, -negative), (company.name, wallet))
            everything, charges = self.ledger_sum(scope)
            self.assertEqual((net, received - spent, count), (everything, everything, charges))
            for column, value in enumerate(bill["totals"]):
                self.assertEqual(sum(row[1][column] for row in bill["rows"]), value)
        # known figures: HQ consumed 15 + 8.50 + 4 + 11 - 4 = 34.50 in four charges, its branch 6 + 9
        group = Report._summary("daily_meal", self.filters(company_ids=[self.company.id]))
        self.assertEqual((group["totals"][-4], group["totals"][-1]), (6, Decimal("49.50")))
        branch = Report._summary("daily_meal", self.filters(company_ids=[self.branch.id]))
        self.assertEqual((branch["totals"][-4], branch["totals"][-1]), (2, Decimal("15.00")))

    def test_filters_department_meal_and_person(self):
        breakfast_day = self.breakfast_day
        Report = self.env["canteen.report"]
        kitchen = Report._summary("person_meal", self.filters(department_id=self.department.id))
        self.assertEqual([row[0][1] for row in kitchen["rows"]], ["Alice"])
        self.assertEqual(kitchen["totals"][-1], Decimal("15.00"))
        breakfast = Report._summary(
            "daily_meal", {"date_from": breakfast_day, "date_to": breakfast_day, "meal_kind": "breakfast"}
        )
        self.assertEqual(breakfast["totals"][-1], Decimal("4.00"))

    def test_canteen_filter_and_bill_of_one_person(self):
        Report = self.env["canteen.report"]
        branch = Report._summary("daily_meal", self.filters(canteen_ids=[self.branch_merchant.id]))
        self.assertEqual({row[0][1] for row in branch["rows"]}, {"Branch Canteen"})
        self.assertEqual(branch["totals"][-1], Decimal("15.00"))
        # a canteen and a merchant named together: both hold
        none = Report._summary(
            "daily_meal", self.filters(canteen_ids=[self.branch_merchant.id], merchant_ids=[self.merchant.id])
        )
        self.assertEqual(none["rows"], [])
        # Carol's bill: 50 topped up and 12 granted, 6 + 9 spent
        bill = Report._summary("person_bill", self.filters(employee_id=self.carol.id))
        self.assertEqual([row[0][:2] for row in bill["rows"]], [["C003", "Carol"]])
        self.assertEqual(
            bill["totals"][5:], [Decimal("62.00"), Decimal("15.00"), Decimal("47.00")], bill["totals"]
        )
        lines = [
            row
            for batch in Report._detail_rows("detail_bill", self.filters(employee_id=self.carol.id))
            for row in batch
        ]
        self.assertEqual(sum(Decimal(row[13]) for row in lines), Decimal("47.00"))
        # the wizard's canteen field reaches the engine, and the view shows the same entries
        wizard = self.wizard("person_bill", canteen_ids=[(6, 0, self.branch_merchant.ids)])
        self.assertEqual(wizard._filters()["canteen_ids"], self.branch_merchant.ids)
        entries = self.env["canteen.ledger.entry"].search(wizard.action_view()["domain"])
        self.assertEqual(entries.merchant_id, self.branch_merchant)

    # branch isolation ---------------------------------------------------------------------------
    def test_branch_manager_sees_only_their_branch(self):
        manager = self._user("branch_reports", "canteen_report.group_report_reader", [self.branch])
        Report = (
            self.env["canteen.report"].with_user(manager).with_context(allowed_company_ids=[self.branch.id])
        )
        table = Report._summary("daily_meal", self.filters())
        self.assertEqual({row[0][1] for row in table["rows"]}, {"Branch Canteen"})
        self.assertEqual(table["totals"][-1], Decimal("15.00"))
        # naming the headquarters adds nothing of it: record rules hold
        table = Report._summary("daily_meal", self.filters(company_ids=[self.company.id]))
        self.assertEqual(table["totals"][-1], Decimal("15.00"))
        details = [row for batch in Report._detail_rows("detail_charge", self.filters()) for row in batch]
        self.assertEqual({row[3] for row in details}, {"Carol"})
        wizard = (
            self.env["canteen.report.wizard"]
            .with_user(manager)
            .with_context(allowed_company_ids=[self.branch.id])
            .create({"company_ids": [(6, 0, [self.company.id])]})
        )
        with self.assertRaises(AccessError):
            wizard.action_export()
        # a plain employee may not run reports
        clerk = self._user("no_reports", "base.group_user", [self.company])
        with self.assertRaises(AccessError):
            self.env["canteen.report.wizard"].with_user(clerk).create({}).action_view()

    # outputs ------------------------------------------------------------------------------------
    def wizard(self, kind, **values):
        today = datetime.now(TZ).date()
        return self.env["canteen.report.wizard"].create(
            dict(
                {
                    "report_kind": kind,
                    "date_from": today - timedelta(days=10),
                    "date_to": today + timedelta(days=1),
                },
                **values,
            )
        )

    def test_view_opens_the_entries_behind_the_report(self):
        action = self.wizard("daily_meal", meal_kind="breakfast").action_view()
        self.assertEqual(action["res_model"], "canteen.ledger.entry")
        entries = self.env["canteen.ledger.entry"].search(action["domain"])
        self.assertTrue(entries)
        self.assertEqual(set(entries.mapped("meal_kind")), {"breakfast"})
        self.assertEqual(set(entries.mapped("kind")) - {"charge", "correction"}, set())

    def test_pdf_html_has_the_layout_of_the_daily_summary(self):
        wizard = self.wizard("daily_meal")
        action = wizard.with_context(discard_logo_check=True).action_print()
        self.assertEqual(action["report_name"], "canteen_report.report_summary")
        html, _kind = self.env["ir.actions.report"]._render_qweb_html(
            "canteen_report.action_report_canteen_summary", wizard.ids
        )
        html = html.decode()
        for text in (
            "Daily Consumption by Meal",
            "Breakfast",
            "Lunch",
            "Staff Canteen",
            "Branch Canteen",
            "Prepared by:",
            "Checked by:",
            "Approved by:",
            "Print date:",
            "49.50",
            self.company.name,
        ):
            self.assertIn(text, html)
        bill = self.wizard("person_bill")
        bill.with_context(discard_logo_check=True).action_print()
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("canteen_report.action_report_canteen_summary", bill.ids)[0]
            .decode()
        )
        for text in ("Monthly Bill per Person", "Received", "Spent", "Net", "Carol", "47.00"):
            self.assertIn(text, html)

    def test_xlsx_totals_equal_the_screen(self):
        for kind in ("daily_meal", "person_meal", "daily_topup", "merchant_day", "person_bill"):
            wizard = self.wizard(kind)
            action = wizard.action_export()
            attachment = self.env["ir.attachment"].browse(int(action["url"].split("/")[3].split("?")[0]))
            book = openpyxl.load_workbook(io.BytesIO(attachment.raw), read_only=True)
            sheet = book.worksheets[0]
            rows = list(sheet.iter_rows(values_only=True))
            table = self.env["canteen.report"]._summary(kind, wizard._filters())
            width = len(table["keys"])
            self.assertEqual(rows[-1][0], "Grand Total")
            self.assertEqual(
                [Decimal(str(v)).quantize(Decimal("0.01")) for v in rows[-1][width:]],
                [Decimal(v).quantize(Decimal("0.01")) for v in table["totals"]],
                kind,
            )
            self.assertEqual(len(rows), 5 + len(table["rows"]) + 1)
        wizard = self.wizard("detail_charge")
        action = wizard.action_export()
        attachment = self.env["ir.attachment"].browse(int(action["url"].split("/")[3].split("?")[0]))
        rows = list(
            openpyxl.load_workbook(io.BytesIO(attachment.raw), read_only=True)
            .worksheets[0]
            .iter_rows(values_only=True)
        )
        expected, _count = self.ledger_sum([("kind", "in", ("charge", "correction"))])
        self.assertEqual(Decimal(str(rows[-1][13])).quantize(Decimal("0.01")), expected)
        self.assertEqual(len(rows), 1 + 9 + 1)  # header, 9 entries, totals
        # the rows written straight as XML read back as real dates, texts and numbers
        entries = self.env["canteen.ledger.entry"].search(
            [
                ("company_id", "in", (self.company | self.branch).ids),
                ("kind", "in", ("charge", "correction")),
            ],
            order="business_date, date, id",
        )
        self.assertEqual([row[13] for row in rows[1:-1]], entries.mapped("amount"))
        self.assertEqual([row[1].date() for row in rows[1:-1]], entries.mapped("business_date"))
        self.assertEqual([row[3] for row in rows[1:-1]], [entry.employee_id.name for entry in entries])
        first = entries[0]
        zone = pytz.timezone(self.env.user.tz or "Asia/Shanghai")
        local = pytz.utc.localize(first.date).astimezone(zone).replace(tzinfo=None)
        self.assertLess(abs((rows[1][0] - local).total_seconds()), 1)
        self.assertEqual((rows[1][5], rows[1][10]), ("Charge", first.card_id.uid or None))

    def test_large_export_runs_in_the_background(self):
        # The job writes its state and file on cursors of its own: in a test, the test's.
        self.registry.enter_test_mode(self.cr)
        self.addCleanup(self.registry.leave_test_mode)
        wizard = self.wizard("detail_charge")
        with patch.object(canteen_report_wizard, "BACKGROUND_ROWS", 3):
            action = wizard.action_export()
        self.assertEqual(action["tag"], "display_notification")
        job = self.env["canteen.report.export"].browse(action["res_id"])
        self.assertEqual((job.state, job.row_count), ("queued", 9))
        self.env["canteen.report.export"].sudo()._cron_run()
        job.invalidate_recordset()
        self.assertEqual((job.state, job.progress, job.progress_percent), ("done", 9, 100.0), job.error)
        rows = list(
            openpyxl.load_workbook(io.BytesIO(job.attachment_id.raw), read_only=True)
            .worksheets[0]
            .iter_rows(values_only=True)
        )
        self.assertEqual(len(rows), 11)
        self.assertTrue(fields.Datetime.now() >= job.date_done)

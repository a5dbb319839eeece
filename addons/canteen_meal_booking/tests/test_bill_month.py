from datetime import date, datetime

from odoo.tests import tagged

from odoo.addons.canteen_card.tests.common import CanteenCardCase


@tagged("post_install", "-at_install")
class TestBillMonth(CanteenCardCase):
    """The portal's monthly bill and the report's monthly bill per person cut months at the same
    place: the local business day (Asia/Shanghai here), not midnight UTC."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "Asia/Shanghai"
        cls.company.resource_calendar_id.tz = "Asia/Shanghai"
        CanteenCardCase.topup(cls, cls.alice, 100)
        # 2026-01-31 15:00 UTC is 23:00 on January 31 in Shanghai: January
        CanteenCardCase.charge(cls, cls.alice, "7.00", date=datetime(2026, 1, 31, 15, 0))
        # 2026-01-31 17:00 UTC is 01:00 on February 1 in Shanghai: February, not January
        cls.february = CanteenCardCase.charge(cls, cls.alice, "12.50", date=datetime(2026, 1, 31, 17, 0))
        # 2026-02-28 16:30 UTC is 00:30 on March 1 in Shanghai: March
        CanteenCardCase.charge(cls, cls.alice, "3.00", date=datetime(2026, 2, 28, 16, 30))

    def portal(self, month):
        return self.env["canteen.booking"]._canteen_portal_month(self.alice, month)

    def test_entry_after_local_midnight_is_in_the_next_month(self):
        self.assertEqual(self.february.business_date, date(2026, 2, 1))
        february = self.portal("2026-02")
        self.assertEqual(february["entries"], self.february)
        self.assertEqual(february["spent"], 12.5)
        self.assertEqual(self.portal("2026-01")["spent"], 7.0)
        self.assertEqual(self.portal("2026-03")["spent"], 3.0)
        self.assertNotIn(self.february, self.portal("2026-01")["entries"])

    def test_month_written_as_its_language_writes_it(self):
        self.assertEqual(self.portal("2026-02")["month_label"], "February 2026")
        self.env["res.lang"]._activate_lang("zh_CN")
        Booking = self.env["canteen.booking"].with_context(lang="zh_CN")
        bill = Booking._canteen_portal_month(self.alice, "2026-02")
        self.assertEqual(bill["month_label"], "2026年2月")
        self.assertEqual(bill["month"], "2026-02")  # the links keep the month's code

    def test_portal_and_report_agree(self):
        if "canteen.report" not in self.env:
            self.skipTest("canteen_report is not installed")
        Report = self.env["canteen.report"]
        for month, first, last in (
            ("2026-01", date(2026, 1, 1), date(2026, 1, 31)),
            ("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
            ("2026-03", date(2026, 3, 1), date(2026, 3, 31)),
        ):
            bill = self.portal(month)
            table = Report._summary(
                "person_bill", {"date_from": first, "date_to": last, "employee_id": self.alice.id}
            )
            # columns: charges, cash in/out, subsidy in/out, total in, total out, net
            totals = table["totals"]
            self.assertEqual(totals[0], len(bill["entries"].filtered(lambda e: e.kind == "charge")), month)
            self.assertEqual(totals[5], bill["received"], month)
            self.assertEqual(totals[6], bill["spent"], month)
            self.assertEqual(totals[7], sum(bill["entries"].mapped("amount")), month)

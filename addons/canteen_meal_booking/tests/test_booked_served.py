from datetime import timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, tagged

from .common import DAY, NOW, CanteenBookingMixin


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestBookedServed(CanteenBookingMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_canteen_data()
        cls.dave, cls.dave_user = cls._cardholder("Dave", "MB004", cls.company, "base.group_portal")
        Terminal = cls.env["canteen.terminal"].sudo()
        cls.terminal = Terminal.create(
            {
                "name": "T1",
                "number": 901,
                "serial": "SN-MB-901",
                "company_id": cls.company.id,
                "merchant_id": cls.merchant.id,
            }
        )
        cls.other_terminal = Terminal.create(
            {
                "name": "T2",
                "number": 902,
                "serial": "SN-MB-902",
                "company_id": cls.other_company.id,
                "merchant_id": cls.other_merchant.id,
            }
        )
        cls.seq = 0

    def transaction(self, employee, status="approved", meal_kind="lunch", day=DAY, terminal=None):
        type(self).seq += 1
        return (
            self.env["canteen.transaction"]
            .sudo()
            .create(
                {
                    "name": f"MB-{self.seq}",
                    "terminal_id": (terminal or self.terminal).id,
                    "seq": self.seq,
                    "company_id": employee.company_id.id,
                    "employee_id": employee.id,
                    "status": status,
                    "reason": "insufficient_funds" if status == "declined" else False,
                    "meal_kind": meal_kind,
                    "business_date": day,
                    "amount_requested": 12,
                    "charged": 12 if status == "approved" else 0,
                }
            )
        )

    def test_known_day(self):
        Booking = self.env["canteen.booking"]
        # Booked lunch: Alice (no-show), Bob (served twice: counted once), Carol (cancelled, then walks in).
        Booking.with_user(self.alice_user).book(self.canteen.id, DAY, "lunch")
        Booking.with_user(self.bob_user).book(self.canteen.id, DAY, "lunch")
        Booking.with_user(self.carol_user).book(self.canteen.id, DAY, "lunch").with_user(
            self.carol_user
        ).action_cancel()
        Booking.with_user(self.bob_user).book(self.canteen.id, DAY, "dinner")
        self.transaction(self.bob)
        self.transaction(self.bob)
        self.transaction(self.carol)
        self.transaction(self.dave, status="declined")  # declined: not served
        self.transaction(self.dave, terminal=self.other_terminal)  # another canteen's terminals
        self.transaction(self.dave, meal_kind="dinner", day=DAY.replace(day=11))  # another day
        self.env.flush_all()

        Report = self.env["canteen.booking.report"]
        lunch = Report.search(
            [("canteen_id", "=", self.canteen.id), ("date", "=", DAY), ("meal_kind", "=", "lunch")]
        )
        self.assertEqual(
            (lunch.booked, lunch.served, lunch.no_show, lunch.walk_in),
            (2, 2, 1, 1),
            "booked, served, no-shows, walk-ins",
        )
        dinner = Report.search(
            [("canteen_id", "=", self.canteen.id), ("date", "=", DAY), ("meal_kind", "=", "dinner")]
        )
        self.assertEqual((dinner.booked, dinner.served, dinner.no_show, dinner.walk_in), (1, 0, 1, 0))
        figures = Report._canteen_figures(self.canteen, DAY)
        self.assertEqual(figures["lunch"]["walk_in"], 1)
        groups = Report.read_group(
            [("canteen_id", "=", self.canteen.id), ("date", "=", DAY)], ["booked:sum", "served:sum"], []
        )
        self.assertEqual((groups[0]["booked"], groups[0]["served"]), (3, 2))

        # Canteen managers of the company see it; another group's manager and cardholders do not.
        # Three rows: lunch and dinner of DAY, Dave's walk-in dinner the day after.
        self.assertEqual(
            len(Report.with_user(self.manager).search([("canteen_id", "=", self.canteen.id)])), 3
        )
        self.assertFalse(Report.with_user(self.other_manager).search([("canteen_id", "=", self.canteen.id)]))
        with self.assertRaises(AccessError):
            Report.with_user(self.bob_user).search([])

    def test_reminder_to_usual_eaters_without_booking(self):
        self.canteen.reminder_enabled = True
        self.canteen.reminder_hours = 3
        for back in (1, 2, 3):  # lunches of the last days: Alice and Bob usually eat here
            for person in (self.alice, self.bob):
                self.transaction(person, day=DAY - timedelta(days=back + 1))
        self.transaction(self.carol, day=DAY - timedelta(days=2))  # once: not a usual eater
        self.env["canteen.booking"].with_user(self.alice_user).book(self.canteen.id, DAY, "lunch")
        Message = self.env["mail.message"]
        before = Message.search([]).ids
        # NOW is 12:00 Shanghai on the day before; lunch and dinner cut-offs are at 20:00: too early.
        self.env["canteen.canteen"]._cron_send_booking_reminders()
        self.assertFalse(Message.search([("id", "not in", before), ("model", "=", "hr.employee")]))
        with freeze_time("2026-03-09 10:00:00"):  # 18:00 Shanghai: 2 hours before the cut-off
            self.env["canteen.canteen"]._cron_send_booking_reminders()
            self.env["canteen.canteen"]._cron_send_booking_reminders()  # once only
        sent = Message.search([("id", "not in", before), ("model", "=", "hr.employee")])
        self.assertEqual(sent.mapped("res_id"), [self.bob.id], "Bob only: Alice booked, Carol is no regular")
        self.assertIn("Booking closes at 2026-03-09 20:00", sent.body)
        self.assertEqual(sent.partner_ids, self.bob_user.partner_id)

    def test_day_sheet_report(self):
        self.env["canteen.booking"].with_user(self.alice_user).book(self.canteen.id, DAY, "lunch")
        self.transaction(self.carol)
        self.env.flush_all()
        rows = self.env["canteen.booking.report"].search(
            [("canteen_id", "=", self.canteen.id), ("date", "=", DAY)]
        )
        html, _kind = self.env["ir.actions.report"]._render_qweb_html(
            "canteen_meal_booking.action_report_day_sheet", rows.ids
        )
        html = html.decode()
        self.assertIn("HQ Canteen", html)
        self.assertIn("o_canteen_day_sheet", html)

from datetime import datetime, timedelta

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from .common import DAY, NOW, CanteenBookingMixin


@tagged("post_install", "-at_install")
class TestCanteenWindows(CanteenBookingMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_canteen_data()

    def meal(self, kind):
        return self.canteen.meal_ids.filtered(lambda m: m.meal_kind == kind)

    def test_cutoff_and_opening_in_company_time_zone(self):
        # Lunch: the day before at 20:00 Shanghai = 12:00 UTC; opens 7 days ahead at midnight.
        self.assertEqual(self.meal("lunch")._cutoff(DAY), datetime(2026, 3, 9, 12, 0))
        self.assertEqual(self.meal("lunch")._opening(DAY), datetime(2026, 3, 2, 16, 0))
        # Breakfast: 2 hours before 07:00 Shanghai = 05:00 local = 21:00 UTC the day before.
        self.assertEqual(self.meal("breakfast")._cutoff(DAY), datetime(2026, 3, 9, 21, 0))
        self.assertEqual(self.meal("lunch").hour_from, 11.0)

    def test_serving_window_belongs_to_the_merchant(self):
        foreign = self.env["canteen.meal.period"].search([("merchant_id", "=", self.other_merchant.id)])
        with self.assertRaises(ValidationError):
            self.env["canteen.canteen.meal"].create(
                {"canteen_id": self.canteen.id, "meal_period_id": foreign.id}
            )
        with self.assertRaises(ValidationError):
            self.meal("lunch").cutoff_hour = 25


@tagged("post_install", "-at_install")
class TestCanteenMenus(CanteenBookingMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_canteen_data()

    def _draft(self, day, kind="dinner", dishes=None):
        return self.env["canteen.menu"].create(
            {
                "canteen_id": self.canteen.id,
                "date": day,
                "meal_kind": kind,
                "line_ids": [(0, 0, {"dish_id": d.id}) for d in (dishes or self.dish_rice)],
            }
        )

    def test_publish_by_manager_only(self):
        menu = self._draft(DAY)
        self.assertEqual(menu.line_ids.price, 1.0, "a menu line takes the dish's price")
        with self.assertRaises(AccessError):
            menu.with_user(self.bob_user).action_publish()
        with self.assertRaises(AccessError):
            menu.with_user(self.other_manager).action_publish()
        self.assertEqual(menu.state, "draft")
        # A portal user named among the canteen's managers may publish through the method.
        self.canteen.manager_ids = self.carol_user
        menu.with_user(self.carol_user).sudo().action_publish()
        self.assertEqual(menu.state, "published")
        menu.with_user(self.manager).action_unpublish()
        self.assertEqual(menu.state, "draft")
        empty = self.env["canteen.menu"].create(
            {"canteen_id": self.canteen.id, "date": DAY, "meal_kind": "breakfast"}
        )
        with self.assertRaises(UserError):
            empty.with_user(self.manager).action_publish()

    @mute_logger("odoo.sql_db")
    def test_dish_code_unique_per_company(self):
        self.dish_rice.code = "R1"
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            self.dish_pork.code = "R1"
            self.env.flush_all()
        other = self.env["canteen.dish"].create(
            {"name": "Rice", "price": 1, "company_id": self.other_company.id}
        )
        other.code = "R1"
        self.env.flush_all()
        self.assertEqual(other.code, "R1")

    def test_drafts_hidden_from_cardholders(self):
        draft = self._draft(DAY)
        visible = (
            self.env["canteen.menu"].with_user(self.bob_user).search([("canteen_id", "=", self.canteen.id)])
        )
        self.assertEqual(visible, self.lunch_menu)
        self.assertIn(draft, self.env["canteen.menu"].with_user(self.manager).search([]))

    def test_copy_day_and_week(self):
        dinner = self._draft(DAY, dishes=self.dish_pork)
        self.lunch_menu.with_user(self.manager).action_copy_day()
        copies = self.env["canteen.menu"].search(
            [("canteen_id", "=", self.canteen.id), ("date", "=", DAY + timedelta(days=1))]
        )
        self.assertEqual(sorted(copies.mapped("meal_kind")), ["dinner", "lunch"])
        self.assertEqual(set(copies.mapped("state")), {"draft"})
        self.assertEqual(copies.filtered(lambda m: m.meal_kind == "dinner").line_ids.dish_id, self.dish_pork)
        # Copying again creates nothing: the targets exist.
        with self.assertRaises(UserError):
            dinner.with_user(self.manager).action_copy_day()
        # The week of DAY (Monday 9 to Sunday 15) to the next week.
        dinner.with_user(self.manager).action_copy_week()
        next_week = self.env["canteen.menu"].search(
            [("canteen_id", "=", self.canteen.id), ("date", ">=", DAY + timedelta(days=6))]
        )
        self.assertEqual(
            sorted(next_week.mapped("date")), [DAY + timedelta(days=7)] * 2 + [DAY + timedelta(days=8)] * 2
        )
        with self.assertRaises(AccessError):
            dinner.with_user(self.bob_user).action_copy_week()


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestBooking(CanteenBookingMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_canteen_data()
        cls.Booking = cls.env["canteen.booking"]

    def test_book_and_cancel_own_meal(self):
        booking = self.Booking.with_user(self.alice_user).book(
            self.canteen.id, str(DAY), "lunch", menu_line_ids=self.lunch_menu.line_ids[:1].ids
        )
        self.assertEqual(
            (booking.employee_id, booking.state, booking.merchant_id), (self.alice, "booked", self.merchant)
        )
        self.assertEqual(booking.menu_line_ids.dish_id, self.dish_rice)
        with self.assertRaisesRegex(UserError, "already booked"):
            self.Booking.with_user(self.alice_user).book(self.canteen.id, DAY, "lunch")
        booking.with_user(self.alice_user).action_cancel()
        self.assertEqual(booking.state, "cancelled")
        self.assertEqual(booking.cancelled_by_id, self.alice_user)
        # Booking again after cancelling is allowed.
        self.Booking.with_user(self.alice_user).book(self.canteen.id, DAY, "lunch")

    def test_branch_person_books_head_office_canteen(self):
        booking = self.Booking.with_user(self.bob_user).book(self.canteen.id, DAY, "dinner")
        self.assertEqual(booking.employee_id, self.bob)

    def test_whole_day_books_every_open_meal(self):
        bookings = self.Booking.with_user(self.alice_user).book_whole_day(self.canteen.id, DAY)
        self.assertEqual(sorted(bookings.mapped("meal_kind")), ["breakfast", "dinner", "lunch"])
        with self.assertRaisesRegex(UserError, "already booked"):
            self.Booking.with_user(self.alice_user).book_whole_day(self.canteen.id, DAY)
        # At 22:00 Shanghai on the day before, only breakfast (2 hours before the meal) is open.
        with freeze_time("2026-03-09 14:00:00"):
            only = self.Booking.with_user(self.carol_user).book_whole_day(self.canteen.id, DAY)
        self.assertEqual(only.mapped("meal_kind"), ["breakfast"])

    def test_refused_after_cutoff_and_before_opening(self):
        with (
            freeze_time("2026-03-09 12:00:01"),
            self.assertRaisesRegex(UserError, "closed at 2026-03-09 20:00"),
        ):
            self.Booking.with_user(self.alice_user).book(self.canteen.id, DAY, "lunch")
        with self.assertRaisesRegex(UserError, "opens at"):
            self.Booking.with_user(self.alice_user).book(self.canteen.id, DAY + timedelta(days=10), "lunch")
        with self.assertRaisesRegex(UserError, "does not serve"):
            self.Booking.with_user(self.alice_user).book(self.canteen.id, DAY, "late_night")
        self.assertFalse(self.Booking.sudo().search([("employee_id", "=", self.alice.id)]))

    def test_cancel_refused_after_cutoff(self):
        booking = self.Booking.with_user(self.alice_user).book(self.canteen.id, DAY, "lunch")
        with (
            freeze_time("2026-03-09 12:30:00"),
            self.assertRaisesRegex(UserError, "can no longer be cancelled"),
        ):
            booking.with_user(self.alice_user).action_cancel()
        self.assertEqual(booking.state, "booked")

    def test_refused_for_other_group_resigned_and_cardless(self):
        with self.assertRaisesRegex(UserError, "another company group"):
            self.Booking.with_user(self.alice_user).book(self.other_canteen.id, DAY, "lunch")
        self.alice.sudo().cardholder_state = "resigned"
        with self.assertRaisesRegex(UserError, "resigned"):
            self.Booking.with_user(self.alice_user).book(self.canteen.id, DAY, "lunch")
        dave, dave_user = self._cardholder("Dave", "MB004", self.company, "base.group_portal", card=False)
        with self.assertRaisesRegex(UserError, "no card"):
            self.Booking.with_user(dave_user).book(self.canteen.id, DAY, "lunch")
        self.assertFalse(self.Booking.sudo().search([("employee_id", "in", (self.alice | dave).ids)]))

    def test_dishes_only_from_the_published_menu(self):
        draft = self.env["canteen.menu"].create(
            {
                "canteen_id": self.canteen.id,
                "date": DAY,
                "meal_kind": "dinner",
                "line_ids": [(0, 0, {"dish_id": self.dish_pork.id})],
            }
        )
        with self.assertRaisesRegex(UserError, "published menu"):
            self.Booking.with_user(self.alice_user).book(
                self.canteen.id, DAY, "dinner", menu_line_ids=draft.line_ids.ids
            )
        with self.assertRaisesRegex(UserError, "published menu"):
            self.Booking.with_user(self.alice_user).book(
                self.canteen.id, DAY, "dinner", menu_line_ids=self.lunch_menu.line_ids.ids
            )

    def test_only_self_or_canteen_manager(self):
        # Someone else's booking: refused for a cardholder, whatever the context says.
        with self.assertRaises(AccessError):
            self.Booking.with_user(self.bob_user).with_context(canteen_manager=True).book(
                self.canteen.id, DAY, "lunch", employee_id=self.alice.id
            )
        with self.assertRaises(AccessError):
            self.Booking.with_user(self.other_manager).with_context(
                allowed_company_ids=[self.company.id]
            ).book(self.canteen.id, DAY, "lunch", employee_id=self.alice.id)
        booking = self.Booking.with_user(self.manager).book(
            self.canteen.id, DAY, "lunch", employee_id=self.alice.id
        )
        self.assertEqual(booking.booked_by_id, self.manager)
        with self.assertRaises(AccessError):
            booking.with_user(self.carol_user).action_cancel()
        with self.assertRaises(AccessError):
            booking.with_user(self.other_manager).action_cancel()
        self.assertEqual(booking.state, "booked")
        booking.with_user(self.manager).action_cancel()
        self.assertEqual(booking.state, "cancelled")

    def test_orm_is_read_only_and_reads_are_own(self):
        booking = self.Booking.with_user(self.alice_user).book(self.canteen.id, DAY, "lunch")
        values = {
            "employee_id": self.carol.id,
            "canteen_id": self.canteen.id,
            "company_id": self.company.id,
            "date": DAY,
            "meal_kind": "dinner",
        }
        for user in (self.alice_user, self.bob_user, self.manager):
            Booking = self.Booking.with_user(user).with_context(canteen_ledger_service=True)
            with self.assertRaises(AccessError):
                Booking.create(values)
            with self.assertRaises(AccessError):
                booking.with_user(user).write({"state": "cancelled"})
            with self.assertRaises(AccessError):
                booking.with_user(user).unlink()
        self.assertEqual(booking.state, "booked")
        self.assertEqual(self.Booking.with_user(self.alice_user).search([]), booking)
        self.assertFalse(self.Booking.with_user(self.carol_user).search([]))
        self.assertFalse(self.Booking.with_user(self.other_manager).search([]))
        self.assertEqual(self.Booking.with_user(self.manager).search([]), booking)


@tagged("post_install", "-at_install")
class TestCardholderSelfService(CanteenBookingMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_canteen_data()

    def test_card_lost_is_always_the_callers_own(self):
        Employee = self.env["hr.employee"]
        Employee.with_user(self.bob_user).with_context(active_id=self.alice.id).canteen_report_own_card_lost()
        self.assertEqual(self.bob.sudo().current_card_id.state, "lost")
        self.assertEqual(self.alice.sudo().current_card_id.state, "active")
        with self.assertRaises(UserError):
            Employee.with_user(self.bob_user).canteen_report_own_card_lost()
        with self.assertRaises(AccessError):
            Employee.with_user(self.manager).canteen_report_own_card_lost()

    def test_batch_portal_users(self):
        with_mail = self.env["hr.employee"].create(
            {"name": "Erin", "company_id": self.company.id, "work_email": "erin.mb@example.com"}
        )
        with_phone = self.env["hr.employee"].create(
            {"name": "Finn", "company_id": self.company.id, "mobile_phone": "+8613800000001"}
        )
        nothing = self.env["hr.employee"].create({"name": "Gus", "company_id": self.company.id})
        people = with_mail | with_phone | nothing | self.alice
        with self.assertRaises(AccessError):
            people.with_user(self.bob_user).action_canteen_create_portal_users()
        with self.assertRaises(AccessError):
            people.with_user(self.alice_user).action_canteen_create_portal_users()
        self.assertFalse(with_mail.user_id)
        people.action_canteen_create_portal_users()
        self.assertEqual(with_mail.user_id.login, "erin.mb@example.com")
        self.assertEqual(with_phone.user_id.login, "+8613800000001")
        self.assertTrue(with_mail.user_id.share, "a portal user")
        self.assertFalse(nothing.user_id)
        self.assertEqual(self.alice.user_id, self.alice_user, "existing users are kept")

from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import CanteenBookingMixin


@tagged("post_install", "-at_install")
class TestCanteenTours(CanteenBookingMixin, HttpCase):
    """The portal in a real browser (headless Chromium): a cardholder and a canteen manager."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_canteen_data()
        cls.day = fields.Date.today() + timedelta(days=3)
        cls.week = cls.day - timedelta(days=cls.day.weekday())

    def test_cardholder_books_the_day_cancels_lunch_and_reports_the_card_lost(self):
        self.start_tour(
            f"/my/canteen?week={self.week}&day={self.day}", "canteen_cardholder_tour", login="mb_mb001"
        )
        bookings = self.env["canteen.booking"].search([("employee_id", "=", self.alice.id)])
        self.assertEqual(
            {(b.date, b.meal_kind, b.state) for b in bookings},
            {
                (self.day, "breakfast", "booked"),
                (self.day, "lunch", "cancelled"),
                (self.day, "dinner", "booked"),
            },
        )
        self.assertEqual(self.alice.current_card_id.state, "lost")

    def test_manager_publishes_a_menu_and_reads_booked_versus_served(self):
        draft = self.env["canteen.menu"].create(
            {
                "canteen_id": self.canteen.id,
                "date": self.day,
                "meal_kind": "dinner",
                "line_ids": [(0, 0, {"dish_id": self.dish_rice.id})],
            }
        )
        for employee in self.alice | self.bob:
            self.env["canteen.booking"].sudo().create(
                {
                    "employee_id": employee.id,
                    "canteen_id": self.canteen.id,
                    "merchant_id": self.merchant.id,
                    "company_id": self.company.id,
                    "date": self.day,
                    "meal_kind": "lunch",
                }
            )
        terminal = self.env["canteen.terminal"].create(
            {
                "name": "Tour terminal",
                "number": 931,
                "serial": "SN-MB-TOUR",
                "company_id": self.company.id,
                "merchant_id": self.merchant.id,
            }
        )
        # Carol eats without a booking: served 1, a walk-in; Alice and Bob do not come.
        self.env["canteen.transaction"].sudo().create(
            {
                "name": "TOUR-1",
                "terminal_id": terminal.id,
                "seq": 1,
                "company_id": self.company.id,
                "employee_id": self.carol.id,
                "status": "approved",
                "meal_kind": "lunch",
                "business_date": self.day,
                "amount_requested": 12,
                "charged": 12,
            }
        )
        self.canteen.manager_ids = self.carol_user
        self.start_tour(
            f"/my/canteen/manage/{self.canteen.id}?date={self.day}", "canteen_manager_tour", login="mb_mb003"
        )
        self.assertEqual(draft.state, "published")

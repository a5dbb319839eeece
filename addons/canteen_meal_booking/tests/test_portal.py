from datetime import timedelta

from odoo import fields
from odoo.http import Request
from odoo.tests import HttpCase, tagged

from odoo.addons.canteen_pos_bridge.tools import charge_engine

from .common import CanteenBookingMixin


@tagged("post_install", "-at_install")
class TestCanteenPortal(CanteenBookingMixin, HttpCase):
    """The portal as cardholders and canteen managers, trying other people's ids."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_canteen_data()
        # Three days ahead: lunch is open (cut-off the day before at 20:00, opens 7 days ahead).
        cls.day = fields.Date.today() + timedelta(days=3)
        cls.menu = cls.env["canteen.menu"].create(
            {
                "canteen_id": cls.canteen.id,
                "date": cls.day,
                "meal_kind": "lunch",
                "state": "published",
                "line_ids": [(0, 0, {"dish_id": cls.dish_pork.id})],
            }
        )
        cls.draft = cls.env["canteen.menu"].create(
            {
                "canteen_id": cls.canteen.id,
                "date": cls.day,
                "meal_kind": "dinner",
                "line_ids": [(0, 0, {"dish_id": cls.dish_rice.id})],
            }
        )
        cls.other_draft = cls.env["canteen.menu"].create(
            {"canteen_id": cls.other_canteen.id, "date": cls.day, "meal_kind": "lunch"}
        )
        cls.bob_booking = (
            cls.env["canteen.booking"].with_user(cls.bob_user).book(cls.canteen.id, cls.day, "lunch")
        )
        cls.canteen.manager_ids = cls.carol_user

    def post(self, url, **data):
        return self.url_open(url, data=dict(data, csrf_token=Request.csrf_token(self)), allow_redirects=False)

    def week(self):
        return str(self.day - timedelta(days=self.day.weekday()))

    def test_cardholder_page_shows_own_data_only(self):
        self.authenticate("mb_mb001", "mb_mb001")
        home = self.url_open("/my/home")
        self.assertIn("/my/canteen", home.text)
        self.assertNotIn("/my/canteen/manage", home.text)
        page = self.url_open(f"/my/canteen?week={self.week()}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Alice", page.text)
        self.assertNotIn("Bob", page.text)
        self.assertIn("Pork", page.text, "the published menu")
        self.assertNotIn("Rice", page.text, "not the draft one")

    def test_book_and_cancel_through_the_portal(self):
        self.authenticate("mb_mb001", "mb_mb001")
        response = self.post(
            "/my/canteen/book", canteen_id=self.canteen.id, date=str(self.day), meal_kind="lunch"
        )
        self.assertEqual(response.status_code, 303)
        booking = self.env["canteen.booking"].search(
            [("employee_id", "=", self.alice.id), ("state", "=", "booked")]
        )
        self.assertEqual((booking.date, booking.meal_kind), (self.day, "lunch"))
        page = self.url_open(f"/my/canteen?week={self.week()}")
        self.assertIn(f"/my/canteen/booking/{booking.id}/cancel", page.text)
        self.post(f"/my/canteen/booking/{booking.id}/cancel")
        self.assertEqual(booking.state, "cancelled")
        # The whole day: every meal still open (breakfast, lunch, dinner).
        self.post("/my/canteen/book", canteen_id=self.canteen.id, date=str(self.day), meal_kind="all")
        booked = self.env["canteen.booking"].search(
            [("employee_id", "=", self.alice.id), ("state", "=", "booked")]
        )
        self.assertEqual(sorted(booked.mapped("meal_kind")), ["breakfast", "dinner", "lunch"])

    def test_refusal_is_shown(self):
        self.authenticate("mb_mb001", "mb_mb001")
        self.post("/my/canteen/book", canteen_id=self.other_canteen.id, date=str(self.day), meal_kind="lunch")
        page = self.url_open(f"/my/canteen?week={self.week()}")
        self.assertIn("another company group", page.text)
        self.assertFalse(self.env["canteen.booking"].search([("employee_id", "=", self.alice.id)]))

    def test_other_peoples_ids_are_not_found(self):
        self.authenticate("mb_mb001", "mb_mb001")
        response = self.post(f"/my/canteen/booking/{self.bob_booking.id}/cancel")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.bob_booking.state, "booked")
        # Booking for someone else by a crafted form is refused, nothing is booked for Bob.
        self.post(
            "/my/canteen/book",
            canteen_id=self.canteen.id,
            date=str(self.day),
            meal_kind="dinner",
            employee_id=self.bob.id,
        )
        self.assertEqual(
            self.env["canteen.booking"].search([("employee_id", "=", self.bob.id)]).mapped("meal_kind"),
            ["lunch"],
        )
        for url in ("/my/canteen/manage", f"/my/canteen/manage/{self.canteen.id}"):
            self.assertEqual(self.url_open(url).status_code, 404, url)
        self.assertEqual(self.post(f"/my/canteen/manage/menu/{self.draft.id}/publish").status_code, 404)
        self.assertEqual(self.draft.state, "draft")

    def test_anonymous_is_sent_to_login(self):
        response = self.url_open("/my/canteen", allow_redirects=False)
        self.assertEqual(response.status_code, 303)
        self.assertIn("/web/login", response.headers["Location"])

    def test_canteen_manager_pages(self):
        self.authenticate("mb_mb003", "mb_mb003")  # Carol: a portal user among the canteen's managers
        self.assertIn("/my/canteen/manage", self.url_open("/my/home").text)
        page = self.url_open(f"/my/canteen/manage/{self.canteen.id}?date={self.day}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("o_canteen_booked_count", page.text)
        self.assertNotIn("Bob", page.text, "counts only, no names or money")
        self.post(f"/my/canteen/manage/menu/{self.draft.id}/publish")
        self.assertEqual(self.draft.state, "published")
        # Another canteen's page and menu: not found, nothing changed.
        self.assertEqual(self.url_open(f"/my/canteen/manage/{self.other_canteen.id}").status_code, 404)
        self.assertEqual(self.post(f"/my/canteen/manage/menu/{self.other_draft.id}/publish").status_code, 404)
        self.assertEqual(self.other_draft.state, "draft")
        self.assertEqual(self.url_open("/my/canteen/manage/999999").status_code, 404)

    def test_report_card_lost_with_confirmation(self):
        card = self.alice.sudo().current_card_id
        self.authenticate("mb_mb001", "mb_mb001")
        self.assertIn("o_canteen_lost_modal", self.url_open("/my/canteen").text)
        self.post("/my/canteen/card/lost")  # not confirmed
        self.assertEqual(card.state, "active")
        self.post("/my/canteen/card/lost", confirm="yes")
        self.assertEqual(card.state, "lost")
        self.assertEqual(self.bob.sudo().current_card_id.state, "active", "only one's own card")
        self.assertIn("Your card is blocked", self.url_open("/my/canteen").text)

    def test_monthly_bill_and_day_sheet(self):
        self.authenticate("mb_mb001", "mb_mb001")
        self.assertEqual(self.url_open("/my/canteen/bills?month=2026-02").status_code, 200)
        self.assertEqual(self.url_open("/my/canteen/bills?month=garbage").status_code, 200)
        self.assertEqual(self.url_open(f"/my/canteen/manage/{self.canteen.id}/day.xlsx").status_code, 404)
        self.authenticate("mb_mb003", "mb_mb003")
        sheet = self.url_open(f"/my/canteen/manage/{self.canteen.id}/day.xlsx?date={self.day}")
        self.assertEqual(sheet.status_code, 200)
        self.assertEqual(sheet.content[:2], b"PK", "an XLSX (zip) file")
        other = self.url_open(f"/my/canteen/manage/{self.other_canteen.id}/day.xlsx")
        self.assertEqual(other.status_code, 404)

    def test_manager_drafts_a_menu_on_the_portal(self):
        self.authenticate("mb_mb003", "mb_mb003")
        url = f"/my/canteen/manage/{self.canteen.id}/add_dish"
        self.post(url, date=str(self.day), meal_kind="breakfast", dish_id=self.dish_rice.id)
        menu = self.env["canteen.menu"].search(
            [("canteen_id", "=", self.canteen.id), ("date", "=", self.day), ("meal_kind", "=", "breakfast")]
        )
        self.assertEqual((menu.state, menu.line_ids.dish_id), ("draft", self.dish_rice))
        # A dish of another company group, or a published menu, cannot be changed that way.
        foreign = self.env["canteen.dish"].create(
            {"name": "Foreign", "price": 5, "company_id": self.other_company.id}
        )
        self.post(url, date=str(self.day), meal_kind="breakfast", dish_id=foreign.id)
        self.post(url, date=str(self.day), meal_kind="lunch", dish_id=self.dish_rice.id)
        self.assertEqual(menu.line_ids.dish_id, self.dish_rice)
        self.assertEqual(self.menu.line_ids.dish_id, self.dish_pork)
        self.post(f"/my/canteen/manage/menu/{menu.id}/remove/{menu.line_ids.id}")
        self.assertFalse(menu.line_ids)
        # Another canteen: not found.
        other_url = f"/my/canteen/manage/{self.other_canteen.id}/add_dish"
        self.assertEqual(
            self.post(other_url, date=str(self.day), meal_kind="lunch", dish_id=foreign.id).status_code, 404
        )
        self.assertFalse(self.other_draft.line_ids)

    def test_choose_dishes_when_booking(self):
        self.authenticate("mb_mb001", "mb_mb001")
        page = self.url_open(f"/my/canteen?week={self.week()}")
        self.assertIn(f'name="menu_line_ids" value="{self.menu.line_ids.id}"', page.text)
        self.post(
            "/my/canteen/book",
            canteen_id=self.canteen.id,
            date=str(self.day),
            meal_kind="lunch",
            menu_line_ids=str(self.menu.line_ids.id),
        )
        booking = self.env["canteen.booking"].search([("employee_id", "=", self.alice.id)])
        self.assertEqual(booking.menu_line_ids, self.menu.line_ids)

    def test_payment_qr_code_page(self):
        self.authenticate("mb_mb001", "mb_mb001")
        page = self.url_open("/my/canteen/pay")
        self.assertEqual(page.status_code, 200)
        self.assertIn("/my/canteen/pay/qr.png", page.text)
        image = self.url_open("/my/canteen/pay/qr.png")
        self.assertEqual((image.status_code, image.headers["Content-Type"]), (200, "image/png"))
        self.assertTrue(image.content.startswith(b"\x89PNG"))
        payload = self.alice._canteen_qr_payload()
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        moment = fields.Datetime.now()
        uid, problem = charge_engine.qr_check(charge_engine.qr_key(secret), payload, moment)
        self.assertEqual((uid, problem), (self.alice.current_card_id.uid.upper(), None))
        # Once the card is lost, no code is given any more.
        self.alice.current_card_id.sudo().action_report_loss()
        self.assertEqual(self.url_open("/my/canteen/pay/qr.png").status_code, 404)
        self.assertIn("o_canteen_pay_refused", self.url_open("/my/canteen/pay").text)
        # A user who is no cardholder has no code.
        self.authenticate("mb_manager", "mb_manager")
        self.assertEqual(self.url_open("/my/canteen/pay/qr.png").status_code, 404)

    def test_monthly_bill_pdf_is_the_callers_own(self):
        self.authenticate("mb_mb001", "mb_mb001")
        month = fields.Date.today().strftime("%Y-%m")
        self.assertIn("/my/canteen/bills.pdf", self.url_open(f"/my/canteen/bills?month={month}").text)
        pdf = self.url_open(f"/my/canteen/bills.pdf?month={month}")
        self.assertEqual((pdf.status_code, pdf.headers["Content-Type"]), (200, "application/pdf"))
        # Odoo renders reports as HTML in tests (no wkhtmltopdf run): the bill is Alice's.
        self.assertTrue(pdf.content.startswith(b"%PDF") or b"Alice" in pdf.content)
        self.assertNotIn(b"Bob", pdf.content)
        # The generic report route does not print someone else's bill for a portal user.
        other = self.url_open(f"/report/pdf/canteen_meal_booking.report_monthly_bill/{self.bob.id}")
        self.assertNotEqual(other.status_code, 200)

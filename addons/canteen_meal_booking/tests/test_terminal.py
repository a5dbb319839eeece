import itertools
from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from odoo.tests import tagged

from odoo.addons.canteen_card.tests.common import CanteenCardCase
from odoo.addons.canteen_pos_bridge.tools import charge_engine
from odoo.addons.canteen_pos_bridge.tools.sql_unit import Unit

# Tuesday 2026-03-10, 12:30 in Shanghai: lunch is being served.
LUNCH = datetime(2026, 3, 10, 4, 30, tzinfo=UTC)
DAY = LUNCH.date()


@tagged("post_install", "-at_install")
@freeze_time(LUNCH)
class TestTerminalWithCanteens(CanteenCardCase):
    """What a canteen changes at its terminals, through the same engine and SQL as the bridge:
    booking required (`not_booked`), menu mode priced from the published menu, payment QR codes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.resource_calendar_id.tz = "Asia/Shanghai"
        lunch, dinner = cls.env["canteen.meal.period"].create(
            [
                {"merchant_id": cls.merchant.id, "kind": "lunch", "hour_from": 11, "hour_to": 13},
                {"merchant_id": cls.merchant.id, "kind": "dinner", "hour_from": 17, "hour_to": 19},
            ]
        )
        cls.canteen = cls.env["canteen.canteen"].create(
            {
                "name": "Terminal Canteen",
                "company_id": cls.company.id,
                "merchant_id": cls.merchant.id,
                "booking_required": True,
                "meal_ids": [(0, 0, {"meal_period_id": lunch.id}), (0, 0, {"meal_period_id": dinner.id})],
            }
        )
        Dish = cls.env["canteen.dish"]
        cls.rice = Dish.create({"name": "Rice", "code": "RICE", "price": 1, "company_id": cls.company.id})
        cls.pork = Dish.create({"name": "Pork", "code": "PORK", "price": 12, "company_id": cls.company.id})
        cls.menu = cls.env["canteen.menu"].create(
            {
                "canteen_id": cls.canteen.id,
                "date": DAY,
                "meal_kind": "lunch",
                "state": "published",
                "line_ids": [(0, 0, {"dish_id": cls.rice.id}), (0, 0, {"dish_id": cls.pork.id, "price": 10})],
            }
        )
        cls.env["canteen.menu.item"].create(
            [
                {"merchant_id": cls.merchant.id, "code": "COLA", "name": "Cola", "price": 3},
                {"merchant_id": cls.merchant.id, "code": "PORK", "name": "Pork", "price": 12},
            ]
        )
        Terminal = cls.env["canteen.terminal"]
        vals = {"company_id": cls.company.id, "merchant_id": cls.merchant.id}
        cls.face = Terminal.create(
            dict(vals, name="Face", number=71, serial="MEAL-71", mode="fixed", fixed_amount=15)
        )
        cls.till = Terminal.create(dict(vals, name="Menu Till", number=72, serial="MEAL-72", mode="menu"))
        cls.seqs = itertools.count(1)

    def setUp(self):
        super().setUp()
        self.topup(self.alice | self.bob, 100)

    def send(self, terminal, identity, *, items=None, offline=False, occurred=None):
        self.env.flush_all()
        loaded = charge_engine.load_terminal(self.env.cr, terminal.serial)
        request = {
            "seq": next(self.seqs),
            "identity": identity,
            "occurred_at": (occurred or datetime.now(UTC)).isoformat(),
        }
        if items is not None:
            request["items"] = items
        answer = charge_engine.charge(Unit.savepoint(self.env.cr, "meal"), loaded, request, offline=offline)
        self.env.invalidate_all()
        return answer

    def card(self, employee):
        return {"type": "card", "value": employee.current_card_id.uid}

    def book(self, employee, meal_kind="lunch", day=DAY):
        return (
            self.env["canteen.booking"]
            .sudo()
            .create(
                {
                    "employee_id": employee.id,
                    "canteen_id": self.canteen.id,
                    "merchant_id": self.merchant.id,
                    "company_id": self.company.id,
                    "date": day,
                    "meal_kind": meal_kind,
                }
            )
        )

    def test_booking_required_declines_people_without_a_booking(self):
        self.book(self.alice)
        self.book(self.bob, "dinner")  # another meal does not count
        answer = self.send(self.face, self.card(self.alice))
        self.assertEqual(
            (answer["status"], answer["charged"], answer["meal"]), ("approved", "15.00", "lunch")
        )
        answer = self.send(self.face, self.card(self.bob))
        self.assertEqual(
            (answer["status"], answer["reason"], answer["charged"]), ("declined", "not_booked", "0.00")
        )
        transaction = self.env["canteen.transaction"].search([("name", "=", answer["transaction_id"])])
        self.assertEqual((transaction.status, transaction.reason), ("declined", "not_booked"))
        self.assertEqual(self.balances(self.bob), (100.0, 0.0))
        # A cancelled booking is no booking; an offline record is a meal already eaten.
        self.book(self.bob).sudo().state = "cancelled"
        self.assertEqual(self.send(self.face, self.card(self.bob))["reason"], "not_booked")
        earlier = LUNCH - timedelta(minutes=5)
        offline = self.send(self.face, self.card(self.bob), offline=True, occurred=earlier)
        self.assertEqual((offline["status"], offline["charged"]), ("approved", "15.00"))
        # Without the setting, everyone is served.
        self.canteen.booking_required = False
        self.assertEqual(self.send(self.face, self.card(self.bob))["status"], "approved")
        self.assertEqual(self.balances(self.bob), (70.0, 0.0))

    def test_menu_mode_prices_from_the_published_menu(self):
        self.canteen.booking_required = False
        items = [{"product": "PORK", "qty": 2}, {"product": "RICE"}, {"product": "COLA"}]
        answer = self.send(self.till, self.card(self.alice), items=items)
        # Pork at the menu's 10.00 (not the merchant's 12.00), rice from the menu, cola from the merchant.
        self.assertEqual((answer["status"], answer["charged"]), ("approved", "24.00"))
        # Without a published menu of the meal, only the merchant's items are sold.
        self.menu.sudo().state = "draft"
        with self.assertRaisesRegex(charge_engine.BadRequest, "unknown products: RICE"):
            self.send(self.till, self.card(self.alice), items=items)
        answer = self.send(self.till, self.card(self.alice), items=[{"product": "PORK"}])
        self.assertEqual(answer["charged"], "12.00")
        self.assertEqual(self.balances(self.alice), (64.0, 0.0))

    def test_payment_qr_code(self):
        self.canteen.booking_required = False
        self.env.flush_all()
        key = charge_engine.load_terminal(self.env.cr, self.face.serial).qr_key
        uid = self.alice.current_card_id.uid
        now = int(LUNCH.timestamp())

        def qr(payload):
            return {"type": "qr", "value": payload}

        fresh = charge_engine.qr_payload(key, uid, now + 60)
        answer = self.send(self.face, qr(fresh))
        self.assertEqual((answer["status"], answer["cardholder"]["name"]), ("approved", "Alice"))
        transaction = self.env["canteen.transaction"].search([("name", "=", answer["transaction_id"])])
        self.assertEqual((transaction.identity_type, transaction.employee_id), ("qr", self.alice))
        expired = charge_engine.qr_payload(key, uid, now - 30)
        self.assertEqual(self.send(self.face, qr(expired))["reason"], "qr_expired")
        # Forged: another person's UID under Alice's signature, a made-up signature, a bare UID.
        _prefix, _uid, expires, signature = fresh.split(".")
        bob_uid = self.bob.current_card_id.uid
        for forged in (
            f"CQ1.{bob_uid}.{expires}.{signature}",
            f"CQ1.{uid}.{int(expires) + 3600}.{signature}",
            charge_engine.qr_payload(b"another key", bob_uid, now + 60),
            uid,
        ):
            with self.subTest(forged=forged):
                answer = self.send(self.face, qr(forged))
                self.assertEqual((answer["status"], answer["reason"]), ("declined", "unknown_identity"))
        loaded = charge_engine.load_terminal(self.env.cr, self.face.serial)
        balance = charge_engine.balance(Unit.savepoint(self.env.cr, "b"), loaded, qr(fresh))
        self.assertEqual(balance["balances"]["cash"], "85.00")
        self.assertIsNone(charge_engine.balance(Unit.savepoint(self.env.cr, "b"), loaded, qr(expired)))
        # Once the card is reported lost, its codes are refused even while fresh.
        self.alice.current_card_id.action_report_loss()
        answer = self.send(self.face, qr(charge_engine.qr_payload(key, uid, now + 60)))
        self.assertEqual((answer["status"], answer["reason"]), ("declined", "card_lost"))
        self.assertEqual(self.balances(self.alice), (85.0, 0.0))

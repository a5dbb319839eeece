import itertools
from datetime import UTC, datetime, timedelta

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.canteen_card.tests.common import CanteenCardCase

from ..tools import charge_engine
from ..tools.sql_unit import Unit


@tagged("post_install", "-at_install")
class TestChargeRules(CanteenCardCase):
    """The charge path the bridge runs (the same engine and SQL, on Odoo's cursor): dedup scope,
    occurred_at bounds, ambiguous identities, the exception queue, cashier versus device
    sequences."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.canteen_dedup_window = 60
        cls.other_merchant = cls.env["canteen.merchant"].create(
            {"name": "Supermarket", "company_id": cls.company.id}
        )
        Terminal = cls.env["canteen.terminal"]
        vals = {"company_id": cls.company.id, "merchant_id": cls.merchant.id, "fixed_amount": 10}
        cls.fixed = Terminal.create(dict(vals, name="Face 1", number=1, serial="RULE-1", mode="fixed"))
        cls.fixed_2 = Terminal.create(dict(vals, name="Face 2", number=2, serial="RULE-2", mode="fixed"))
        cls.free = Terminal.create(dict(vals, name="Till", number=3, serial="RULE-3", mode="free"))
        cls.elsewhere = Terminal.create(
            dict(
                vals, name="Shop", number=4, serial="RULE-4", mode="fixed", merchant_id=cls.other_merchant.id
            )
        )
        cls.seqs = itertools.count(1)

    def send(self, terminal, holder, amount=None, *, offline=False, occurred=None, seq=None, identity=None):
        self.env.flush_all()
        loaded = charge_engine.load_terminal(self.env.cr, terminal.serial)
        request = {
            "seq": seq or next(self.seqs),
            "identity": identity or {"type": "card", "value": holder.current_card_id.uid},
            "occurred_at": (occurred or datetime.now(UTC)).isoformat(),
            "amount": amount,
        }
        answer = charge_engine.charge(Unit.savepoint(self.env.cr, "rule"), loaded, request, offline=offline)
        self.env.invalidate_all()
        return answer

    def test_dedup_only_at_automatic_terminals_of_the_same_merchant(self):
        self.topup(self.alice, 100)
        first = self.send(self.fixed, self.alice)
        self.assertEqual((first["charged"], first["deduplicated"]), ("10.00", False))
        again = self.send(self.fixed_2, self.alice)
        self.assertEqual((again["charged"], again["deduplicated"]), ("0.00", True))
        # Another merchant's purchase, or an amount typed at a till, is never given away.
        shop = self.send(self.elsewhere, self.alice)
        self.assertEqual((shop["charged"], shop["deduplicated"]), ("10.00", False))
        till = self.send(self.free, self.alice, "99.00")
        self.assertEqual((till["charged"], till["deduplicated"]), ("99.00", False))
        self.assertEqual(self.balances(self.alice), (-19.0, 0.0))

    def test_online_charges_are_booked_at_the_server_time(self):
        self.topup(self.alice, 50)
        for skew in (timedelta(days=365), timedelta(days=-365), timedelta(minutes=6)):
            with self.subTest(skew=skew), self.assertRaisesRegex(charge_engine.BadRequest, "300 s"):
                self.send(self.free, self.alice, "1.00", occurred=datetime.now(UTC) + skew)
        answer = self.send(self.free, self.alice, "1.00", occurred=datetime.now(UTC) - timedelta(seconds=200))
        self.assertEqual(answer["status"], "approved")
        entry = self.env["canteen.ledger.entry"].search([("transaction_ref", "=", answer["transaction_id"])])
        transaction = self.env["canteen.transaction"].search([("name", "=", answer["transaction_id"])])
        self.assertLess(abs(entry.date - datetime.now(UTC).replace(tzinfo=None)), timedelta(seconds=60))
        self.assertLess(transaction.occurred_at, entry.date - timedelta(seconds=150))
        # A terminal, not a user, wrote both rows.
        nobody = self.env["res.users"]
        self.assertEqual((transaction.create_uid, entry.create_uid), (nobody, nobody))

    def test_offline_records_within_the_days_and_never_in_the_future(self):
        self.topup(self.alice, 50)
        now = datetime.now(UTC)
        for occurred in (now - timedelta(days=8), now + timedelta(hours=1), now + timedelta(days=400)):
            with self.subTest(occurred=occurred):
                answer = self.send(self.free, self.alice, "2.00", offline=True, occurred=occurred)
                self.assertEqual((answer["status"], answer["reason"]), ("declined", "invalid_time"))
        self.company.canteen_offline_max_days = 10
        answer = self.send(self.free, self.alice, "2.00", offline=True, occurred=now - timedelta(days=8))
        self.assertEqual(answer["status"], "approved")
        self.assertEqual(self.balances(self.alice), (48.0, 0.0))

    def test_an_ambiguous_employee_number_is_declined(self):
        branch = self._make_company("Rules Branch", parent=self.company)
        twin = self._make_cardholder("Twin", "T-TWIN", branch)
        self.topup(self.alice, 20)
        # Legacy rows that break the group-wide rule (the ORM refuses them now).
        with self.assertRaises(Exception), self.cr.savepoint():  # noqa: B017 - ValidationError
            twin.employee_no = self.alice.employee_no
        self.env.cr.execute(
            "UPDATE hr_employee SET employee_no = %s WHERE id = %s", [self.alice.employee_no, twin.id]
        )
        answer = self.send(
            self.free, self.alice, "1.00", identity={"type": "employee", "value": self.alice.employee_no}
        )
        self.assertEqual((answer["status"], answer["reason"]), ("declined", "unknown_identity"))
        loaded = charge_engine.load_terminal(self.env.cr, self.free.serial)
        identity = {"type": "employee", "value": self.alice.employee_no}
        self.assertIsNone(charge_engine.balance(Unit.savepoint(self.env.cr, "b"), loaded, identity))
        self.assertEqual(self.balances(self.alice), (20.0, 0.0))

    def test_offline_record_of_a_cancelled_card_goes_to_the_exception_queue(self):
        self.env["canteen.meal.period"].create(
            {"merchant_id": self.merchant.id, "kind": "dinner", "hour_from": 0, "hour_to": 24}
        )
        self.company.resource_calendar_id.tz = "Asia/Shanghai"
        self.topup(self.bob, 30)
        card = self.bob.current_card_id
        self.bob._canteen_cancel(card_cost=0)
        self.assertEqual(self.balances(self.bob), (0.0, 0.0))
        # 18:00 UTC is 02:00 of the next day in Shanghai: the record's day is not the UTC day.
        occurred = datetime.now(UTC).replace(hour=18, minute=0, second=0, microsecond=0)
        occurred -= timedelta(days=1 if occurred > datetime.now(UTC) else 0)
        answer = self.send(
            self.free,
            self.bob,
            "8.00",
            offline=True,
            occurred=occurred,
            identity={"type": "card", "value": card.uid},
        )
        self.assertEqual((answer["status"], answer["reason"]), ("exception", "card_cancelled"))
        transaction = self.env["canteen.transaction"].search([("name", "=", answer["transaction_id"])])
        self.assertEqual((transaction.exception_state, transaction.amount_requested), ("open", 8))
        self.assertEqual(
            (transaction.meal_kind, transaction.business_date),
            ("dinner", (occurred + timedelta(hours=8)).date()),
        )
        # The company moves to UTC before the exception is charged: the charge keeps the
        # record's day and meal (the ledger would otherwise reckon the day anew).
        self.company.resource_calendar_id.tz = "UTC"
        self.assertEqual(self.balances(self.bob), (0.0, 0.0), "nothing charged onto the refunded wallet")
        operator = self._user("rules_operator", "canteen_card.group_card_operator", [self.company])
        with self.assertRaises(AccessError):
            transaction.with_user(operator).action_exception_charge()
        transaction.action_exception_charge()
        self.assertEqual(self.balances(self.bob), (-8.0, 0.0))
        entry = self.env["canteen.ledger.entry"].search([("transaction_ref", "=", transaction.name)])
        self.assertEqual(
            (entry.kind, entry.meal_kind, entry.business_date, entry.charge_count),
            ("charge", "dinner", transaction.business_date, 1),
        )
        self.assertEqual(transaction.exception_state, "charged")
        with self.assertRaises(UserError):
            transaction.action_exception_dismiss()

    def test_cashier_sequences_never_meet_a_device_sequence(self):
        self.topup(self.alice | self.bob, 40)
        sequence = self.env["ir.sequence"].search([("code", "=", "canteen.cashier.seq")])
        upcoming = sequence.number_next_actual
        device = self.send(self.free, self.bob, "0.50", seq=upcoming)
        self.assertEqual(device["status"], "approved")
        wizard = self.env["canteen.cashier.wizard"].create(
            {"terminal_id": self.free.id, "employee_no": self.alice.employee_no, "amount": 25}
        )
        wizard.action_charge()
        self.assertIn(self.alice.name, wizard.result)
        self.assertEqual(self.balances(self.alice), (15.0, 0.0))
        self.assertEqual(self.balances(self.bob), (39.5, 0.0))

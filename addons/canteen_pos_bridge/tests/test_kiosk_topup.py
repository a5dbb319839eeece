import itertools
from datetime import UTC, datetime

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from odoo.addons.canteen_card.tests.common import CanteenCardCase

from ..tools import charge_engine, topup_engine
from ..tools.sql_unit import Unit


@tagged("post_install", "-at_install")
class TestKioskTopup(CanteenCardCase):
    """Self-service top-ups and attendance events as the bridge runs them (the same engine and
    SQL, on Odoo's cursor): allowed amounts, replays, declines, the books, the records."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.journal = cls.env["account.journal"].search(
            [("company_id", "=", cls.company.id), ("type", "=", "cash")], limit=1
        )
        Terminal = cls.env["canteen.terminal"]
        cls.kiosk = Terminal.create(
            {
                "name": "Kiosk",
                "number": 31,
                "serial": "KIOSK-31",
                "kind": "kiosk",
                "company_id": cls.company.id,
                "topup_amounts": "50, 100,200",
                "topup_journal_id": cls.journal.id,
            }
        )
        cls.till = Terminal.create(
            {
                "name": "Till",
                "number": 32,
                "serial": "TILL-32",
                "company_id": cls.company.id,
                "merchant_id": cls.merchant.id,
                "attendance_point": True,
            }
        )
        cls.seqs = itertools.count(1)

    def run_engine(self, function, terminal, holder=None, *, seq=None, identity=None, **extra):
        self.env.flush_all()
        loaded = charge_engine.load_terminal(self.env.cr, terminal.serial)
        request = {
            "seq": seq or next(self.seqs),
            "identity": identity or {"type": "card", "value": holder.current_card_id.uid},
            "occurred_at": datetime.now(UTC).isoformat(),
            **extra,
        }
        try:
            return function(Unit.savepoint(self.env.cr, "kiosk"), loaded, request)
        finally:
            self.env.invalidate_all()

    def top_up(self, holder=None, amount="100.00", **kwargs):
        return self.run_engine(topup_engine.topup, self.kiosk, holder, amount=amount, **kwargs)

    def test_allowed_amount_credits_the_cash_wallet_once(self):
        answer = self.top_up(self.alice, "100.00", seq=7)
        self.assertEqual(
            (answer["status"], answer["amount"], answer["balances"], answer["replayed"]),
            ("approved", "100.00", {"cash": "100.00", "subsidy": "0.00"}, False),
        )
        self.assertEqual(answer["cardholder"], {"name": "Alice", "employee_no": "A001"})
        again = self.top_up(self.alice, "100.00", seq=7)
        self.assertEqual(again, dict(answer, replayed=True))
        self.assertEqual(self.balances(self.alice), (100.0, 0.0))
        topup = self.env["canteen.terminal.topup"].search([("name", "=", answer["topup_id"])])
        self.assertEqual((topup.status, topup.amount, topup.employee_id), ("approved", 100, self.alice))
        entry = self.env["canteen.ledger.entry"].search([("transaction_ref", "=", topup.name)])
        self.assertEqual((entry.kind, entry.wallet_kind, entry.amount), ("topup", "cash", 100))
        self.assertEqual((entry.terminal_id, entry.operation_id), (self.kiosk, topup.operation_id))
        self.assertEqual(topup.operation_id.payment_journal_id, self.journal)
        if "canteen.report" in self.env:  # the daily top-up figures, under the kiosk's journal
            day = entry.business_date
            filters = {"date_from": day, "date_to": day, "company_ids": [self.company.id]}
            table = self.env["canteen.report"]._summary("daily_topup", filters)
            self.assertEqual(
                [values[0] for key, values in table["rows"] if key[1] == self.journal.display_name], [100]
            )
        # Booked by the cron the bridge triggers: the kiosk's cash journal against the liability.
        trigger = self.env["ir.cron.trigger"].search(
            [("cron_id", "=", self.env.ref("canteen_pos_bridge.ir_cron_book_kiosk_topups").id)]
        )
        self.assertTrue(trigger)
        self.assertFalse(topup.move_id)
        self.env["canteen.terminal.topup"]._cron_book()
        self.assertEqual(topup.move_id.state, "posted")
        self.assertEqual(topup.move_id.journal_id, self.journal)
        self.assertEqual(topup.move_id.amount_total, 100)
        # tearDown checks the reconciliation: wallets, ledger and books agree.

    def test_refused_amounts_and_identities_are_declines(self):
        cases = [
            (self.alice, "70.00", None, "amount_not_allowed"),
            (None, "50.00", {"type": "card", "value": "NOBODY"}, "unknown_identity"),
            (None, "50.00", {"type": "qr", "value": "CQ1.X.1.Y"}, "unknown_identity"),
        ]
        for holder, amount, identity, reason in cases:
            with self.subTest(reason=reason, amount=amount):
                answer = self.top_up(holder, amount, identity=identity)
                self.assertEqual(
                    (answer["status"], answer["reason"], answer["amount"]), ("declined", reason, "0.00")
                )
        self.bob.current_card_id.sudo().write({"state": "lost"})
        answer = self.top_up(identity={"type": "card", "value": "UIDB002"}, amount="50.00")
        self.assertEqual((answer["status"], answer["reason"]), ("declined", "card_lost"))
        # The card type's maximum balance (1000).
        self.top_up(self.alice, "200.00")
        for _n in range(3):
            self.top_up(self.alice, "200.00")
        self.assertEqual(self.top_up(self.alice, "200.00")["status"], "approved")
        answer = self.top_up(self.alice, "50.00")
        self.assertEqual((answer["status"], answer["reason"]), ("declined", "max_balance"))
        self.assertEqual(self.balances(self.alice), (1000.0, 0.0))
        # By employee number, as a face terminal after identifying someone.
        self.alice.card_type_id.max_balance = 0
        answer = self.top_up(identity={"type": "employee", "value": "A001"}, amount="50.00")
        self.assertEqual(answer["balances"]["cash"], "1050.00")
        declined = self.env["canteen.terminal.topup"].search(
            [("status", "=", "declined"), ("terminal_id", "=", self.kiosk.id)]
        )
        self.assertEqual(len(declined), 5)
        self.assertFalse(declined.operation_id)
        self.env["canteen.terminal.topup"]._cron_book()

    def test_only_configured_kiosks_top_up(self):
        with self.assertRaises(topup_engine.Refused) as refused:
            self.run_engine(topup_engine.topup, self.till, self.alice, amount="50.00")
        self.assertEqual((refused.exception.status, refused.exception.code), (403, "not_a_kiosk"))
        self.kiosk.topup_journal_id = False
        with self.assertRaises(topup_engine.Refused) as refused:
            self.top_up(self.alice, "50.00")
        self.assertEqual(refused.exception.code, "topup_not_configured")
        with self.assertRaises(charge_engine.BadRequest):
            self.top_up(self.alice, 50)  # a number, not a decimal string
        self.assertFalse(self.env["canteen.terminal.topup"].search([("terminal_id", "=", self.kiosk.id)]))
        self.assertEqual(self.balances(self.alice), (0.0, 0.0))

    def test_kiosk_settings_are_validated(self):
        for amounts in ("50,abc", "50,,100", "-5", "0.001"):
            with self.subTest(amounts=amounts), self.assertRaises(ValidationError):
                self.kiosk.topup_amounts = amounts
        sales = self.env["account.journal"].search(
            [("company_id", "=", self.company.id), ("type", "=", "sale")], limit=1
        )
        with self.assertRaises(ValidationError):
            self.kiosk.topup_journal_id = sales

    def test_attendance_events_are_recorded_once(self):
        answer = self.run_engine(topup_engine.attendance, self.till, self.alice, seq=5)
        self.assertEqual(
            (answer["status"], answer["cardholder"]["employee_no"], answer["replayed"]),
            ("recorded", "A001", False),
        )
        self.assertEqual(
            self.run_engine(topup_engine.attendance, self.till, self.alice, seq=5),
            dict(answer, replayed=True),
        )
        unknown = self.run_engine(
            topup_engine.attendance, self.till, identity={"type": "face", "value": "F-NONE"}
        )
        self.assertEqual((unknown["status"], unknown["reason"]), ("declined", "unknown_identity"))
        events = self.env["canteen.attendance.event"].search([("terminal_id", "=", self.till.id)], order="id")
        self.assertEqual(events.mapped("state"), ["pending", "ignored"])
        self.assertEqual(events[0].employee_id, self.alice)
        with self.assertRaises(topup_engine.Refused) as refused:
            self.run_engine(topup_engine.attendance, self.kiosk, self.alice)
        self.assertEqual(refused.exception.code, "not_attendance_point")

    def test_records_are_read_only(self):
        self.top_up(self.alice, "50.00")
        self.run_engine(topup_engine.attendance, self.till, self.alice)
        operator = self._user("kiosk_operator", "canteen_card.group_card_operator", [self.company])
        topup = self.env["canteen.terminal.topup"].with_user(operator).search([])
        self.assertEqual(topup.terminal_id, self.kiosk, "the operator's company only")
        for model in ("canteen.terminal.topup", "canteen.attendance.event"):
            record = self.env[model].search([("company_id", "=", self.company.id)], limit=1)
            with self.subTest(model=model), self.assertRaises(AccessError):
                record.with_user(operator).write({"seq": 99})
            with self.subTest(model=model), self.assertRaises(AccessError):
                record.with_user(operator).unlink()
        self.env["canteen.terminal.topup"]._cron_book()

from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.canteen_card.tests.common import CanteenCardCase


@tagged("post_install", "-at_install")
class TestCashierAndTerminalAdmin(CanteenCardCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.terminal = cls.env["canteen.terminal"].create(
            {
                "name": "Desk",
                "number": 5,
                "serial": "DESK-5",
                "company_id": cls.company.id,
                "merchant_id": cls.merchant.id,
            }
        )

    def cashier(self, employee, amount):
        wizard = self.env["canteen.cashier.wizard"].create(
            {"terminal_id": self.terminal.id, "employee_no": employee.employee_no, "amount": amount}
        )
        wizard.action_charge()
        return wizard

    def test_cashier_charges_through_the_engine_and_ledger(self):
        self.topup(self.alice, 30)
        wizard = self.cashier(self.alice, 12.5)
        self.assertIn("12.50", wizard.result)
        self.assertEqual(self.balances(self.alice), (17.5, 0.0))
        # Recorded on the cashier's own virtual terminal of the device, never on the device.
        virtual = (
            self.env["canteen.terminal"]
            .with_context(active_test=False)
            .search([("device_id", "=", self.terminal.id), ("cashier_user_id", "=", self.env.uid)])
        )
        self.assertEqual(
            (virtual.kind, virtual.enabled, virtual.merchant_id), ("cashier", False, self.merchant)
        )
        self.assertFalse(self.env["canteen.transaction"].search([("terminal_id", "=", self.terminal.id)]))
        transaction = self.env["canteen.transaction"].search([("terminal_id", "=", virtual.id)])
        self.assertEqual((transaction.status, transaction.charged), ("approved", 12.5))
        entry = self.env["canteen.ledger.entry"].search([("transaction_ref", "=", transaction.name)])
        self.assertEqual((entry.terminal_id, entry.merchant_id), (virtual, self.merchant))
        # The cashier is the operator of the charge (a terminal's charges have none).
        self.assertEqual((transaction.create_uid, entry.create_uid), (self.env.user, self.env.user))

    def test_cashier_declines_with_the_reason(self):
        self.topup(self.bob, 5)
        with self.assertRaisesRegex(UserError, "Insufficient funds"):
            self.cashier(self.bob, 25.01)  # 5.00 plus the card type's 20.00 overdraft, and a cent
        self.bob.current_card_id.action_report_loss()
        with self.assertRaisesRegex(UserError, "Card lost"):
            self.cashier(self.bob, 1)
        self.assertEqual(self.balances(self.bob), (5.0, 0.0))

    def test_secret_is_shown_once_then_only_rotated(self):
        secret = self.terminal.sudo().secret
        self.assertEqual(len(secret), 64)
        action = self.terminal.action_show_secret()
        shown = self.env["canteen.terminal.secret.wizard"].browse(action["res_id"])
        self.assertEqual(shown.secret, secret)
        with self.assertRaises(UserError):
            self.terminal.action_show_secret()
        rotated = self.env["canteen.terminal.secret.wizard"].browse(
            self.terminal.action_rotate_secret()["res_id"]
        )
        self.assertNotEqual(rotated.secret, secret)
        self.assertEqual(self.terminal.sudo().secret, rotated.secret)

    def test_online_state_and_silent_terminal_alert(self):
        self.assertEqual(self.terminal.online_state, "never")
        now = fields.Datetime.now()
        self.terminal.write({"last_seen": now - timedelta(seconds=60)})
        self.assertEqual(self.terminal.online_state, "online")
        self.terminal.write({"last_seen": now - timedelta(minutes=10)})
        self.terminal.invalidate_recordset(["online_state"])
        self.assertEqual(self.terminal.online_state, "offline")
        self.company.resource_calendar_id = False  # no calendar: always working hours
        silent = self.env["canteen.terminal"]._cron_alert_silent_terminals()
        self.assertIn(self.terminal, silent)
        self.assertEqual(len(self.terminal.activity_ids), 1)
        self.env["canteen.terminal"]._cron_alert_silent_terminals()
        self.assertEqual(len(self.terminal.activity_ids), 1, "one alert per silence")

    def test_no_alert_outside_working_hours(self):
        self.company.resource_calendar_id.tz = "UTC"
        with freeze_time("2026-11-22 03:00:00"):  # a Sunday night
            self.terminal.write({"last_seen": fields.Datetime.now() - timedelta(minutes=10)})
            self.env["canteen.terminal"]._cron_alert_silent_terminals()
        self.assertFalse(self.terminal.activity_ids)

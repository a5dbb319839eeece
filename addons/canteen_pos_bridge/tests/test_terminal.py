from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestTerminal(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Terminal = cls.env["canteen.terminal"]
        cls.company_a = cls.env["res.company"].create({"name": "Terminal Co A"})
        cls.company_b = cls.env["res.company"].create({"name": "Terminal Co B"})

    def _terminal(self, number, serial, company):
        return self.Terminal.create(
            {"name": f"T{number}", "number": number, "serial": serial, "company_id": company.id}
        )

    def test_number_range(self):
        for bad in (0, 1000, -5):
            with self.subTest(number=bad), self.assertRaises(ValidationError):
                self._terminal(bad, f"SN-BAD-{bad}", self.company_a)
        self.assertEqual(self._terminal(999, "SN-999", self.company_a).number, 999)

    @mute_logger("odoo.sql_db")
    def test_number_unique_per_company_serial_unique_everywhere(self):
        self._terminal(1, "SN-A1", self.company_a)
        self.assertTrue(self._terminal(1, "SN-B1", self.company_b))
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            self._terminal(1, "SN-A1-bis", self.company_a)
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            self._terminal(2, "SN-A1", self.company_b)

    def test_access_by_group_and_company(self):
        terminal_a = self._terminal(7, "SN-A7", self.company_a)
        terminal_b = self._terminal(7, "SN-B7", self.company_b)
        auditor = new_test_user(
            self.env,
            "terminal_auditor",
            groups="canteen_card.group_card_auditor",
            company_id=self.company_a.id,
            company_ids=[self.company_a.id],
        )
        visible = self.Terminal.with_user(auditor).search([("id", "in", (terminal_a | terminal_b).ids)])
        self.assertEqual(visible, terminal_a)
        with self.assertRaises(AccessError):
            terminal_a.with_user(auditor).write({"name": "renamed"})
        manager = new_test_user(
            self.env,
            "terminal_manager",
            groups="canteen_pos_bridge.group_terminal_manager",
            company_id=self.company_a.id,
            company_ids=[self.company_a.id],
        )
        terminal_a.with_user(manager).write({"name": "renamed"})
        self.assertEqual(terminal_a.name, "renamed")

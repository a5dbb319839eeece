from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import CanteenCardCase


@tagged("post_install", "-at_install")
class TestBooksLocked(CanteenCardCase):
    """An accountant cannot unpost, change or delete what the ledger booked (issue 11, item 2);
    a reversal is the way to correct, and the reconciliation finds it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = cls._user(
            "books_accountant",
            "account.group_account_manager,canteen_card.group_card_finance,canteen_card.group_card_auditor",
            cls.company,
        )

    def _as_accountant(self, record):
        return record.with_user(self.accountant).with_context(allowed_company_ids=[self.company.id])

    def _set_state(self, move, state):
        self.env.cr.execute("UPDATE account_move SET state = %s WHERE id = %s", [state, move.id])
        self.env.cr.execute(
            "UPDATE account_move_line SET parent_state = %s WHERE move_id = %s", [state, move.id]
        )
        self.env.invalidate_all()

    def test_ledger_entries_cannot_be_unposted_changed_or_deleted(self):
        topup = self.topup(self.alice, 100).move_id  # the desk's cash journal
        self.grant(30, employees=self.alice)
        grant = self.env["canteen.operation"].search([("kind", "=", "subsidy_grant")], limit=1).move_id
        for move in (topup, grant):
            self.assertTrue(move.canteen_locked)
            as_accountant = self._as_accountant(move)
            self.assertFalse(as_accountant.show_reset_to_draft_button)
            with self.assertRaisesRegex(UserError, "cannot be reset to draft|locked journal entry"):
                as_accountant.button_draft()
            with self.assertRaisesRegex(UserError, "cannot be reset to draft|locked journal entry"):
                as_accountant.button_cancel()
            with self.assertRaisesRegex(UserError, "canteen ledger"):
                as_accountant.write({"ref": "changed"})
            with self.assertRaisesRegex(UserError, "canteen ledger|protected by a hash"):
                as_accountant.write({"date": "2020-01-01"})
            line = self._as_accountant(move.line_ids[0])
            with self.assertRaisesRegex(UserError, "canteen ledger|hashed"):
                line.write({"debit": line.debit + 100, "credit": line.credit})
            with self.assertRaisesRegex(UserError, "canteen ledger"):
                as_accountant.write(
                    {"line_ids": [Command.create({"account_id": line.account_id.id, "debit": 1})]}
                )
            with self.assertRaisesRegex(UserError, "canteen ledger|locked"):
                line.unlink()
            with self.assertRaisesRegex(UserError, "canteen ledger|audit trail|hash|locked"):
                as_accountant.unlink()
            self.assertEqual(move.state, "posted")
        with self.assertRaisesRegex(UserError, "Only the canteen ledger"):
            self._as_accountant(self.env["account.move"]).create(
                {"journal_id": grant.journal_id.id, "canteen_locked": True}
            )
        # Reading and matching stay open: the accountant can still mark an entry checked.
        self._as_accountant(topup).write({"checked": True})

    def test_a_reversal_is_found_from_the_difference(self):
        move = self.topup(self.alice, 100).move_id
        reversal = self._as_accountant(move)._reverse_moves([{"ref": "accountant's reversal"}])
        reversal.action_post()
        row = self.env["canteen.reconciliation"].search(
            [("company_id", "=", self.company.id), ("line_kind", "=", "cash")]
        )
        self.assertEqual(row.difference, -100)
        items = self.env["account.move.line"].search(
            self._as_accountant(row).action_view_difference_items()["domain"]
        )
        self.assertEqual(items.move_id, reversal, "the drill-down shows the entry behind the difference")
        self.assertFalse(
            self.env["canteen.ledger.entry"].search(row.action_view_unbooked_entries()["domain"])
        )
        # The reversal is the accountant's own entry: it can be reset to draft, and reversing it
        # makes the books agree again.
        self._as_accountant(reversal).button_draft()
        self._as_accountant(reversal).action_post()
        self._as_accountant(reversal)._reverse_moves([{"ref": "undo"}]).action_post()

    def test_entries_without_a_posted_journal_entry_are_found(self):
        operation = self.topup(self.alice, 40)
        # Only a database change can do this now (the guard refuses it through the ORM).
        self._set_state(operation.move_id, "draft")
        row = self.env["canteen.reconciliation"].search(
            [("company_id", "=", self.company.id), ("line_kind", "=", "cash")]
        )
        self.assertEqual(row.difference, -40)
        entries = self.env["canteen.ledger.entry"].search(row.action_view_unbooked_entries()["domain"])
        self.assertEqual(entries, operation.entry_ids)
        items = self.env["account.move.line"].search(row.action_view_difference_items()["domain"])
        self.assertEqual(items.move_id, operation.move_id)
        self._set_state(operation.move_id, "posted")

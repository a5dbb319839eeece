from unittest.mock import patch

from odoo.tests import TransactionCase, tagged

from ..tools import delivery
from .delivery_common import DeliveryMixin


@tagged("post_install", "-at_install")
class TestListChangeDelivery(DeliveryMixin, TransactionCase):
    """A list change is stored once for its company; terminals of that company and of its
    parents read it after their cursor; a new terminal gets the whole list first."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Company = cls.env["res.company"]
        cls.hq = Company.create({"name": "Delivery HQ"})
        cls.branch = Company.create({"name": "Delivery Branch", "parent_id": cls.hq.id})
        cls.sibling = Company.create({"name": "Delivery Sibling", "parent_id": cls.hq.id})
        cls.env.user.company_ids |= cls.hq | cls.branch | cls.sibling
        Terminal = cls.env["canteen.terminal"]
        cls.hq_terminal = Terminal.create(
            {"name": "HQ", "number": 1, "serial": "DLV-HQ", "company_id": cls.hq.id}
        )
        cls.branch_terminal = Terminal.create(
            {"name": "Branch", "number": 1, "serial": "DLV-BR", "company_id": cls.branch.id}
        )
        cls.sibling_terminal = Terminal.create(
            {"name": "Sibling", "number": 1, "serial": "DLV-SB", "company_id": cls.sibling.id}
        )
        cls.employees = cls.env["hr.employee"].create(
            [{"name": f"Listed {n}", "company_id": cls.branch.id} for n in range(5)]
        )

    def drain(self, terminal, cursor=0):
        """Poll until nothing is left; (cursor, every command received)."""
        received = []
        while True:
            answer = self.poll(terminal, cursor)
            received += answer["commands"]
            if answer["cursor"] == cursor and not answer.get("snapshot", {}).get("more"):
                return cursor, received
            cursor = answer["cursor"]

    def test_one_row_per_change_for_own_and_parent_terminals_only(self):
        cursors = {
            t: self.drain(t)[0] for t in (self.hq_terminal, self.branch_terminal, self.sibling_terminal)
        }
        card = self.env["canteen.card"].create({"employee_id": self.employees[0].id, "uid": "DLV0001"})
        card.action_report_loss()
        card.action_unblock()
        self.number()
        changes = self.env["canteen.card.list.change"].search([("card_id", "=", card.id)])
        self.assertEqual(len(changes), 3, "stored once, whatever the number of terminals")
        self.assertFalse(
            self.env["canteen.terminal.command"].search([("terminal_id", "in", self.hq_terminal.ids)])
        )
        for terminal in (self.hq_terminal, self.branch_terminal):
            cursor, received = self.drain(terminal, cursors[terminal])
            self.assertEqual(
                [(c["type"], c["payload"]["reason"]) for c in received],
                [("whitelist.add", "issue"), ("blacklist.add", "loss"), ("blacklist.remove", "unblock")],
            )
            self.assertEqual(cursor, max(changes.mapped("position")))
            self.assertEqual(terminal.list_behind, 0)
        self.assertEqual(self.drain(self.sibling_terminal, cursors[self.sibling_terminal])[1], [])

    def test_new_terminal_gets_a_paged_snapshot_then_the_changes(self):
        cards = self.env["canteen.card"].create(
            [{"employee_id": e.id, "uid": f"SNAP{n}"} for n, e in enumerate(self.employees)]
        )
        cards[0].action_report_loss()
        self.number()
        self.branch_terminal.invalidate_recordset(["list_behind"])
        self.assertEqual(self.branch_terminal.list_behind, 0, "a terminal that never polled gets a snapshot")
        with patch.object(delivery, "SNAPSHOT_PAGE", 2):
            first = self.poll(self.branch_terminal, 0)
            self.assertEqual(first["commands"][0]["type"], "list.reset")
            self.assertTrue(first["snapshot"]["more"])
            cursor, rest = self.drain(self.branch_terminal, first["cursor"])
        received = first["commands"] + rest
        self.assertEqual(
            sorted((c["type"], c["payload"]["uid"]) for c in received if c["type"] != "list.reset"),
            sorted([("whitelist.add", f"SNAP{n}") for n in range(5)] + [("blacklist.add", "SNAP0")]),
        )
        self.assertEqual(cursor, first["cursor"])
        cards[1].action_report_loss()
        self.number()
        cursor, after = self.drain(self.branch_terminal, cursor)
        self.assertEqual([(c["type"], c["payload"]["uid"]) for c in after], [("blacklist.add", "SNAP1")])
        # "Resend full list": the next poll is a snapshot again.
        self.branch_terminal.action_resend_list()
        again = self.poll(self.branch_terminal, cursor)
        self.assertEqual(again["commands"][0]["type"], "list.reset")

    def test_own_commands_are_delivered_once_and_acknowledged(self):
        cursor = self.drain(self.hq_terminal)[0]
        Command = self.env["canteen.terminal.command"]
        Command._enqueue(self.hq_terminal, "params.update", {"mode": "fixed"})
        Command._enqueue(self.branch_terminal, "time.sync", {})
        self.number()
        cursor, received = self.drain(self.hq_terminal, cursor)
        self.assertEqual([c["type"] for c in received], ["params.update"])
        command = Command.search([("terminal_id", "=", self.hq_terminal.id)])
        self.assertEqual((command.state, command.position), ("delivered", received[0]["id"]))
        self.ack(self.hq_terminal, [{"id": received[0]["id"], "ok": True}])
        self.env.invalidate_all()
        self.assertEqual(command.state, "done")
        self.assertEqual(self.hq_terminal.acked_position, received[0]["id"])

    def test_a_cursor_older_than_the_kept_changes_gets_a_snapshot(self):
        card = self.env["canteen.card"].create({"employee_id": self.employees[0].id, "uid": "OLD0001"})
        self.number()
        cursor = self.drain(self.branch_terminal)[0]
        card.action_report_loss()
        self.number()
        self.env.cr.execute(
            "UPDATE canteen_card_list_change SET create_date = create_date - interval '40 days' "
            "WHERE card_id = %s",
            [card.id],
        )
        purged = self.env["canteen.terminal"]._cron_purge_delivered()
        self.assertGreater(purged, cursor)
        self.assertEqual(self.poll(self.branch_terminal, cursor)["commands"][0]["type"], "list.reset")

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestListChangeDelivery(TransactionCase):
    """Card state changes reach the terminals that serve the cardholder's company."""

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
        cls.off_terminal = Terminal.create(
            {"name": "Off", "number": 2, "serial": "DLV-OFF", "company_id": cls.branch.id, "enabled": False}
        )
        cls.employee = cls.env["hr.employee"].create({"name": "Listed", "company_id": cls.branch.id})

    def commands(self, command_type):
        return self.env["canteen.terminal.command"].search([("type", "=", command_type)])

    def test_issue_and_loss_reach_own_and_parent_terminals_only(self):
        card = self.env["canteen.card"].create({"employee_id": self.employee.id, "uid": "DLV0001"})
        issued = self.commands("whitelist.add").filtered(lambda c: c.payload["uid"] == "DLV0001")
        self.assertEqual(issued.terminal_id, self.hq_terminal | self.branch_terminal)
        card.action_report_loss()
        lost = self.commands("blacklist.add").filtered(lambda c: c.payload["uid"] == "DLV0001")
        self.assertEqual(lost.terminal_id, self.hq_terminal | self.branch_terminal)
        self.assertEqual({c.payload["reason"] for c in lost}, {"loss"})
        card.action_unblock()
        unblocked = self.commands("blacklist.remove").filtered(lambda c: c.payload["uid"] == "DLV0001")
        self.assertEqual(unblocked.terminal_id, self.hq_terminal | self.branch_terminal)
        self.assertTrue(all(c.state == "pending" for c in issued | lost | unblocked))

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.canteen_card.tests.common import CanteenCardCase

from ..tools import charge_engine
from ..tools.sql_unit import Unit


@tagged("post_install", "-at_install")
class TestCardsAcrossCompanies(CanteenCardCase):
    """A branch's card at its parent's canteen and at a sibling's, through the bridge's engine:
    accepted or declined (not_allowed_here) as the branch's settings say, online, offline and
    for balance inquiries; the Odoo-side charge follows the same rule."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.north = cls._make_company("Across North", parent=cls.company)
        cls.south = cls._make_company("Across South", parent=cls.company)
        cls.south_canteen = cls.env["canteen.merchant"].create(
            {"name": "South Canteen", "company_id": cls.south.id}
        )
        Terminal = cls.env["canteen.terminal"]
        cls.hq_till = Terminal.create(
            {
                "name": "HQ Till",
                "number": 1,
                "serial": "ACROSS-HQ",
                "company_id": cls.company.id,
                "merchant_id": cls.merchant.id,
                "mode": "free",
            }
        )
        cls.south_till = Terminal.create(
            {
                "name": "South Till",
                "number": 1,
                "serial": "ACROSS-S",
                "company_id": cls.south.id,
                "merchant_id": cls.south_canteen.id,
                "mode": "free",
            }
        )
        cls.nora = cls._make_cardholder("Nora", "ACR-N1", cls.north)
        cls.seqs = itertools.count(1)

    def send(self, terminal, holder, amount, *, offline=False):
        self.env.flush_all()
        loaded = charge_engine.load_terminal(self.env.cr, terminal.serial)
        request = {
            "seq": next(self.seqs),
            "identity": {"type": "card", "value": holder.current_card_id.uid},
            "occurred_at": datetime.now(UTC).isoformat(),
            "amount": amount,
        }
        answer = charge_engine.charge(Unit.savepoint(self.env.cr, "across"), loaded, request, offline=offline)
        self.env.invalidate_all()
        return answer

    def inquire(self, terminal, holder):
        self.env.flush_all()
        loaded = charge_engine.load_terminal(self.env.cr, terminal.serial)
        identity = {"type": "card", "value": holder.current_card_id.uid}
        return charge_engine.balance(Unit.savepoint(self.env.cr, "across_b"), loaded, identity)

    def test_branch_card_at_parent_and_sibling_canteens(self):
        self.topup(self.nora, 50)
        # By default (as before): at the parent's canteen, not at a sibling's.
        self.assertEqual(
            (self.north.canteen_cards_at_parent, self.north.canteen_cards_at_siblings), (True, False)
        )
        answer = self.send(self.hq_till, self.nora, "12.00")
        self.assertEqual((answer["status"], answer["charged"]), ("approved", "12.00"))
        transaction = self.env["canteen.transaction"].search([("name", "=", answer["transaction_id"])])
        self.assertEqual(transaction.company_id, self.north, "booked in the cardholder's company")
        entry = self.env["canteen.ledger.entry"].search([("transaction_ref", "=", answer["transaction_id"])])
        self.assertEqual((entry.company_id, entry.merchant_id), (self.north, self.merchant))

        refused = self.send(self.south_till, self.nora, "5.00")
        self.assertEqual((refused["status"], refused["reason"]), ("declined", "not_allowed_here"))
        # An offline record is declined the same way (recorded, nothing charged).
        offline = self.send(self.south_till, self.nora, "5.00", offline=True)
        self.assertEqual((offline["status"], offline["reason"]), ("declined", "not_allowed_here"))
        self.assertIsNone(self.inquire(self.south_till, self.nora))
        self.assertEqual(self.inquire(self.hq_till, self.nora)["balances"]["cash"], "38.00")
        with self.assertRaisesRegex(UserError, "another company"):
            self.Ledger._charge(self.nora, Decimal("5"), merchant=self.south_canteen)
        self.assertEqual(self.balances(self.nora), (38.0, 0.0))

        # North accepts its cards at its siblings' canteens, no longer at its parent's.
        self.north.write({"canteen_cards_at_siblings": True, "canteen_cards_at_parent": False})
        answer = self.send(self.south_till, self.nora, "5.00")
        self.assertEqual((answer["status"], answer["charged"]), ("approved", "5.00"))
        self.assertEqual(self.inquire(self.south_till, self.nora)["balances"]["cash"], "33.00")
        refused = self.send(self.hq_till, self.nora, "1.00")
        self.assertEqual((refused["status"], refused["reason"]), ("declined", "not_allowed_here"))
        self.assertEqual(self.balances(self.nora), (33.0, 0.0))

    def test_parent_card_at_a_branch_canteen(self):
        self.topup(self.alice, 20)
        self.assertEqual(self.send(self.south_till, self.alice, "3.00")["reason"], "not_allowed_here")
        self.company.canteen_cards_at_branches = True
        self.assertEqual(self.send(self.south_till, self.alice, "3.00")["status"], "approved")
        self.assertEqual(self.balances(self.alice), (17.0, 0.0))
        # Same rule as the engine's SQL, on the Odoo side.
        self.assertTrue(self.company._canteen_accepts_cards_at(self.south))
        self.assertFalse(self.south._canteen_accepts_cards_at(self.north))
        other_group = self.env["res.company"].create({"name": "Across Elsewhere"})
        self.assertFalse(self.company._canteen_accepts_cards_at(other_group))

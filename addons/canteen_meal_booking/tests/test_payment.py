from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools.misc import hmac

from odoo.addons.canteen_card.tests.common import CanteenCardCase

from ..models.payment_transaction import TEST_PAYMENTS_PARAM


@tagged("post_install", "-at_install")
class TestOnlineTopup(CanteenCardCase, HttpCase):
    """A cardholder tops up online from the portal with payment_demo: the done transaction
    credits the cash wallet once, against the provider's journal, however often it is notified."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env.ref("payment.payment_provider_demo").copy({"company_id": cls.company.id})
        cls.provider.write({"state": "test", "is_published": True})
        cls.env["ir.config_parameter"].sudo().set_param(TEST_PAYMENTS_PARAM, "1")
        cls.alice.user_id = cls._user("topup_alice", "base.group_portal", [cls.company])
        cls.currency = cls.company.currency_id

    def start_topup(self, amount, partner=None, provider=None):
        partner = partner or self.alice.user_id.partner_id
        return self.make_jsonrpc_request(
            "/my/canteen/topup/transaction",
            {
                "amount": amount,
                # payment.utils.generate_access_token, outside a request
                "access_token": hmac(
                    self.env(su=True), "generate_access_token", f"{partner.id}|{amount}|{self.currency.id}"
                ),
                "provider_id": (provider or self.provider).id,
                "payment_method_id": self.env.ref("payment_demo.payment_method_demo").id,
                "token_id": None,
                "flow": "direct",
                "tokenization_requested": False,
                "landing_route": "/my/canteen",
                "is_validation": False,
            },
        )

    def notify_done(self, reference):
        return self.make_jsonrpc_request(
            "/payment/demo/simulate_payment", {"reference": reference, "simulated_state": "done"}
        )

    def test_topup_is_credited_once(self):
        self.authenticate("topup_alice", "topup_alice")
        page = self.url_open("/my/canteen/topup?amount=30")
        self.assertEqual(page.status_code, 200)
        self.assertIn("/my/canteen/topup/transaction", page.text)
        values = self.start_topup(30.0)
        tx = self.env["payment.transaction"].search([("reference", "=", values["reference"])])
        self.assertEqual((tx.canteen_employee_id, tx.state), (self.alice, "draft"))
        self.assertEqual(self.balances(self.alice), (0.0, 0.0), "nothing before the payment is done")
        # The provider notifies twice; the transaction is post-processed by the status page and
        # again by the cron: one credit.
        self.notify_done(values["reference"])
        self.notify_done(values["reference"])
        tx.invalidate_recordset()
        self.assertEqual(tx.state, "done")
        tx._post_process()
        tx.is_post_processed = False  # as the cron finds it when the status page did not run
        tx._post_process()
        tx._post_process()
        self.assertEqual(self.balances(self.alice), (30.0, 0.0))
        operation = tx.canteen_operation_id
        self.assertEqual((operation.kind, operation.amount_total), ("topup", 30))
        self.assertEqual(operation.payment_journal_id, self.provider.journal_id)
        self.assertEqual(operation.move_id.journal_id, self.provider.journal_id)
        self.assertFalse(tx.payment_id, "the operation books the money, no second payment entry")
        self.assertEqual(self.env["canteen.operation"].search_count([("note", "=", tx.reference)]), 1)

    def test_topup_refusals(self):
        self.authenticate("topup_alice", "topup_alice")
        # A page's token for someone else, or a provider that does not credit wallets.
        bob_partner = self.env["res.partner"].create({"name": "Bob's partner"})
        with self.assertRaisesRegex(JsonRpcException, "ValidationError"):
            self.start_topup(10.0, partner=bob_partner)
        self.env["ir.config_parameter"].sudo().set_param(TEST_PAYMENTS_PARAM, "")
        with self.assertRaisesRegex(JsonRpcException, "ValidationError"):
            self.start_topup(10.0)
        self.assertNotIn("o_payment_option", self.url_open("/my/canteen/topup?amount=10").text)
        # A test-mode payment done meanwhile is not credited.
        self.env["ir.config_parameter"].sudo().set_param(TEST_PAYMENTS_PARAM, "1")
        reference = self.start_topup(10.0)["reference"]
        self.env["ir.config_parameter"].sudo().set_param(TEST_PAYMENTS_PARAM, "")
        self.notify_done(reference)
        tx = self.env["payment.transaction"].search([("reference", "=", reference)])
        with self.assertRaises(UserError):
            tx._post_process()
        self.assertEqual(self.balances(self.alice), (0.0, 0.0))
        # Someone who is no cardholder has no top-up page.
        self.authenticate("admin", "admin")
        self.assertEqual(self.url_open("/my/canteen/topup?amount=10").status_code, 404)

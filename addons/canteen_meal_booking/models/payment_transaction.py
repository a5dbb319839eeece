from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

# A system parameter: whether payments of providers in test mode (the demo provider) credit
# wallets. Off unless set (the demo data sets it): test payments move no real money.
TEST_PAYMENTS_PARAM = "canteen_meal_booking.test_payments_credit"


class PaymentTransaction(models.Model):
    """An online top-up of a cardholder's cash wallet (from /my/canteen/topup): once the
    transaction is done, its post-processing credits the wallet through the ledger exactly once,
    booked against the provider's journal."""

    _inherit = "payment.transaction"

    canteen_employee_id = fields.Many2one(
        "hr.employee",
        string="Top-up Cardholder",
        readonly=True,
        index="btree_not_null",
        help="The cardholder whose cash wallet this payment tops up.",
    )
    canteen_operation_id = fields.Many2one(
        "canteen.operation",
        string="Top-up Operation",
        readonly=True,
        copy=False,
        help="The card desk operation that credited the wallet (set once).",
    )

    @api.model
    def _canteen_topup_providers(self, providers):
        """The providers whose payments may credit wallets: enabled ones, and test-mode ones
        only where the system parameter allows it."""
        allow_test = bool(self.env["ir.config_parameter"].sudo().get_param(TEST_PAYMENTS_PARAM))
        return providers.filtered(lambda p: p.state == "enabled" or (allow_test and p.state == "test"))

    def _post_process(self):
        result = super()._post_process()
        for tx in self.filtered(lambda t: t.state == "done" and t.canteen_employee_id):
            tx._canteen_credit_topup()
        return result

    def _create_payment(self, **extra_create_values):
        # The top-up operation books the money against the provider's journal: no second entry.
        if self.canteen_employee_id:
            return self.env["account.payment"]
        return super()._create_payment(**extra_create_values)

    def _canteen_credit_topup(self):
        """Credit the cardholder's cash wallet once: the transaction row is locked and its
        operation checked under the lock, so a second notification or a concurrent post-process
        credits nothing more."""
        self.ensure_one()
        self.env.flush_all()
        self.env.cr.execute(
            SQL("SELECT canteen_operation_id FROM payment_transaction WHERE id = %s FOR UPDATE", self.id)
        )
        if self.env.cr.fetchone()[0]:
            return self.canteen_operation_id
        tx = self.sudo()
        employee = tx.canteen_employee_id
        if not self._canteen_topup_providers(tx.provider_id):
            raise UserError(
                self.env._(
                    "Payments of %(provider)s in test mode do not credit canteen wallets.",
                    provider=tx.provider_id.name,
                )
            )
        if tx.currency_id != employee.company_id.currency_id:
            raise UserError(self.env._("A top-up is paid in the currency of the cardholder's company."))
        ledger = self.env["canteen.ledger"].sudo()
        amount = ledger._amount(tx.amount)

        def apply(operation, person):
            # Money already received is credited whatever the card's state or maximum balance.
            ledger._credit(
                person, "cash", amount, "topup", operation=operation, note=tx.reference, enforce_max=False
            )

        operation = (
            self.env["canteen.operation"]
            .sudo()
            ._perform(
                "topup", "cash", employee, apply, payment_journal=tx.provider_id.journal_id, note=tx.reference
            )
        )
        tx.canteen_operation_id = operation[:1]
        return operation

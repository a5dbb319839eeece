from werkzeug.exceptions import NotFound

from odoo import http
from odoo.exceptions import ValidationError
from odoo.http import request

from odoo.addons.payment import utils as payment_utils
from odoo.addons.payment.controllers.portal import PaymentPortal

MAX_TOPUP = 5000  # one online top-up at most, in the company's currency


class CanteenPaymentPortal(PaymentPortal):
    """Online top-up of the logged-in cardholder's cash wallet with the payment providers allowed
    for top-ups (see payment.transaction._canteen_topup_providers). The transaction names the
    cardholder from the session, never from the request."""

    def _canteen_topup_employee(self):
        employee = request.env["canteen.booking"]._canteen_portal_employee()
        if not employee or not employee.current_card_id:
            raise NotFound()
        return employee

    @http.route(["/my/canteen/topup"], type="http", auth="user", website=True, methods=["GET"])
    def portal_canteen_topup(self, amount=None, **kw):
        employee = self._canteen_topup_employee()
        value = self._cast_as_float(amount) or 0.0
        if not 0 < value <= MAX_TOPUP:
            return request.redirect("/my/canteen")
        currency = employee.company_id.currency_id
        return self.payment_pay(
            reference="CANTEEN",
            amount=value,
            currency_id=currency.id,
            company_id=employee.company_id.id,
            canteen_topup=True,
        )

    def _get_extra_payment_form_values(self, canteen_topup=False, **kwargs):
        values = super()._get_extra_payment_form_values(**kwargs)
        if canteen_topup:
            values.update(transaction_route="/my/canteen/topup/transaction", landing_route="/my/canteen")
        return values

    @http.route(["/my/canteen/topup/transaction"], type="json", auth="user")
    def portal_canteen_topup_transaction(self, amount, access_token, **kwargs):
        """The payment form's transaction route: the payer is the logged-in user's partner and
        the currency their company's, checked against the page's access token."""
        employee = self._canteen_topup_employee()
        partner_id = request.env.user.partner_id.id
        currency_id = employee.company_id.currency_id.id
        amount = amount and float(amount)
        if not payment_utils.check_access_token(access_token, partner_id, amount, currency_id):
            raise ValidationError(request.env._("The access token is invalid."))
        if not 0 < amount <= MAX_TOPUP:
            raise ValidationError(request.env._("A top-up is more than 0 and at most 5,000."))
        provider = request.env["payment.provider"].sudo().browse(int(kwargs.get("provider_id") or 0)).exists()
        Transaction = request.env["payment.transaction"]
        if not Transaction._canteen_topup_providers(provider) or provider.company_id != employee.company_id:
            raise ValidationError(request.env._("This payment provider does not top up canteen cards."))
        self._validate_transaction_kwargs(kwargs)
        tx_sudo = self._create_transaction(
            amount=amount,
            currency_id=currency_id,
            partner_id=partner_id,
            reference_prefix=f"CANTEEN-{employee.employee_no or employee.id}",
            custom_create_values={"canteen_employee_id": employee.id},
            **kwargs,
        )
        self._update_landing_route(tx_sudo, access_token)
        return tx_sudo._get_processing_values()

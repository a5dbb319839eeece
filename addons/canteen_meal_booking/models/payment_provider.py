from odoo import api, models


class PaymentProvider(models.Model):
    _inherit = "payment.provider"

    @api.model
    def _get_compatible_providers(self, *args, canteen_topup=False, **kwargs):
        """On the top-up page, only the providers whose payments credit canteen wallets."""
        providers = super()._get_compatible_providers(*args, **kwargs)
        if canteen_topup:
            providers = self.env["payment.transaction"]._canteen_topup_providers(providers)
        return providers

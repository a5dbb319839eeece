from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ResCompany(models.Model):
    _inherit = "res.company"

    canteen_approval_always = fields.Boolean(
        string="Approve Every Desk Operation",
        help="Top-ups, refunds, imports, subsidy grants, corrections and manual entries all wait for a "
        "Card Finance user's approval, whatever their amount.",
    )
    canteen_approval_threshold = fields.Monetary(
        string="Approval Threshold",
        currency_field="currency_id",
        help="A desk operation of more than this amount (the total of all its cardholders) waits for "
        "a Card Finance user's approval before it is posted. 0: no threshold.",
    )
    canteen_approval_second_threshold = fields.Monetary(
        string="Second Approval Threshold",
        currency_field="currency_id",
        help="Above this amount a second Card Finance user, other than the first, approves too. "
        "0: one approval is enough.",
    )

    @api.constrains("canteen_approval_threshold", "canteen_approval_second_threshold")
    def _check_canteen_approval_thresholds(self):
        for company in self:
            first, second = company.canteen_approval_threshold, company.canteen_approval_second_threshold
            if first < 0 or second < 0:
                raise ValidationError(self.env._("Approval thresholds cannot be negative."))
            if first and second and second < first:
                raise ValidationError(
                    self.env._("The second approval threshold cannot be below the first one.")
                )

    def _canteen_approval_levels(self, amount):
        """How many approvals (0, 1 or 2) an operation of `amount` (Decimal) needs in these
        companies: the most any of them asks for."""
        levels = 0
        for company in self:
            first = Decimal(str(company.canteen_approval_threshold or 0))
            second = Decimal(str(company.canteen_approval_second_threshold or 0))
            level = 1 if company.canteen_approval_always or (first and amount > first) else 0
            if second and amount > second:
                level = 2
            levels = max(levels, level)
        return levels

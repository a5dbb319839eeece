from odoo import api, models
from odoo.models import to_company_ids
from odoo.tools.misc import unquote


class CanteenCompanySharedMixin(models.AbstractModel):
    """Configuration a company shares with its branches: a card type, rule group or merchant of
    the headquarters is usable by every company below it (as accounts are in Odoo)."""

    _name = "canteen.company.shared.mixin"
    _description = "Shared with Branches"

    @api.model
    def _check_company_domain(self, companies):
        if not companies:
            return [("company_id", "=", False)]
        if not isinstance(companies, unquote):
            companies = to_company_ids(companies)
        return ["|", ("company_id", "=", False), ("company_id", "parent_of", companies)]

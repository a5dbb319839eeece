from odoo import models


class AccountChartTemplate(models.AbstractModel):
    _inherit = "account.chart.template"

    def _post_load_data(self, template_code, company, template_data):
        # Every company that gets a chart of accounts also gets its wallet journals and accounts.
        result = super()._post_load_data(template_code, company, template_data)
        company._canteen_setup_accounting()
        return result

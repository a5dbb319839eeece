import logging
import time

from odoo import api, models

_logger = logging.getLogger(__name__)

DEMO_TZ = "Asia/Shanghai"


class AccountChartTemplate(models.AbstractModel):
    _inherit = "account.chart.template"

    def _post_load_data(self, template_code, company, template_data):
        # Every company that gets a chart of accounts also gets its wallet journals and accounts.
        result = super()._post_load_data(template_code, company, template_data)
        company._canteen_setup_accounting()
        return result

    @api.model
    def _canteen_demo_china(self, company_ids):
        """Demo data: the group's headquarters in China (Asia/Shanghai), in yuan (CNY), on the
        Chinese chart of accounts (l10n_cn). Called before its branches are created, so that they
        take the same chart and currency from it.

        The account module's demo gave the company the generic chart and a few demo invoices in
        dollars; loading another chart on a demo company is Odoo's own way to change it (the
        generic accounts, journals and demo entries go), and the currency can change once no
        journal item is left."""
        started = time.monotonic()
        companies = self.env["res.company"].browse(company_ids)
        china, yuan = self.env.ref("base.cn"), self.env.ref("base.CNY")
        yuan.active = True
        companies.partner_id.write({"country_id": china.id, "tz": DEMO_TZ})
        companies.resource_calendar_id.write({"tz": DEMO_TZ})
        chinese_chart = self.env["ir.module.module"].search_count(
            [("name", "=", "l10n_cn"), ("state", "=", "installed")]
        )
        # Branches share their root's chart and currency (their chart is loaded at creation).
        for company in companies.filtered(lambda c: not c.parent_id):
            if chinese_chart and company.chart_template != "cn":
                self._load("cn", company, install_demo=False)
            if company.currency_id != yuan:
                company.currency_id = yuan
        elapsed = time.monotonic() - started
        _logger.info("Demo companies %s in China in %.1f s", companies.mapped("name"), elapsed)

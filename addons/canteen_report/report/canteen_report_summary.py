from odoo import api, fields, models


class CanteenReportSummaryPdf(models.AbstractModel):
    """What the summary PDF prints: the wizard's report, computed with the caller's rights."""

    _name = "report.canteen_report.report_summary"
    _description = "Canteen Summary Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        wizards = self.env["canteen.report.wizard"].browse(docids)
        tables = {wizard.id: wizard._report_table() for wizard in wizards}
        subtitles = {wizard.id: wizard._subtitle()[1] for wizard in wizards}
        return {
            "doc_ids": docids,
            "doc_model": "canteen.report.wizard",
            "docs": wizards,
            "tables": tables,
            "subtitles": subtitles,
            "print_date": fields.Date.to_string(fields.Date.context_today(self)),
            "preparer": self.env.user.name,
            "company_id": self.env.company,
        }

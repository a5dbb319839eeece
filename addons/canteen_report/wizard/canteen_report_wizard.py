from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.canteen_card.models.canteen_ledger_entry import MEAL_KIND_SELECTION
from odoo.addons.canteen_card.tools.access import check_caller, check_companies

from ..models.canteen_report import DETAIL_KINDS, SUMMARY_KINDS, TOPUP_KINDS

REPORT_READER = "canteen_report.group_report_reader"
REPORT_KIND_SELECTION = [
    ("daily_meal", "Daily Consumption by Meal"),
    ("person_meal", "Consumption per Person and Meal"),
    ("department_meal", "Consumption per Department and Meal"),
    ("daily_topup", "Daily Top-ups"),
    ("merchant_day", "Merchant Reconciliation"),
    ("person_bill", "Monthly Bill per Person"),
    ("detail_charge", "Charge Details"),
    ("detail_topup", "Top-up Details"),
    ("detail_refund", "Refund Details"),
    ("detail_card_cost", "Card Cost Details"),
    ("detail_subsidy", "Subsidy Details"),
    ("detail_correction", "Correction Details"),
    ("detail_transfer", "Transfer Details"),
    ("detail_bill", "Bill Lines (Every Entry)"),
]
# A details export larger than this runs in the background and lands as an attachment.
BACKGROUND_ROWS = 20000


class CanteenReportWizard(models.TransientModel):
    """Choose a report, its period and filters, and show it on screen, print it or export it."""

    _name = "canteen.report.wizard"
    _description = "Canteen Report"

    report_kind = fields.Selection(
        REPORT_KIND_SELECTION, string="Report", required=True, default="daily_meal", help="What to report."
    )
    date_from = fields.Date(
        string="From",
        required=True,
        default=lambda self: fields.Date.context_today(self).replace(day=1),
        help="First business day of the report.",
    )
    date_to = fields.Date(
        string="To",
        required=True,
        default=fields.Date.context_today,
        help="Last business day of the report (included).",
    )
    company_ids = fields.Many2many(
        "res.company",
        string="Companies",
        default=lambda self: self.env.companies,
        help="Companies reported, with their branches; empty: every company you may see.",
    )
    department_id = fields.Many2one("hr.department", help="This department and the departments below it.")
    employee_id = fields.Many2one("hr.employee", string="Cardholder", help="Only this person.")
    card_id = fields.Many2one("canteen.card", help="Only this card.")
    merchant_ids = fields.Many2many("canteen.merchant", string="Merchants", help="Only these merchants.")
    canteen_ids = fields.Many2many(
        "canteen.merchant",
        "canteen_report_wizard_canteen_rel",
        "wizard_id",
        "merchant_id",
        string="Canteens",
        domain="[('kind', '=', 'canteen')]",
        help="Only these canteens. A canteen takes its payments through its merchant (one merchant "
        "per canteen), so its entries are those of that merchant and of its terminals.",
    )
    terminal_id = fields.Many2one("canteen.terminal", help="Only this terminal.")
    meal_kind = fields.Selection(MEAL_KIND_SELECTION, string="Meal", help="Only this meal.")
    operator_id = fields.Many2one("res.users", help="Only entries written by this user.")

    @api.constrains("date_from", "date_to")
    def _check_period(self):
        for wizard in self:
            if wizard.date_from > wizard.date_to:
                raise UserError(self.env._("The report's first day is after its last day."))

    # ------------------------------------------------------------------------------------------
    def _filters(self):
        self.ensure_one()
        # As stored (a company the caller cannot read is named, not silently dropped), then checked.
        companies = self.sudo().company_ids
        check_companies(self.env, companies)
        return {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "company_ids": companies.ids,
            "department_id": self.department_id.id,
            "employee_id": self.employee_id.id,
            "card_id": self.card_id.id,
            "merchant_ids": self.merchant_ids.ids,
            "canteen_ids": self.canteen_ids.ids,
            "terminal_id": self.terminal_id.id,
            "meal_kind": self.meal_kind,
            "operator_id": self.operator_id.id,
        }

    def _subtitle(self):
        label = dict(self._fields["report_kind"]._description_selection(self.env))[self.report_kind]
        parts = [
            self.env._("%(first)s to %(last)s", first=self.date_from, last=self.date_to),
            ", ".join((self.canteen_ids | self.merchant_ids).mapped("name")),
            self.department_id.display_name or "",
            self.employee_id.name or "",
        ]
        return label, " · ".join(part for part in parts if part)

    def _check(self):
        check_caller(self.env, REPORT_READER)
        return self._filters()

    def action_view(self):
        """The report's entries on screen (list, pivot and graph), with the filters as domain."""
        filters = self._check()
        Report = self.env["canteen.report"]
        if self.report_kind in DETAIL_KINDS:
            kinds = DETAIL_KINDS[self.report_kind]
        else:
            kinds = {"daily_topup": TOPUP_KINDS, "person_bill": None}.get(
                self.report_kind, ("charge", "correction")
            )
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "canteen_report.canteen_report_analysis_action"
        )
        action["domain"] = Report._domain(filters, kinds)
        action["display_name"] = self._subtitle()[0]
        return action

    def action_print(self):
        """The summary as PDF (A4 landscape, company header)."""
        filters = self._check()
        if self.report_kind not in SUMMARY_KINDS:
            raise UserError(self.env._("Details are exported to Excel; print a summary."))
        self.env["canteen.report"]._summary(self.report_kind, filters)  # a bad filter fails here
        return self.env.ref("canteen_report.action_report_canteen_summary").report_action(self)

    def action_export(self):
        """The report as .xlsx: at once for a summary or a small list, else in the background."""
        filters = self._check()
        if self.report_kind in DETAIL_KINDS:
            count = self.env["canteen.report"]._detail_count(self.report_kind, filters)
            if count > BACKGROUND_ROWS:
                return self.env["canteen.report.export"]._enqueue(self.report_kind, filters, count)
        content = self._xlsx(filters)
        title = self._subtitle()[0]
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": f"{title} {self.date_from} {self.date_to}.xlsx",
                    "raw": content,
                    "res_model": self._name,
                    "res_id": self.id,
                    "mimetype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                }
            )
        )
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "download",
        }

    def _xlsx(self, filters):
        """The workbook's bytes: a summary on one sheet, or a details list."""
        return self.env["canteen.report.export"]._workbook(self.report_kind, filters, self._subtitle()[1])

    def _report_table(self):
        """The summary the PDF prints (called by the QWeb report, after action_print's checks)."""
        self.ensure_one()
        return self.env["canteen.report"]._summary(self.report_kind, self._check())

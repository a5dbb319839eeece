from odoo import api, models


class CanteenMonthlyBillReport(models.AbstractModel):
    """The monthly bill of cardholders as PDF: their ledger entries of one month. Readable only
    by users who may read the employees (the portal prints a cardholder's own as superuser)."""

    _name = "report.canteen_meal_booking.report_monthly_bill"
    _description = "Monthly Bill"

    @api.model
    def _get_report_values(self, docids, data=None):
        employees = self.env["hr.employee"].browse(docids)
        employees.check_access("read")
        Booking = self.env["canteen.booking"]
        month = (data or {}).get("month")
        return {
            "doc_ids": docids,
            "doc_model": "hr.employee",
            "docs": employees,
            "bills": [Booking._canteen_portal_month(employee, month) for employee in employees],
        }

from odoo import fields, models


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    employee_no = fields.Char(
        string="Employee Number",
        copy=False,
        index=True,
        groups="hr.group_hr_user",
        help="The cardholder's employee number (工号), unique within a company.",
    )

    _sql_constraints = [
        (
            "canteen_employee_no_company_uniq",
            "unique (company_id, employee_no)",
            "An employee number must be unique within its company.",
        ),
    ]

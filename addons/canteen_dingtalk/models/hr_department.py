from odoo import fields, models


class HrDepartment(models.Model):
    _inherit = "hr.department"

    dingtalk_dept_id = fields.Char(
        string="DingTalk Department",
        copy=False,
        index="btree_not_null",
        readonly=True,
        help="The id of the DingTalk department this department is synchronised from.",
    )

    _sql_constraints = [
        (
            "dingtalk_dept_company_uniq",
            "unique (company_id, dingtalk_dept_id)",
            "A DingTalk department is linked to one department per company.",
        ),
    ]

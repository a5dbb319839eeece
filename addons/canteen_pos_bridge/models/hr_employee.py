import secrets

from odoo import fields, models


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    canteen_face_id = fields.Char(
        string="Face ID",
        copy=False,
        index="btree_not_null",
        groups="hr.group_hr_user",
        help="The id face terminals send for this person; given at face sync.",
    )

    _sql_constraints = [
        ("canteen_face_id_uniq", "unique (canteen_face_id)", "A face id identifies one person."),
    ]

    def _canteen_ensure_face_id(self):
        for employee in self.filtered(lambda e: not e.canteen_face_id):
            employee.canteen_face_id = f"F{secrets.token_hex(8)}"
        return self.mapped("canteen_face_id")

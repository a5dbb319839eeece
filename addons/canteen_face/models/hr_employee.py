from odoo import api, fields, models

FACE_GROUPS = "canteen_face.group_face_operator,canteen_card.group_card_manager"


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    face_ids = fields.One2many(
        "canteen.face",
        "employee_id",
        string="Face Enrolments",
        groups=FACE_GROUPS,
        help="Every enrolment of this person, accepted or refused, newest first.",
    )
    current_face_id = fields.Many2one(
        "canteen.face",
        compute="_compute_current_face_id",
        search="_search_current_face_id",
        groups=FACE_GROUPS,
        help="The face the terminals and identification use.",
    )
    current_face_photo = fields.Binary(
        related="current_face_id.my_photo", string="Face Photo", groups=FACE_GROUPS
    )

    @api.depends("face_ids.is_current")
    def _compute_current_face_id(self):
        for employee in self:
            employee.current_face_id = employee.face_ids.filtered("is_current")[:1]

    def _search_current_face_id(self, operator, value):
        # Searchable, so that a change of the face's photo finds the employees to recompute.
        current = [("is_current", "=", True)]
        if operator in ("=", "!=") and not value:
            has_one = [("face_ids", "any", current)]
            return has_one if operator == "!=" else ["!", *has_one]
        return [("face_ids", "any", [*current, ("id", operator, value)])]

    def action_enrol_face(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Enrol a Face"),
            "res_model": "canteen.face.enrol.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_employee_id": self.id},
        }

    def _canteen_set_resigned(self):
        """A resigned person's face leaves the terminals and identification."""
        result = super()._canteen_set_resigned()
        self.env["canteen.face"].sudo().search(
            [("employee_id", "in", self.ids), ("is_current", "=", True)]
        )._end("withdrawn")
        return result

    def write(self, vals):
        result = super().write(vals)
        if vals.get("active") is False:
            self.env["canteen.face"].sudo().search(
                [("employee_id", "in", self.ids), ("is_current", "=", True)]
            )._end("withdrawn")
        return result

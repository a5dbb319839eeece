import base64

from odoo import fields, models
from odoo.exceptions import UserError


class CanteenFaceEnrolWizard(models.TransientModel):
    _name = "canteen.face.enrol.wizard"
    _description = "Enrol a Face"

    employee_id = fields.Many2one(
        "hr.employee", string="Cardholder", required=True, help="The person in the photo."
    )
    company_id = fields.Many2one(related="employee_id.company_id")
    photo = fields.Binary(help="A portrait: one face, looking at the camera, evenly lit (JPEG or PNG).")
    photo_filename = fields.Char(help="Name of the uploaded file.")
    face_id = fields.Many2one("canteen.face", string="Result", readonly=True, help="The enrolment made.")
    face_state = fields.Selection(related="face_id.state", string="Enrolment State")
    message = fields.Char(readonly=True, help="What became of the photo.")

    def action_enrol(self):
        self.ensure_one()
        if not self.photo:
            raise UserError(self.env._("Upload a photo first."))
        face = self.env["canteen.face"]._enrol(
            self.employee_id, base64.b64decode(self.photo), self.photo_filename, "desk"
        )
        self.write(
            {
                "face_id": face.id,
                "photo": False,
                "message": face.sudo().rejection_message or self.env._("The face is enrolled."),
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Enrol a Face"),
        }

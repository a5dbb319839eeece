from odoo import fields, models


class CanteenFaceImportLine(models.TransientModel):
    _name = "canteen.face.import.line"
    _description = "Face Import Report Line"
    _order = "ok, id"

    wizard_id = fields.Many2one(
        "canteen.face.import.wizard", required=True, ondelete="cascade", help="The import."
    )
    company_id = fields.Many2one(related="wizard_id.company_id")
    filename = fields.Char(required=True, help="The file as it was uploaded or found in the zip.")
    employee_id = fields.Many2one(
        "hr.employee", string="Cardholder", help="The person the file is named for."
    )
    face_id = fields.Many2one("canteen.face", string="Enrolment", help="The enrolment recorded, if any.")
    ok = fields.Boolean(string="Enrolled", help="The photo became the person's face.")
    message = fields.Char(help="Enrolled, or why the file was refused.")

import io

from odoo import Command, fields, models
from odoo.exceptions import UserError

from ..tools import face_files


class CanteenFaceImportWizard(models.TransientModel):
    _name = "canteen.face.import.wizard"
    _description = "Import Face Photos"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        help="Cardholders are looked up by employee number in this company and its branches.",
    )
    attachment_ids = fields.Many2many(
        "ir.attachment",
        string="Files",
        help="Photos named by employee number (100231.jpg), or zip files of them.",
    )
    state = fields.Selection([("draft", "Draft"), ("done", "Done")], default="draft", required=True)
    line_ids = fields.One2many("canteen.face.import.line", "wizard_id", string="Report", readonly=True)
    enrolled_count = fields.Integer(string="Enrolled", readonly=True, help="Files enrolled.")
    refused_count = fields.Integer(string="Refused", readonly=True, help="Files refused.")

    def _files(self):
        for attachment in self.attachment_ids:
            data = attachment.raw or b""
            if face_files.is_zip(data):
                yield from face_files.iter_zip(io.BytesIO(data))
            else:
                yield attachment.name, data

    def action_import(self):
        self.ensure_one()
        if not self.attachment_ids:
            raise UserError(self.env._("Add photo files or a zip of them first."))
        results = self.env["canteen.face"]._import_photos(self._files(), self.company_id, "import")
        self.attachment_ids.unlink()
        self.write(
            {
                "state": "done",
                "enrolled_count": sum(1 for r in results if r["ok"]),
                "refused_count": sum(1 for r in results if not r["ok"]),
                "line_ids": [
                    Command.create(
                        {
                            "filename": r["filename"],
                            "employee_id": r["employee"].id if r["employee"] else False,
                            "face_id": r["face"].id if r["face"] else False,
                            "ok": r["ok"],
                            "message": r["message"],
                        }
                    )
                    for r in results
                ],
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Import Face Photos"),
        }

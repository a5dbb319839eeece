from odoo import api, fields, models

from odoo.addons.canteen_card.tools.display import notification

from ..tools.access import ENROLERS, check_caller

TERMINAL_MANAGER = "canteen_pos_bridge.group_terminal_manager"


class CanteenTerminal(models.Model):
    _inherit = "canteen.terminal"

    face_sync_ids = fields.One2many(
        "canteen.face.sync",
        "terminal_id",
        help="Where each person's face stands on this face terminal.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        terminals = super().create(vals_list)
        # A new face terminal starts empty: it gets every face it serves.
        terminals.filtered(lambda t: t.kind == "face" and t.enabled)._canteen_send_all_faces()
        return terminals

    def action_clear_faces(self):
        """Clear the device's faces (face.clear, as at first use) and send every face again."""
        check_caller(self.env, (TERMINAL_MANAGER, *ENROLERS), self.sudo().company_id)
        faces = self.sudo().filtered(lambda t: t.kind == "face")._canteen_send_all_faces()
        return notification(
            self.env._("%(count)s face(s) queued after the clear command.", count=faces),
            title=self.env._("Faces Sent Again"),
        )

    def _canteen_send_all_faces(self):
        """face.clear, then a face.upsert of every current face of the companies the terminal
        serves (its company, its branches, and the companies that accept their cards at its
        merchant); returns how many faces were queued."""
        Sync = self.env["canteen.face.sync"].sudo()
        served = self._canteen_served_company_ids()
        queued = 0
        for terminal in self:
            self.env["canteen.terminal.command"]._enqueue(terminal, "face.clear", {})
            faces = self._canteen_current_faces(served[terminal.id])
            Sync._send_many([(face.employee_id, terminal, face) for face in faces], "upsert")
            queued += len(faces)
        return queued

    def _canteen_on_served_change(self, changed):
        """A face terminal that now serves another company's cards gets its people's faces; one
        that no longer serves a company's cards deletes the faces of its people it holds."""
        changed = super()._canteen_on_served_change(changed)
        Sync = self.env["canteen.face.sync"].sudo()
        for terminal, (added, removed) in changed.items():
            if terminal.kind != "face" or not terminal.enabled:
                continue
            faces = self._canteen_current_faces(added)
            Sync._send_many([(face.employee_id, terminal, face) for face in faces], "upsert")
            held = Sync.search(
                [
                    ("terminal_id", "=", terminal.id),
                    ("operation", "=", "upsert"),
                    ("employee_id.company_id", "in", list(removed)),
                ]
            )
            Sync._send_many([(sync.employee_id, terminal, False) for sync in held], "delete")
        return changed

    def _canteen_current_faces(self, company_ids):
        return (
            self.env["canteen.face"]
            .sudo()
            .search(
                [("company_id", "in", list(company_ids)), ("is_current", "=", True), ("state", "=", "valid")]
            )
        )

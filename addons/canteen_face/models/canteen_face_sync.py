from odoo import api, fields, models

from ..tools.access import ENROLERS, check_caller

STATE_SELECTION = [("pending", "Pending"), ("synced", "Synced"), ("failed", "Failed")]
OPERATION_SELECTION = [("upsert", "Add or update"), ("delete", "Delete")]
# The terminal's acknowledgement of the last face command sent to it for a person, copied onto
# the sync log when the command's state changes, whoever changes it (the bridge in SQL, or the
# ORM): a trigger, so that the bridge needs no knowledge of faces.
ACK_TRIGGER = """
    CREATE OR REPLACE FUNCTION canteen_face_sync_ack() RETURNS trigger AS $$
    BEGIN
        UPDATE canteen_face_sync
           SET state = CASE NEW.state WHEN 'done' THEN 'synced' WHEN 'failed' THEN 'failed'
                                      ELSE 'pending' END,
               reason = CASE WHEN NEW.state = 'failed' THEN NEW.error END,
               answered_on = CASE WHEN NEW.state IN ('done', 'failed') THEN NEW.acked_at END
         WHERE command_id = NEW.id;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql;
    DROP TRIGGER IF EXISTS canteen_face_sync_ack ON canteen_terminal_command;
    CREATE TRIGGER canteen_face_sync_ack AFTER UPDATE OF state ON canteen_terminal_command
        FOR EACH ROW
        WHEN (NEW.type IN ('face.upsert', 'face.delete') AND NEW.state IS DISTINCT FROM OLD.state)
        EXECUTE FUNCTION canteen_face_sync_ack();
"""


class CanteenFaceSync(models.Model):
    """Where a person's face stands on one face terminal (人脸下发流水): the last command sent
    (add or delete), and whether the terminal acknowledged it, refused it with its reason, or
    has not answered yet."""

    _name = "canteen.face.sync"
    _inherit = ["canteen.protected.mixin"]
    _description = "Face Sync to a Terminal"
    _order = "queued_on desc, id desc"

    employee_id = fields.Many2one(
        "hr.employee",
        string="Cardholder",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        help="The person whose face is sent.",
    )
    terminal_id = fields.Many2one(
        "canteen.terminal",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        help="The face terminal the face is sent to.",
    )
    company_id = fields.Many2one(
        related="terminal_id.company_id", store=True, index=True, help="The terminal's company."
    )
    face_id = fields.Many2one("canteen.face", readonly=True, ondelete="set null", help="The face sent last.")
    operation = fields.Selection(
        OPERATION_SELECTION, required=True, readonly=True, help="What the terminal was told last."
    )
    state = fields.Selection(
        STATE_SELECTION,
        required=True,
        readonly=True,
        default="pending",
        index=True,
        help="Pending: sent, not acknowledged yet; Synced: the terminal confirmed; Failed: the "
        "terminal refused it (see the reason).",
    )
    reason = fields.Char(
        readonly=True,
        help="What the terminal answered when it refused: photo_too_large, poor_quality, "
        "device_offline, or its own words.",
    )
    reason_label = fields.Char(
        string="Reason Shown",
        compute="_compute_reason_label",
        help="The terminal's answer in words: a known code (photo_too_large...) translated, any "
        "other answer as the terminal gave it.",
    )
    command_id = fields.Many2one(
        "canteen.terminal.command", readonly=True, ondelete="set null", help="The last command sent."
    )
    queued_on = fields.Datetime(readonly=True, help="When the last command was queued.")
    answered_on = fields.Datetime(readonly=True, help="When the terminal answered it.")

    _sql_constraints = [
        (
            "employee_terminal_uniq",
            "unique (employee_id, terminal_id)",
            "One sync line per person and terminal.",
        ),
    ]

    def init(self):
        result = super().init()
        self.env.cr.execute(ACK_TRIGGER)
        return result

    @api.depends("reason")
    def _compute_reason_label(self):
        labels = {
            "photo_too_large": self.env._("Photo too large for the terminal"),
            "poor_quality": self.env._("Photo quality too poor"),
            "device_offline": self.env._("Terminal offline"),
        }
        for sync in self:
            sync.reason_label = labels.get(sync.reason, sync.reason) if sync.reason else False

    @api.depends("employee_id", "terminal_id")
    def _compute_display_name(self):
        for sync in self:
            sync.display_name = f"{sync.employee_id.sudo().name} → {sync.terminal_id.sudo().name}"

    # -- queueing ---------------------------------------------------------------------------
    @api.model
    def _send(self, employee, terminals, operation, face=False):
        """Queue `face.<operation>` for the person on these terminals and record it per terminal
        (pending). The device JPEG and the embedding are added to a face.upsert when a terminal
        receives it (tools/face_delivery.py in the bridge), not copied per terminal."""
        return self._send_many([(employee, terminals, face)], operation)

    @api.model
    def _send_many(self, sends, operation):
        """`_send` for several people at once, from (employee, terminals, face or False): the
        commands queued by one create, the sync lines read by one search and the new ones
        created by one create."""
        sends = [(employee.sudo(), terminals, face) for employee, terminals, face in sends if terminals]
        if not sends:
            return self.env["canteen.terminal.command"]
        employees = self.env["hr.employee"].sudo().browse([employee.id for employee, _t, _f in sends])
        employees._canteen_ensure_face_id()
        command_vals, sent = [], []
        for employee, terminals, face in sends:
            payload = {"face_id": employee.canteen_face_id, "employee_id": employee.id}
            if operation == "upsert":
                payload.update(employee_no=employee.employee_no or "", name=employee.name, face_ref=face.id)
            for terminal in terminals:
                command_vals.append(
                    {"terminal_id": terminal.id, "type": f"face.{operation}", "payload": payload}
                )
                sent.append((employee, face))
        commands = self.env["canteen.terminal.command"]._enqueue_many(command_vals)
        now = fields.Datetime.now()
        Sync = self.sudo()
        existing = {
            (s.employee_id.id, s.terminal_id.id): s
            for s in Sync.search([("employee_id", "in", employees.ids)])
        }
        created = {}
        for command, (employee, face) in zip(commands, sent, strict=True):
            vals = {
                "face_id": face.id if face else False,
                "operation": operation,
                "state": "pending",
                "reason": False,
                "command_id": command.id,
                "queued_on": now,
                "answered_on": False,
            }
            key = (employee.id, command.terminal_id.id)
            if key in existing:
                existing[key].write(vals)
            else:
                created[key] = dict(vals, employee_id=employee.id, terminal_id=command.terminal_id.id)
        Sync.create(list(created.values()))
        return commands

    @api.model
    def _face_terminals(self, company):
        """The enabled face terminals that serve `company`'s people: its own and its parents',
        and those where its cards are accepted (canteen.terminal.command._terminals_for_company)."""
        return (
            self.env["canteen.terminal.command"]
            ._terminals_for_company(company)
            .filtered(lambda terminal: terminal.kind == "face")
        )

    # -- actions ----------------------------------------------------------------------------
    def action_resend(self):
        """Send the last command of these lines again (the current face, or its deletion)."""
        check_caller(self.env, ENROLERS, self.sudo().terminal_id.company_id)
        for sync in self.sudo():
            face = sync.employee_id.current_face_id if sync.operation == "upsert" else False
            if sync.operation == "upsert" and not face:
                self._send(sync.employee_id, sync.terminal_id, "delete")
            else:
                self._send(sync.employee_id, sync.terminal_id, sync.operation, face)
        return True

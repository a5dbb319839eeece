import base64
import json
from datetime import timedelta

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools import face_engine, face_files, face_match
from ..tools.access import CARD_MANAGER, ENROLERS, check_caller

# Bridge processes LISTEN on this channel: {"op": "upsert"|"delete", "face_id", "employee_id",
# "company_id"}; NOTIFY is delivered when the enrolling transaction commits.
NOTIFY_CHANNEL = "canteen_face"

STATE_SELECTION = [
    ("valid", "Valid"),
    ("rejected", "Rejected"),
    ("replaced", "Replaced"),
    ("withdrawn", "Withdrawn"),
]
REASON_SELECTION = [
    ("not_image", "Not an image"),
    ("low_resolution", "Resolution too low"),
    ("no_face", "No face"),
    ("several_faces", "Several faces"),
    ("too_small", "Face too small"),
    ("cut_off", "Face cut off"),
    ("turned_away", "Head turned away"),
    ("too_dark", "Too dark"),
    ("too_bright", "Too bright"),
    ("blurred", "Blurred"),
]
SOURCE_SELECTION = [("desk", "Card desk"), ("import", "Batch import"), ("command", "Import command")]
# Photos and embeddings: card managers (and the person, through my_photo).
PRIVATE = CARD_MANAGER


class CanteenFace(models.Model):
    _name = "canteen.face"
    _description = "Cardholder Face"
    _order = "enrolled_on desc, id desc"
    _check_company_auto = True

    employee_id = fields.Many2one(
        "hr.employee",
        string="Cardholder",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
        help="The person whose face this is.",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        index=True,
        help="The cardholder's company at enrolment; its face terminals and its parents' get the face.",
    )
    employee_no = fields.Char(
        string="Employee Number", readonly=True, help="The cardholder's employee number at enrolment."
    )
    state = fields.Selection(
        STATE_SELECTION,
        required=True,
        readonly=True,
        default="valid",
        index=True,
        help="Valid: the person's face; Rejected: refused by the quality checks; Replaced: a newer "
        "enrolment took its place; Withdrawn: removed (resignation, or by a manager).",
    )
    is_current = fields.Boolean(
        string="Current",
        readonly=True,
        index=True,
        help="The face the terminals and identification use; one per cardholder at most.",
    )
    rejection_reason = fields.Selection(
        REASON_SELECTION, readonly=True, help="The quality check that refused the photo."
    )
    rejection_message = fields.Char(
        readonly=True, help="Why the photo was refused, with the figures measured."
    )
    source = fields.Selection(
        SOURCE_SELECTION, required=True, readonly=True, default="desk", help="How the photo came in."
    )
    filename = fields.Char(readonly=True, help="Name of the uploaded file.")
    enrolled_by_id = fields.Many2one("res.users", readonly=True, help="Who uploaded the photo.")
    enrolled_on = fields.Datetime(readonly=True, index=True, help="When the photo was uploaded.")
    ended_on = fields.Datetime(
        string="Replaced or Withdrawn On", readonly=True, help="When the face stopped being current."
    )
    erased_on = fields.Datetime(
        readonly=True, help="When the photo and embedding were erased after the retention period."
    )
    photo = fields.Binary(
        attachment=True, readonly=True, groups=PRIVATE, help="The enrolment photo, upright."
    )
    # In the table, not the filestore: the bridge reads it with SQL (bytea holding base64).
    device_photo = fields.Binary(
        attachment=False,
        readonly=True,
        groups=PRIVATE,
        help="The portrait JPEG sent to face terminals (cropped, resized, at most the size limit).",
    )
    face_box = fields.Char(
        readonly=True,
        help="The face in the stored photo: left,top,right,bottom pixels (to make device photos of "
        "other sizes with tools/face_engine.device_jpeg).",
    )
    device_photo_size = fields.Integer(
        string="Device Photo Bytes", readonly=True, help="Size of the device JPEG in bytes."
    )
    embedding = fields.Char(
        readonly=True,
        groups=PRIVATE,
        help="The 128 float32 values of the unit-length dlib embedding, little-endian, base64.",
    )
    my_photo = fields.Binary(
        string="Face Photo",
        compute="_compute_my_photo",
        help="The device photo, shown to card managers and to the person alone.",
    )
    image_width = fields.Integer(readonly=True, help="Photo width in pixels.")
    image_height = fields.Integer(readonly=True, help="Photo height in pixels.")
    face_count = fields.Integer(string="Faces Found", readonly=True, help="Faces the detector found.")
    eye_distance = fields.Float(
        string="Face Size (px)",
        readonly=True,
        digits=(6, 1),
        help="Pixels between the outer corners of the eyes.",
    )
    sharpness = fields.Float(
        readonly=True, digits=(8, 1), help="Variance of the Laplacian of the face scaled to 160 px."
    )
    brightness = fields.Float(readonly=True, digits=(5, 1), help="Mean grey level of the face, 0-255.")
    yaw = fields.Float(string="Turn (°)", readonly=True, digits=(5, 1), help="Estimated left/right turn.")
    pitch = fields.Float(string="Tilt (°)", readonly=True, digits=(5, 1), help="Estimated up/down tilt.")
    roll = fields.Float(string="Roll (°)", readonly=True, digits=(5, 1), help="Tilt of the eye line.")

    def init(self):
        # One current face per cardholder, enforced by the database for concurrent enrolments.
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS canteen_face_one_current "
            "ON canteen_face (employee_id) WHERE is_current"
        )

    @api.depends("employee_id", "enrolled_on")
    def _compute_display_name(self):
        for face in self:
            when = fields.Date.to_string(face.enrolled_on) if face.enrolled_on else ""
            face.display_name = f"{face.employee_id.sudo().name} {when}".strip()

    @api.depends_context("uid")
    def _compute_my_photo(self):
        manager = self.env.user.has_group(PRIVATE)
        for face in self:
            mine = face.employee_id.sudo().user_id == self.env.user
            face.my_photo = face.sudo().device_photo if (manager or mine) else False

    # CRUD: read-only to users, whatever their access lines and context ---------------------
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            self._refuse("create")
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._refuse("write")
        return super().write(vals)

    def unlink(self):
        if not self.env.su:
            self._refuse("unlink")
        return super().unlink()

    def _refuse(self, operation):
        raise AccessError(
            self.env._(
                "Faces change only through enrolment, withdrawal and resignation (%(operation)s refused).",
                operation=operation,
            )
        )

    # Enrolment ---------------------------------------------------------------------------
    @api.model
    def _enrol(self, employee, data, filename=False, source="desk", measured=None):
        """Check a photo and record it as the person's face, or as a refused enrolment.

        A valid photo replaces the person's current face (the terminals are told through the
        bridge's channel); a refused one is kept with its reason and leaves the current face
        alone. A face operator or card manager of the person's company only. `measured`: the
        photo's analysis with face_engine.MEASURE, made beforehand (the import command's
        worker processes, with its JPEGs: face_engine.prepare), judged here with the company's
        limits.
        """
        employee = self._enrol_check(employee)
        vals = self._enrol_vals(employee, data, filename, source, measured)
        return self._enrol_record([(employee, vals)]).with_env(self.env)

    @api.model
    def _enrol_check(self, employee):
        """The person (sudo) when the caller may enrol them and they can have a face."""
        employee.ensure_one()
        check_caller(self.env, ENROLERS, employee.sudo().company_id)
        employee = employee.sudo()
        if employee.cardholder_state != "active" or not employee.active:
            raise UserError(
                self.env._(
                    "%(name)s has resigned or is archived: no face can be enrolled.", name=employee.name
                )
            )
        return employee

    @api.model
    def _enrol_vals(self, employee, data, filename, source, measured=None):
        """The values of the face record a photo makes for `employee` (checked): valid with its
        JPEGs and embedding, or rejected with its reason. Writes nothing."""
        company = employee.company_id
        limits = company._canteen_face_thresholds()
        if measured is not None:
            analysis = face_engine.judge(measured, limits)
        else:
            analysis = face_engine.analyse(data, limits)
        figures = analysis.figures
        vals = {
            "employee_id": employee.id,
            "company_id": company.id,
            "employee_no": employee.employee_no,
            "source": source,
            "filename": filename or False,
            "enrolled_by_id": self.env.uid,
            "enrolled_on": fields.Datetime.now(),
            "image_width": figures.get("width", 0),
            "image_height": figures.get("height", 0),
            "face_count": figures.get("faces", 0),
            "eye_distance": figures.get("eye_distance", 0.0),
            "sharpness": figures.get("sharpness", 0.0),
            "brightness": figures.get("brightness", 0.0),
            "yaw": figures.get("yaw", 0.0),
            "pitch": figures.get("pitch", 0.0),
            "roll": figures.get("roll", 0.0),
        }
        jpegs = analysis.jpegs or {}
        image = analysis.image
        if image is None and analysis.reason != "not_image" and not jpegs.get("stored"):
            image = face_engine.decode_image(data, face_engine.DECODE_SIDE)[0]
        if jpegs.get("stored") or image is not None:
            stored, face_box = jpegs.get("stored") or face_engine.stored_jpeg(image, analysis.box)
            vals.update(photo=base64.b64encode(stored), face_box=face_box)
        if analysis.ok:
            size = (
                company.canteen_face_device_width,
                company.canteen_face_device_height,
                company.canteen_face_device_max_kb * 1024,
            )
            device = jpegs.get(size)
            if device is None:
                if image is None:
                    image = face_engine.decode_image(data, face_engine.DECODE_SIDE)[0]
                device = face_engine.device_jpeg(
                    image, analysis.box, width=size[0], height=size[1], max_bytes=size[2]
                )
            vals.update(
                state="valid",
                is_current=True,
                device_photo=base64.b64encode(device),
                device_photo_size=len(device),
                embedding=base64.b64encode(face_engine.embedding_to_bytes(analysis.embedding)).decode(),
            )
        else:
            vals.update(
                state="rejected",
                rejection_reason=analysis.reason,
                rejection_message=self._reason_message(analysis.reason, figures, limits),
            )
        return vals

    @api.model
    def _enrol_record(self, enrolments):
        """Record faces from (employee, vals of _enrol_vals), one per person: each valid one
        replaces the person's current face, and the bridges and terminals are told. One create,
        one notification statement and one set of terminal commands for them all."""
        valid = [employee for employee, vals in enrolments if vals["state"] == "valid"]
        if valid:
            employees = self.env["hr.employee"].sudo().browse([employee.id for employee in valid])
            previous = self.sudo().search([("employee_id", "in", employees.ids), ("is_current", "=", True)])
            previous._end("replaced")
            # The id terminals know the person by (identity "face"), sent with the face.
            employees._canteen_ensure_face_id()
        faces = self.sudo().create([vals for _employee, vals in enrolments])
        current = faces.filtered(lambda face: face.state == "valid")
        if current:
            current._notify_bridge("upsert")
            current._sync_terminals("upsert")
        return faces

    def _end(self, state):
        """Stop these faces being current (replaced or withdrawn); the terminals delete them."""
        current = self.filtered("is_current")
        if not current:
            return
        current.sudo().write({"state": state, "is_current": False, "ended_on": fields.Datetime.now()})
        # Before a new current face is inserted (the unique index checks at once).
        current.flush_recordset(["is_current"])
        current._notify_bridge("delete")
        if state == "withdrawn":
            # A replaced face is overwritten by the new one's face.upsert (same face id).
            current._sync_terminals("delete")

    def _sync_terminals(self, operation):
        """Tell the face terminals that serve the person's company (its own, its parents', and
        where its cards are accepted; and, for a deletion, any terminal that has the face) to
        add or delete it."""
        Sync = self.env["canteen.face.sync"].sudo()
        serving = {}
        sends = []
        for face in self:
            if face.company_id not in serving:
                serving[face.company_id] = Sync._face_terminals(face.company_id)
            terminals = serving[face.company_id]
            if operation == "delete":
                terminals |= Sync.search(
                    [("employee_id", "=", face.employee_id.id), ("operation", "=", "upsert")]
                ).terminal_id
            sends.append((face.employee_id, terminals, face if operation == "upsert" else False))
        Sync._send_many(sends, operation)

    def _notify_bridge(self, op):
        """One notification per face (the bridge follows one face per notification), all sent
        by one statement."""
        payloads = [
            json.dumps(
                {
                    "op": op,
                    "face_id": face.id,
                    "employee_id": face.employee_id.id,
                    "company_id": face.company_id.id,
                }
            )
            for face in self
        ]
        if payloads:
            self.env.cr.execute(
                "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload",
                [NOTIFY_CHANNEL, payloads],
            )

    @api.model
    def _reason_message(self, reason, figures, limits):
        """The refusal in words, in the user's language, with what was measured."""
        messages = {
            "not_image": lambda: self.env._("The file is not an image or cannot be read."),
            "low_resolution": lambda: self.env._(
                "The photo is too small: %(width)s × %(height)s px; its shorter side needs at least "
                "%(minimum)s px.",
                width=figures.get("width"),
                height=figures.get("height"),
                minimum=limits.min_resolution,
            ),
            "no_face": lambda: self.env._("No face was found in the photo."),
            "several_faces": lambda: self.env._(
                "%(count)s faces were found; the photo must show one person only.",
                count=figures.get("faces"),
            ),
            "too_small": lambda: self.env._(
                "The face is too small: %(size)s px between the eyes, at least %(minimum)s px.",
                size=round(figures.get("eye_distance", 0)),
                minimum=round(limits.min_eye_distance),
            ),
            "cut_off": lambda: self.env._("The face is cut off by the edge of the photo."),
            "turned_away": lambda: self.env._(
                "The head is turned away: about %(yaw)s° to the side and %(pitch)s° up or down "
                "(at most %(max_yaw)s° and %(max_pitch)s°); look straight at the camera.",
                yaw=round(abs(figures.get("yaw", 0))),
                pitch=round(abs(figures.get("pitch", 0))),
                max_yaw=round(limits.max_yaw),
                max_pitch=round(limits.max_pitch),
            ),
            "too_dark": lambda: self.env._(
                "The photo is too dark: brightness %(value)s, at least %(minimum)s.",
                value=round(figures.get("brightness", 0)),
                minimum=round(limits.min_brightness),
            ),
            "too_bright": lambda: self.env._(
                "The photo is too bright: brightness %(value)s, at most %(maximum)s.",
                value=round(figures.get("brightness", 0)),
                maximum=round(limits.max_brightness),
            ),
            "blurred": lambda: self.env._(
                "The photo is blurred: sharpness %(value)s, at least %(minimum)s.",
                value=round(figures.get("sharpness", 0)),
                minimum=round(limits.min_sharpness),
            ),
        }
        return messages[reason]()

    @api.model
    def _import_photos(self, files, companies, source="import", measured=None):
        """Enrol photo files named by employee number; one result per file, whatever happens.

        `files` yields (filename, bytes or None when too large), `measured` (optional) the
        analysis of each file with face_engine.MEASURE (face_engine.prepare); the person is
        looked up among the cardholders of `companies` and their branches. The faces are
        recorded together (one create, see _enrol_record) in a savepoint; when that fails (an
        enrolment of one of the people saved meanwhile), each file is enrolled again in a
        savepoint of its own, so that one failure does not undo the others. Results are dicts:
        filename, employee (record or False), face (record or False), ok, message.
        """
        check_caller(self.env, ENROLERS, companies)
        files = list(files)
        Employee = self.env["hr.employee"].sudo().with_context(active_test=False)
        numbers = {filename: face_files.employee_number(filename) for filename, _data in files}
        people = {}
        for employee in Employee.search(
            [("employee_no", "in", list(set(numbers.values()))), ("company_id", "child_of", companies.ids)]
        ):
            people[employee.employee_no] = people.get(employee.employee_no, Employee.browse()) | employee
        results = []
        pending = []  # (result, data, measured, employee, vals): checked, to record together
        for index, (filename, data) in enumerate(files):
            number = numbers[filename]
            result = {"filename": filename, "employee": False, "face": False, "ok": False}
            results.append(result)
            employees = people.get(number, Employee.browse())
            if data is None:
                result["message"] = self.env._(
                    "The file is larger than %(size)s MB.", size=face_files.MAX_FILE_BYTES // (1024 * 1024)
                )
                continue
            if not employees:
                result["message"] = self.env._(
                    "No cardholder has the employee number %(number)s.", number=number
                )
                continue
            if len(employees) > 1:
                result["message"] = self.env._(
                    "Several cardholders have the employee number %(number)s; import into one company.",
                    number=number,
                )
                continue
            result["employee"] = employees
            if any(item[3] == employees for item in pending):
                # The same person twice: the later photo replaces the earlier one.
                self._import_record(pending, source)
                pending = []
            try:
                employee = self._enrol_check(employees.with_env(self.env))
                photo = measured[index] if measured else None
                vals = self._enrol_vals(employee, data, filename, source, measured=photo)
            except UserError as error:
                result["message"] = str(error)
                continue
            pending.append((result, data, photo, employee, vals))
        self._import_record(pending, source)
        return results

    @api.model
    def _import_record(self, pending, source):
        """Record the faces of _import_photos's checked files and fill their results; file by
        file, each in a savepoint, when recording them together fails."""
        if not pending:
            return
        try:
            with self.env.cr.savepoint():
                faces = self._enrol_record([(employee, vals) for _r, _d, _m, employee, vals in pending])
        except (UserError, psycopg2.errors.UniqueViolation):
            faces = None
        for number, (result, data, photo, employee, _vals) in enumerate(pending):
            if faces is not None:
                face = faces[number]
            else:
                try:
                    with self.env.cr.savepoint():
                        face = self._enrol(
                            employee.with_env(self.env), data, result["filename"], source, measured=photo
                        )
                except UserError as error:
                    result["message"] = str(error)
                    continue
                except psycopg2.errors.UniqueViolation:
                    # Someone enrolled the same person at the same moment: theirs stands.
                    result["message"] = self._concurrent_enrolment_message()
                    continue
            face = face.with_env(self.env)
            result["face"] = face
            result["ok"] = face.state == "valid"
            result["message"] = face.rejection_message or self.env._("Enrolled.")

    @api.model
    def _concurrent_enrolment_message(self):
        return self.env._(
            "Another enrolment of this person was saved at the same moment; import the file again."
        )

    # Actions -----------------------------------------------------------------------------
    def action_withdraw(self):
        """Withdraw these faces: no longer current, deleted from the terminals."""
        check_caller(self.env, ENROLERS, self.sudo().company_id)
        self.sudo()._end("withdrawn")
        return True

    # Identification ----------------------------------------------------------------------
    @api.model
    def identify_photo(self, image, company_id=False):
        """Identify the person in a photo (base64 JPEG or PNG) among the current faces of the
        companies served at a company (default: the current company): its own, and those of its
        group whose settings accept their cards at its merchants (res.company.
        _canteen_served_companies, as its terminals do).

        Answers {"match": {"face_id", "employee_id", "employee_no", "name", "distance"}} or
        {"match": None, "reason": "not_image" | "no_face" | "several_faces" | "no_match" |
        "ambiguous"}. Face operators and card managers of that company only.
        """
        company = self.env["res.company"].browse(company_id) if company_id else self.env.company
        check_caller(self.env, ENROLERS, company)
        try:
            data = base64.b64decode(image or b"", validate=True)
        except ValueError:
            return {"match": None, "reason": "not_image"}
        analysis = face_engine.analyse(data, face_engine.IDENTIFICATION)
        if analysis.reason in ("not_image", "no_face", "several_faces"):
            return {"match": None, "reason": analysis.reason}
        if analysis.embedding is None:
            return {"match": None, "reason": "no_face"}
        return self._identify_embedding(analysis.embedding, company.sudo())

    @api.model
    def _identify_embedding(self, vector, company):
        faces = (
            self.sudo()
            .search(
                [
                    ("company_id", "in", company._canteen_served_companies().ids),
                    ("is_current", "=", True),
                    ("state", "=", "valid"),
                ]
            )
            .filtered("embedding")
        )
        matrix = face_match.build_matrix(
            [face_engine.embedding_from_bytes(base64.b64decode(face.embedding)) for face in faces]
        )
        found = face_match.identify(
            matrix,
            vector,
            threshold=company.canteen_face_match_threshold,
            margin=company.canteen_face_match_margin,
        )
        if found.index is None:
            return {"match": None, "reason": found.reason}
        face = faces[found.index]
        return {
            "match": {
                "face_id": face.id,
                "employee_id": face.employee_id.id,
                "employee_no": face.employee_no,
                "name": face.employee_id.name,
                "distance": f"{found.distance:.2f}",
            }
        }

    # Retention ---------------------------------------------------------------------------
    @api.model
    def _cron_purge_faces(self):
        """Erase the photo and embedding of faces replaced, withdrawn or refused longer ago than
        their company's retention setting; the record stays as history."""
        now = fields.Datetime.now()
        Face = self.sudo().with_context(active_test=False)
        for company in self.env["res.company"].sudo().search([]):  # pylint: disable=no-search-all
            cutoff = now - timedelta(days=company.canteen_face_retention_days)
            faces = Face.search(
                [
                    ("company_id", "=", company.id),
                    ("erased_on", "=", False),
                    "|",
                    "&",
                    ("state", "in", ("replaced", "withdrawn")),
                    ("ended_on", "<=", cutoff),
                    "&",
                    ("state", "=", "rejected"),
                    ("enrolled_on", "<=", cutoff),
                ]
            )
            faces.write({"photo": False, "device_photo": False, "embedding": False, "erased_on": now})
        return True

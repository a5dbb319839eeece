from unittest.mock import patch

import psycopg2.errors

from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.canteen_face.tools import face_engine
from odoo.addons.canteen_pos_bridge.tests.delivery_common import DeliveryMixin
from odoo.addons.canteen_pos_bridge.tools import delivery_sql

from .common import FaceCase, photo


@tagged("post_install", "-at_install")
class TestFaceSync(DeliveryMixin, FaceCase):
    """Faces reach the face terminals of the person's company and its parents through the
    terminals' command stream; the sync log follows each terminal's answer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Terminal = cls.env["canteen.terminal"]

        def terminal(name, company, kind="face"):
            return Terminal.create(
                {
                    "name": name,
                    "number": 1 + len(Terminal.search([("company_id", "=", company.id)])),
                    "serial": f"FSYNC-{name}",
                    "company_id": company.id,
                    "kind": kind,
                }
            )

        cls.hq_face = terminal("HQ", cls.hq)
        cls.branch_face = terminal("BR", cls.branch)
        cls.hq_reader = terminal("HQ-CARD", cls.hq, kind="card")
        cls.other_face = terminal("OTHER", cls.other)
        # New face terminals got a face.clear: the tests read what comes after it.
        cls.env.flush_all()
        cls.env.cr.execute(delivery_sql.NUMBER_NOW)
        cls.env.cr.execute("SELECT MAX(position) FROM canteen_terminal_command")
        cls.start = cls.env.cr.fetchone()[0]

    def poll(self, terminal, cursor=None):
        """The face commands of one poll (after the numbering a commit does)."""
        self.number()
        answer = super().poll(terminal, cursor or self.start)
        return [c for c in answer["commands"] if c["type"].startswith("face.")]

    def sync(self, employee, terminal):
        return self.env["canteen.face.sync"].search(
            [("employee_id", "=", employee.id), ("terminal_id", "=", terminal.id)]
        )

    def test_enrolment_reaches_own_and_parent_face_terminals_and_is_acknowledged(self):
        face = self.enrol(self.branch_person, photo("obama.jpg"))
        code = self.branch_person.canteen_face_id
        self.assertTrue(code)
        for terminal in (self.hq_face, self.branch_face):
            [command] = self.poll(terminal)
            self.assertEqual(command["type"], "face.upsert")
            payload = command["payload"]
            self.assertEqual((payload["face_id"], payload["employee_no"]), (code, "200001"))
            self.assertEqual(payload["photo"], face.sudo().device_photo.decode())
            self.assertEqual(payload["embedding"], face.sudo().embedding)
            self.assertEqual(self.sync(self.branch_person, terminal).state, "pending")
        self.assertFalse(self.poll(self.hq_reader))
        self.assertFalse(self.poll(self.other_face))

        [command] = self.poll(self.hq_face)
        self.ack(self.hq_face, [{"id": command["id"], "ok": True}])
        self.assertEqual(self.sync(self.branch_person, self.hq_face).state, "synced")
        [command] = self.poll(self.branch_face)
        self.ack(self.branch_face, [{"id": command["id"], "ok": False, "error": "photo_too_large"}])
        failed = self.sync(self.branch_person, self.branch_face)
        self.assertEqual((failed.state, failed.reason), ("failed", "photo_too_large"))
        self.assertEqual(
            self.env["canteen.face.sync"].search(
                [
                    ("state", "=", "failed"),
                    ("reason", "=", "photo_too_large"),
                    ("employee_id", "=", self.branch_person.id),  # the demo data has one too
                ]
            ),
            failed,
        )

        # Resend: a new command, pending again; only face desks may.
        with self.assertRaises(AccessError):
            failed.with_user(self.plain).action_resend()
        failed.with_user(self.operator).action_resend()
        self.assertEqual((failed.state, failed.reason), ("pending", False))
        [command] = self.poll(self.branch_face, cursor=command["id"])
        self.assertEqual(command["payload"]["face_id"], code)

    def test_replacement_updates_and_resignation_deletes(self):
        self.enrol(self.obama, photo("obama.jpg"))
        second = self.enrol(self.obama, photo("obama2.jpg"))
        commands = self.poll(self.hq_face)
        self.assertEqual([c["type"] for c in commands], ["face.upsert", "face.upsert"])
        self.assertEqual(commands[-1]["payload"]["embedding"], second.sudo().embedding)
        self.assertEqual(len(self.sync(self.obama, self.hq_face)), 1)
        self.obama._canteen_set_resigned()
        commands = self.poll(self.hq_face, cursor=commands[-1]["id"])
        self.assertEqual(
            [(c["type"], c["payload"]["face_id"]) for c in commands],
            [("face.delete", self.obama.canteen_face_id)],
        )
        self.assertEqual(self.sync(self.obama, self.hq_face).operation, "delete")

    def test_clear_device_then_every_face_again(self):
        self.enrol(self.obama, photo("obama.jpg"))
        self.enrol(self.branch_person, photo("obama2.jpg"))
        self.enrol(self.stranger, photo("biden.jpg"), user=self.other_operator)
        cursor = self.poll(self.hq_face)[-1]["id"]
        with self.assertRaises(AccessError):
            self.hq_face.with_user(self.plain).action_clear_faces()
        self.hq_face.with_user(self.operator).action_clear_faces()
        commands = self.poll(self.hq_face, cursor=cursor)
        self.assertEqual([c["type"] for c in commands], ["face.clear", "face.upsert", "face.upsert"])
        self.assertEqual(
            {c["payload"]["face_id"] for c in commands[1:]},
            {self.obama.canteen_face_id, self.branch_person.canteen_face_id},
        )

    def test_import_batch_records_like_enrolments_one_by_one(self):
        """The import command's batch (analyses and JPEGs made by its worker processes with
        face_engine.prepare, then one create) records what enrolling each file does: the same
        photos, the same refusals, one current face per person (a second photo of a person in
        the batch replaces the first), one pending sync line per person and terminal, and the
        same commands to the terminals in the same order."""
        files = [
            ("100231.jpg", photo("obama.jpg")),
            ("200001.jpg", photo("two_people.jpg")),
            ("100232.jpg", photo("biden.jpg")),
            ("100231.png", photo("obama2.jpg")),
            ("999999.jpg", photo("biden2.jpg")),
        ]
        sizes = [(240, 320, 20 * 1024), (480, 640, 50 * 1024)]
        measured = [face_engine.prepare(data, sizes) for _name, data in files]
        self.assertIsNone(measured[0].image)
        results = self.Face.with_user(self.operator)._import_photos(files, self.hq, "command", measured)
        self.assertEqual(
            [(r["filename"], r["ok"]) for r in results],
            [
                ("100231.jpg", True),
                ("200001.jpg", False),
                ("100232.jpg", True),
                ("100231.png", True),
                ("999999.jpg", False),
            ],
        )
        self.assertIn("2 faces were found", results[1]["message"])
        self.assertEqual(results[1]["face"].sudo().rejection_reason, "several_faces")
        self.assertIn("No cardholder has the employee number 999999", results[4]["message"])
        self.assertFalse(results[4]["face"])
        first, second = results[0]["face"].sudo(), results[3]["face"].sudo()
        self.assertEqual((first.state, first.is_current), ("replaced", False))
        self.assertEqual((second.state, second.is_current), ("valid", True))
        self.assertEqual(self.obama.current_face_id, second)
        # The terminals: obama's first face, biden's, obama's second, as one by one.
        commands = self.poll(self.hq_face)
        self.assertEqual(
            [(c["type"], c["payload"]["face_id"], c["payload"]["embedding"]) for c in commands],
            [
                ("face.upsert", self.obama.canteen_face_id, first.embedding),
                ("face.upsert", self.biden.canteen_face_id, results[2]["face"].sudo().embedding),
                ("face.upsert", self.obama.canteen_face_id, second.embedding),
            ],
        )
        self.assertEqual(self.sync(self.obama, self.hq_face).face_id, second)
        self.assertEqual(self.sync(self.obama, self.hq_face).state, "pending")
        self.assertFalse(self.sync(self.biden, self.branch_face))
        # The same photos and figures as the enrolment of the same file at the desk.
        imported = results[2]["face"].sudo()
        desk = self.enrol(self.biden, photo("biden.jpg")).sudo()
        for field in ("photo", "device_photo", "face_box", "embedding", "eye_distance", "sharpness", "yaw"):
            self.assertEqual(imported[field], desk[field], field)
        refused = self.enrol(self.branch_person, photo("two_people.jpg")).sudo()
        self.assertEqual(results[1]["face"].sudo().photo, refused.photo)
        # A device size the workers did not make is made from the photo.
        self.hq.canteen_face_device_width = 360
        results = self.Face.with_user(self.operator)._import_photos(
            files[2:3], self.hq, "command", measured[2:3]
        )
        self.assertTrue(results[0]["ok"])
        self.assertEqual(
            results[0]["face"].sudo().device_photo,
            self.enrol(self.biden, photo("biden.jpg")).sudo().device_photo,
        )

    def test_import_batch_that_fails_is_enrolled_file_by_file(self):
        """When recording the batch fails (here after it wrote its faces, commands and sync
        lines: an enrolment of one of its people saved at the same moment), nothing of it stays
        and each file is enrolled again on its own: the others are enrolled, that person's file
        says so, and the terminals get each face once."""
        files = [("100231.jpg", photo("obama.jpg")), ("100232.jpg", photo("biden.jpg"))]
        Face = type(self.Face)
        record, calls = Face._enrol_record, []

        def concurrent(faces, enrolments):
            calls.append([employee.employee_no for employee, _vals in enrolments])
            recorded = record(faces, enrolments)
            faces.env.flush_all()
            if len(enrolments) > 1 or enrolments[0][0] == self.biden:
                raise psycopg2.errors.UniqueViolation("another current face")
            return recorded

        with patch.object(Face, "_enrol_record", concurrent):
            results = self.Face.with_user(self.operator)._import_photos(files, self.hq, "command")
        self.assertEqual(calls, [["100231", "100232"], ["100231"], ["100232"]])
        self.assertEqual([r["ok"] for r in results], [True, False])
        self.assertIn("saved at the same moment", results[1]["message"])
        self.assertFalse(results[1]["face"])
        self.assertEqual(self.Face.sudo().search([("employee_id", "=", self.obama.id)]), results[0]["face"])
        self.assertFalse(self.Face.sudo().search([("employee_id", "=", self.biden.id)]))
        self.assertFalse(self.sync(self.biden, self.hq_face))
        self.assertEqual(
            [(c["type"], c["payload"]["face_id"]) for c in self.poll(self.hq_face)],
            [("face.upsert", self.obama.canteen_face_id)],
        )

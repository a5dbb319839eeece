from odoo.exceptions import AccessError
from odoo.tests import tagged

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

import base64

from odoo.tests import tagged

from odoo.addons.canteen_face.tools import face_engine
from odoo.addons.canteen_pos_bridge.tests.delivery_common import DeliveryMixin
from odoo.addons.canteen_pos_bridge.tools import charge_engine, delivery_sql, face_index

from .common import FaceCase, photo


@tagged("post_install", "-at_install")
class TestFacesAcrossGroup(DeliveryMixin, FaceCase):
    """Faces go where their company's cards are accepted (Cards Across the Group): to the face
    terminals of their company and its parents, and of a sibling or a branch whose merchants the
    company's settings accept its cards at; the 1:N searches (the bridge's index, Odoo's) look
    among the same faces."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sibling = cls.env["res.company"].create({"name": "Face Sibling", "parent_id": cls.hq.id})
        cls.env.user.company_ids |= cls.sibling
        Terminal = cls.env["canteen.terminal"]
        cls.terminals = {
            name: Terminal.create(
                {
                    "name": name,
                    "number": 1,
                    "serial": f"FSERVED-{name}",
                    "company_id": company.id,
                    "kind": "face",
                }
            )
            for name, company in (("HQ", cls.hq), ("BR", cls.branch), ("SIB", cls.sibling))
        }
        cls.env.flush_all()
        cls.env.cr.execute(delivery_sql.NUMBER_NOW)
        cls.env.cr.execute("SELECT MAX(position) FROM canteen_terminal_command")
        cls.start = cls.env.cr.fetchone()[0]

    def receive(self, name, cursor=None):
        """What face terminal `name` receives from `cursor` until nothing is left, acknowledging
        each command as a device does: (cursor, [(type, face id)] of the face commands, whether
        its lists were reloaded)."""
        self.number()
        terminal, cursor = self.terminals[name], self.start if cursor is None else cursor
        faces, reloaded = [], False
        while True:
            answer = self.poll(terminal, cursor)
            for command in answer["commands"]:
                reloaded = reloaded or command["type"] == "list.reset"
                if command["type"].startswith("face."):
                    faces.append((command["type"], (command["payload"] or {}).get("face_id")))
            own = [{"id": c["id"], "ok": True} for c in answer["commands"] if c["type"].startswith("face.")]
            self.ack(terminal, own)
            if answer["cursor"] == cursor and not answer.get("snapshot", {}).get("more"):
                return cursor, faces, reloaded
            cursor = answer["cursor"]

    def test_faces_reach_the_terminals_where_cards_are_accepted(self):
        cursor = self.receive("SIB", 0)[0]  # its first poll: its lists and the face.clear of a new terminal
        self.enrol(self.branch_person, photo("obama.jpg"))
        self.enrol(self.biden, photo("biden.jpg"))  # HQ's: not accepted at its branches
        kamala, joe = self.branch_person.canteen_face_id, self.biden.canteen_face_id
        hq_cursor, faces, _reloaded = self.receive("HQ")
        self.assertEqual(faces, [("face.upsert", kamala), ("face.upsert", joe)])
        cursor, faces, _reloaded = self.receive("SIB", cursor)
        self.assertEqual(faces, [])

        # The branch's cards are accepted at its siblings' merchants: the sibling's face
        # terminal gets the branch's faces and reloads its card lists; each face once.
        self.branch.canteen_cards_at_siblings = True
        self.assertTrue(self.terminals["SIB"].list_reset)
        cursor, faces, reloaded = self.receive("SIB", cursor)
        self.assertEqual((faces, reloaded), ([("face.upsert", kamala)], True))
        self.assertEqual(self.receive("SIB", cursor)[1], [])
        # A new enrolment reaches it too.
        self.enrol(self.branch_person, photo("obama2.jpg"))
        cursor, faces, reloaded = self.receive("SIB", cursor)
        self.assertEqual((faces, reloaded), ([("face.upsert", kamala)], False))
        # Clear and resend: the same faces.
        self.terminals["SIB"]._canteen_send_all_faces()
        cursor, faces, reloaded = self.receive("SIB", cursor)
        self.assertEqual((faces, reloaded), ([("face.clear", None), ("face.upsert", kamala)], False))

        # Refused again: deleted there.
        self.branch.canteen_cards_at_siblings = False
        cursor, faces, reloaded = self.receive("SIB", cursor)
        self.assertEqual((faces, reloaded), ([("face.delete", kamala)], True))
        sync = self.env["canteen.face.sync"].search(
            [("employee_id", "=", self.branch_person.id), ("terminal_id", "=", self.terminals["SIB"].id)]
        )
        self.assertEqual((sync.operation, sync.state), ("delete", "synced"))
        self.assertEqual(
            self.receive("HQ", hq_cursor)[1:],
            ([("face.upsert", kamala)], False),
            "the parent's terminal: the new enrolment only, no reload",
        )

    def test_searches_look_among_the_accepted_faces(self):
        face = self.enrol(self.branch_person, photo("obama.jpg")).sudo()
        vector = face_engine.embedding_from_bytes(base64.b64decode(face.embedding))
        Face = self.env["canteen.face"]
        self.env.flush_all()
        index = face_index.FaceIndex()
        index.load(self.env.cr)
        self.assertTrue(index.available)

        def fetch(query, params):
            self.env.cr.execute(query, params)
            return self.env.cr.fetchall()

        def bridge_search(name):
            terminal = charge_engine.load_terminal(self.env.cr, self.terminals[name].serial)
            found = index.identify(terminal, vector, fetch)["match"]
            return found and found["employee_id"]

        self.assertEqual(bridge_search("HQ"), self.branch_person.id, "the parent's terminal: its branch")
        self.assertIsNone(bridge_search("SIB"))
        self.assertIsNone(Face._identify_embedding(vector, self.sibling)["match"])
        self.branch.canteen_cards_at_siblings = True
        self.env.flush_all()
        self.assertEqual(bridge_search("SIB"), self.branch_person.id)
        self.assertEqual(
            Face._identify_embedding(vector, self.sibling)["match"]["employee_id"], self.branch_person.id
        )
        self.assertIsNone(Face._identify_embedding(vector, self.other)["match"], "never another group")

from pathlib import Path

from odoo.tests import BaseCase, tagged

from odoo.addons.canteen_face.tools import face_engine

# The shared test photos sit beside the project checkout: <root>/../shared/testdata/faces.
FACES = Path(__file__).resolve().parents[4] / "shared" / "testdata" / "faces"


@tagged("post_install", "-at_install")
class TestFaceEngine(BaseCase):
    def _faces_in(self, name):
        path = FACES / name
        if not path.exists():
            self.skipTest(f"test photo {path} is not available")
        return face_engine.detect_faces(face_engine.load_image(path.read_bytes()))

    def test_model_files_present(self):
        for kind, path in face_engine.model_paths().items():
            self.assertTrue(Path(path).is_file(), f"{kind} model missing at {path}")

    def test_one_face_per_portrait(self):
        for name in ("obama.jpg", "biden.jpg"):
            with self.subTest(photo=name):
                self.assertEqual(len(self._faces_in(name)), 1)

    def test_two_faces_in_group_photo(self):
        self.assertEqual(len(self._faces_in("two_people.jpg")), 2)

import functools
import io
import os
from pathlib import Path

from PIL import Image

from odoo.tests import TransactionCase, new_test_user
from odoo.tools import config

PHOTOS = ("obama.jpg", "two_people.jpg")


@functools.cache
def faces_dir():
    """The shared test photos: `shared/testdata/faces` beside the project checkout.

    Looked for above this file (the checkout may be anywhere: CI clones it elsewhere with
    `shared/` beside it), above each addons path, or at $CANTEEN_TEST_FACES. A missing
    folder fails the tests: they are the point of the face addon's tests.
    """
    candidates = []
    if os.environ.get("CANTEEN_TEST_FACES"):
        candidates.append(Path(os.environ["CANTEEN_TEST_FACES"]))
    starts = [Path(__file__).resolve()] + [
        Path(entry.strip()).resolve()
        for entry in (config.get("addons_path") or "").split(",")
        if entry.strip()
    ]
    for start in starts:
        candidates.extend(parent / "shared" / "testdata" / "faces" for parent in start.parents)
    for candidate in candidates:
        if (candidate / "obama.jpg").is_file():
            return candidate
    raise FileNotFoundError("the shared face photos (../shared/testdata/faces) were not found")


@functools.cache
def photo(name):
    return (faces_dir() / name).read_bytes()


def encode(image, fmt="JPEG", **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def open_photo(name):
    return Image.open(io.BytesIO(photo(name)))


class FaceCase(TransactionCase):
    """A headquarters with a branch and an unrelated company, cardholders in each, and users."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Company = cls.env["res.company"]
        cls.hq = Company.create({"name": "Face HQ"})
        cls.branch = Company.create({"name": "Face Branch", "parent_id": cls.hq.id})
        cls.other = Company.create({"name": "Face Elsewhere"})
        cls.env.user.company_ids |= cls.hq | cls.branch | cls.other
        cls.Face = cls.env["canteen.face"]
        cls.obama = cls._person("Barack", "100231", cls.hq)
        cls.biden = cls._person("Joe", "100232", cls.hq)
        cls.branch_person = cls._person("Kamala", "200001", cls.branch)
        cls.stranger = cls._person("Stranger", "300001", cls.other)
        cls.operator = new_test_user(
            cls.env,
            "face_operator",
            groups="base.group_user,canteen_face.group_face_operator",
            company_id=cls.hq.id,
            company_ids=[cls.hq.id, cls.branch.id],
        )
        cls.manager = new_test_user(
            cls.env,
            "face_manager",
            groups="base.group_user,canteen_card.group_card_manager",
            company_id=cls.hq.id,
            company_ids=[cls.hq.id, cls.branch.id],
        )
        cls.other_operator = new_test_user(
            cls.env,
            "face_operator_elsewhere",
            groups="base.group_user,canteen_face.group_face_operator",
            company_id=cls.other.id,
            company_ids=[cls.other.id],
        )
        cls.plain = new_test_user(
            cls.env, "face_plain", groups="base.group_user", company_id=cls.hq.id, company_ids=[cls.hq.id]
        )
        cls.obama.user_id = cls.plain

    @classmethod
    def _person(cls, name, number, company):
        return cls.env["hr.employee"].create({"name": name, "employee_no": number, "company_id": company.id})

    def enrol(self, employee, data, user=None, filename="photo.jpg"):
        Face = self.Face.with_user(user or self.operator)
        return Face._enrol(employee.with_user(user or self.operator), data, filename)

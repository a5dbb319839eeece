import base64
import io
import zipfile
from datetime import timedelta

import numpy
from PIL import Image, ImageEnhance, ImageFilter

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.canteen_face.tools import face_engine

from .common import FaceCase, encode, open_photo, photo


@tagged("post_install", "-at_install")
class TestFaceEnrolment(FaceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.obama_face = cls.Face.with_user(cls.operator)._enrol(
            cls.obama.with_user(cls.operator), photo("obama.jpg"), "obama.jpg"
        )

    def test_enrolment_records_everything(self):
        face = self.obama_face.sudo()
        self.assertEqual(face.state, "valid")
        self.assertTrue(face.is_current)
        self.assertEqual(face.employee_id, self.obama)
        self.assertEqual(face.company_id, self.hq)
        self.assertEqual(face.employee_no, "100231")
        self.assertEqual(face.enrolled_by_id, self.operator)
        self.assertTrue(face.enrolled_on)
        self.assertEqual(face.source, "desk")
        self.assertEqual((face.image_width, face.image_height, face.face_count), (910, 1137, 1))
        self.assertGreater(face.eye_distance, 80)
        self.assertGreater(face.sharpness, 40)
        self.assertTrue(50 < face.brightness < 215)
        device = base64.b64decode(face.device_photo)
        self.assertEqual(face.device_photo_size, len(device))
        self.assertLessEqual(len(device), 50 * 1024)
        with Image.open(io.BytesIO(device)) as image:
            self.assertEqual((image.format, image.size), ("JPEG", (480, 640)))
        vector = face_engine.embedding_from_bytes(base64.b64decode(face.embedding))
        self.assertEqual(vector.shape, (128,))
        self.assertAlmostEqual(float(numpy.linalg.norm(vector)), 1.0, places=5)
        self.assertEqual(self.obama.sudo().current_face_id, face)

    def test_new_enrolment_replaces_the_current_face(self):
        new = self.enrol(self.obama, photo("obama2.jpg"))
        self.assertEqual(new.sudo().state, "valid")
        self.assertEqual(self.obama_face.sudo().state, "replaced")
        self.assertFalse(self.obama_face.sudo().is_current)
        self.assertTrue(self.obama_face.sudo().ended_on)
        faces = self.Face.sudo().search([("employee_id", "=", self.obama.id)])
        self.assertEqual(len(faces), 2)
        self.assertEqual(faces.filtered("is_current"), new)
        self.assertEqual(self.obama.sudo().current_face_id, new)

    def test_refusals_keep_the_current_face(self):
        image = open_photo("obama.jpg").convert("RGB")
        cases = {
            "several_faces": photo("two_people.jpg"),
            "cut_off": photo("obama_partial_face.jpg"),
            "blurred": encode(image.filter(ImageFilter.GaussianBlur(3))),
            "too_dark": encode(ImageEnhance.Brightness(image).enhance(0.2)),
            "too_bright": encode(ImageEnhance.Brightness(image).enhance(2.5)),
            "too_small": encode(image.resize((364, 455))),
            "low_resolution": encode(image.crop((349, 142, 617, 409)).resize((120, 120))),
            "not_image": b"this is not a photo",
        }
        messages = {
            "several_faces": "2 faces were found",
            "too_small": "px between the eyes, at least 80 px",
            "blurred": "The photo is blurred",
            "too_dark": "too dark",
        }
        for reason, data in cases.items():
            with self.subTest(reason=reason):
                face = self.enrol(self.obama, data).sudo()
                self.assertEqual(face.state, "rejected")
                self.assertEqual(face.rejection_reason, reason)
                self.assertFalse(face.is_current)
                self.assertFalse(face.embedding)
                self.assertFalse(face.device_photo)
                self.assertTrue(face.rejection_message)
                self.assertIn(messages.get(reason, ""), face.rejection_message)
        self.assertEqual(self.obama.sudo().current_face_id, self.obama_face)
        self.assertEqual(self.obama_face.sudo().state, "valid")

    def test_reasons_are_translated(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        Face = self.Face.with_context(lang="zh_CN")
        limits = face_engine.Thresholds()
        self.assertEqual(
            Face._reason_message("several_faces", {"faces": 2}, limits), "找到 2 张人脸；照片中只能有一个人。"
        )
        self.assertEqual(
            Face._reason_message("too_small", {"eye_distance": 59.0}, limits),
            "人脸太小：两眼之间 59 像素，至少需要 80 像素。",
        )
        self.assertEqual(Face._reason_message("no_face", {}, limits), "照片中未找到人脸。")

    def test_thresholds_are_company_settings(self):
        defaults = self.env["res.company"].default_get(
            ["canteen_face_match_threshold", "canteen_face_match_margin"]
        )
        self.assertEqual(
            (defaults["canteen_face_match_threshold"], defaults["canteen_face_match_margin"]), (0.5, 0.05)
        )
        self.hq.canteen_face_min_eye_distance = 400
        face = self.enrol(self.biden, photo("biden.jpg")).sudo()
        self.assertEqual(face.rejection_reason, "too_small")
        self.assertIn("at least 400 px", face.rejection_message)

    def test_identification(self):
        Face = self.Face.with_user(self.operator)
        found = Face.identify_photo(base64.b64encode(photo("obama2.jpg")))
        self.assertEqual(found["match"]["employee_id"], self.obama.id)
        self.assertEqual(found["match"]["face_id"], self.obama_face.id)
        self.assertEqual(found["match"]["employee_no"], "100231")
        self.assertLess(float(found["match"]["distance"]), 0.4)
        self.assertEqual(
            Face.identify_photo(base64.b64encode(photo("biden.jpg"))), {"match": None, "reason": "no_match"}
        )
        self.assertEqual(
            Face.identify_photo(base64.b64encode(photo("two_people.jpg"))),
            {"match": None, "reason": "several_faces"},
        )
        self.assertEqual(Face.identify_photo("bm90IGFuIGltYWdl"), {"match": None, "reason": "not_image"})
        # A branch's face is found from headquarters, not from the unrelated company.
        self.enrol(self.branch_person, photo("biden.jpg"))
        found = Face.identify_photo(base64.b64encode(photo("biden2.jpg")))
        self.assertEqual(found["match"]["employee_id"], self.branch_person.id)
        with self.assertRaises(AccessError):
            Face.identify_photo(base64.b64encode(photo("biden2.jpg")), self.other.id)

    def test_ambiguous_near_identical_embeddings(self):
        vector = face_engine.embedding_from_bytes(base64.b64decode(self.obama_face.sudo().embedding))
        twin = face_engine.normalise(vector + numpy.float32(0.002))
        self.Face.sudo().create(
            {
                "employee_id": self.biden.id,
                "company_id": self.hq.id,
                "state": "valid",
                "is_current": True,
                "embedding": base64.b64encode(face_engine.embedding_to_bytes(twin)).decode(),
            }
        )
        found = self.Face.with_user(self.operator).identify_photo(base64.b64encode(photo("obama2.jpg")))
        self.assertEqual(found, {"match": None, "reason": "ambiguous"})

    def test_batch_import_wizard_report(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("photos/100232.jpg", photo("biden.jpg"))
            archive.writestr("photos/200001.jpg", photo("two_people.jpg"))
            archive.writestr("photos/999999.jpg", photo("biden2.jpg"))
            archive.writestr("__MACOSX/._100232.jpg", b"resource fork")
        Attachment = self.env["ir.attachment"].with_user(self.operator)
        files = Attachment.create({"name": "faces.zip", "raw": buffer.getvalue()}) | Attachment.create(
            {"name": "300001.png", "raw": photo("obama3.jpg")}
        )
        wizard = (
            self.env["canteen.face.import.wizard"]
            .with_user(self.operator)
            .create({"attachment_ids": [(6, 0, files.ids)]})
        )
        wizard.action_import()
        self.assertEqual(wizard.state, "done")
        report = {line.filename: line for line in wizard.line_ids}
        self.assertEqual(
            set(report), {"photos/100232.jpg", "photos/200001.jpg", "photos/999999.jpg", "300001.png"}
        )
        self.assertTrue(report["photos/100232.jpg"].ok)
        self.assertEqual(report["photos/100232.jpg"].employee_id, self.biden)
        self.assertEqual(report["photos/100232.jpg"].face_id.sudo().source, "import")
        self.assertFalse(report["photos/200001.jpg"].ok)
        self.assertIn("2 faces were found", report["photos/200001.jpg"].message)
        self.assertEqual(report["photos/200001.jpg"].employee_id, self.branch_person)
        self.assertIn("No cardholder has the employee number 999999", report["photos/999999.jpg"].message)
        # 300001 belongs to an unrelated company: not found from headquarters.
        self.assertIn("No cardholder has the employee number 300001", report["300001.png"].message)
        self.assertEqual((wizard.enrolled_count, wizard.refused_count), (1, 3))
        self.assertEqual(self.biden.sudo().current_face_id.state, "valid")
        self.assertFalse(files.exists())

    def test_enrol_wizard_on_the_employee_form(self):
        action = self.obama.with_user(self.operator).action_enrol_face()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.operator)
            .with_context(**action["context"])
            .create({"photo": base64.b64encode(photo("two_people.jpg")), "photo_filename": "x.jpg"})
        )
        wizard.action_enrol()
        self.assertEqual(wizard.face_state, "rejected")
        self.assertIn("2 faces were found", wizard.message)
        self.assertFalse(wizard.photo)

    def test_resignation_and_withdrawal_end_the_face(self):
        self.obama.with_user(self.manager).action_resign()
        face = self.obama_face.sudo()
        self.assertEqual((face.state, face.is_current), ("withdrawn", False))
        with self.assertRaises(UserError):
            self.enrol(self.obama, photo("obama2.jpg"))
        biden = self.enrol(self.biden, photo("biden.jpg"))
        biden.with_user(self.operator).action_withdraw()
        self.assertEqual(biden.sudo().state, "withdrawn")
        # Archiving a person withdraws their face too.
        branch_face = self.enrol(self.branch_person, photo("biden2.jpg"))
        self.branch_person.write({"active": False})
        self.assertEqual((branch_face.sudo().state, branch_face.sudo().is_current), ("withdrawn", False))

    def test_retention_purge(self):
        rejected = self.enrol(self.biden, photo("two_people.jpg")).sudo()
        replaced = self.obama_face.sudo()
        new = self.enrol(self.obama, photo("obama2.jpg")).sudo()
        self.Face._cron_purge_faces()
        self.assertFalse(replaced.erased_on)
        self.assertTrue(replaced.photo and rejected.photo)
        past = fields.Datetime.now() - timedelta(days=31)
        replaced.write({"ended_on": past})
        rejected.write({"enrolled_on": past})
        self.Face._cron_purge_faces()
        for face in replaced | rejected:
            self.assertTrue(face.erased_on)
            self.assertFalse(face.photo or face.device_photo or face.embedding)
        self.assertFalse(new.erased_on)
        self.assertTrue(new.photo and new.embedding)


@tagged("post_install", "-at_install")
class TestFaceAccess(FaceCase):
    """Every public door, tried by users who should not get through, with crafted values."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.face = cls.Face.with_user(cls.operator)._enrol(
            cls.obama.with_user(cls.operator), photo("obama.jpg"), "obama.jpg"
        )
        cls.other_face = cls.Face.sudo().create(
            {"employee_id": cls.stranger.id, "company_id": cls.other.id, "state": "valid", "is_current": True}
        )

    def test_orm_is_read_only_for_everyone(self):
        vals = {"employee_id": self.biden.id, "company_id": self.hq.id, "state": "valid", "is_current": True}
        for user in (self.plain, self.operator, self.manager):
            with self.subTest(user=user.login):
                Face = self.Face.with_user(user).with_context(active_test=False, tracking_disable=True)
                with self.assertRaises(AccessError):
                    Face.create(vals)
                with self.assertRaises(AccessError):
                    self.face.with_user(user).write({"state": "withdrawn", "is_current": False})
                with self.assertRaises(AccessError):
                    self.face.with_user(user).unlink()
        self.assertEqual(self.face.sudo().state, "valid")
        self.assertEqual(self.Face.sudo().search_count([("employee_id", "=", self.biden.id)]), 0)

    def test_plain_user_cannot_enrol_withdraw_or_identify(self):
        with self.assertRaises(AccessError):
            self.enrol(self.biden, photo("biden.jpg"), user=self.plain)
        with self.assertRaises(AccessError):
            self.env["canteen.face.enrol.wizard"].with_user(self.plain).create({"employee_id": self.biden.id})
        with self.assertRaises(AccessError):
            self.face.with_user(self.plain).action_withdraw()
        with self.assertRaises(AccessError):
            self.Face.with_user(self.plain).identify_photo(base64.b64encode(photo("obama2.jpg")))
        self.assertEqual(self.face.sudo().state, "valid")

    def test_imports_need_the_group_and_the_company(self):
        files = [("100232.jpg", photo("biden.jpg"))]
        with self.assertRaises(AccessError):
            self.Face.with_user(self.plain)._import_photos(files, self.hq)
        with self.assertRaises(AccessError):
            self.env["canteen.face.import.wizard"].with_user(self.plain).create({})
        with self.assertRaises(AccessError):
            self.Face.with_user(self.operator)._import_photos(
                [("300001.jpg", photo("biden.jpg"))], self.other
            )
        with self.assertRaises(AccessError):
            attachment = (
                self.env["ir.attachment"]
                .with_user(self.operator)
                .create({"name": "300001.jpg", "raw": photo("biden.jpg")})
            )
            wizard = (
                self.env["canteen.face.import.wizard"]
                .with_user(self.operator)
                .create({"company_id": self.other.id, "attachment_ids": [(6, 0, attachment.ids)]})
            )
            wizard.action_import()
        self.assertFalse(self.Face.sudo().search([("employee_id", "=", self.biden.id)]))
        self.assertEqual(self.Face.sudo().search([("employee_id", "=", self.stranger.id)]), self.other_face)

    def test_other_company_operator_is_refused(self):
        with self.assertRaises(AccessError):
            self.enrol(self.obama, photo("obama2.jpg"), user=self.other_operator)
        with self.assertRaises(AccessError):
            self.face.with_user(self.other_operator).action_withdraw()
        # Claiming the company in the context does not help.
        crafted = self.Face.with_user(self.other_operator).with_context(allowed_company_ids=[self.hq.id])
        with self.assertRaises(AccessError):
            crafted._enrol(self.obama.with_user(self.other_operator), photo("obama2.jpg"))
        with self.assertRaises(AccessError):
            self.face.with_user(self.operator).with_context(allowed_company_ids=[self.other.id]).read(
                ["state"]
            )
        self.assertEqual(self.obama.sudo().current_face_id, self.face)

    def test_operator_sees_companies_faces_not_others(self):
        visible = self.Face.with_user(self.operator).search([])
        self.assertIn(self.face, visible)
        self.assertNotIn(self.other_face, visible)
        with self.assertRaises(AccessError):
            self.other_face.with_user(self.operator).read(["state"])

    def test_photos_for_managers_and_the_person_alone(self):
        # The person (plain user linked to Obama) sees their own enrolment and its photo only.
        mine = self.Face.with_user(self.plain).search([])
        self.assertEqual(mine, self.face)
        self.assertTrue(self.face.with_user(self.plain).my_photo)
        with self.assertRaises(AccessError):
            self.face.with_user(self.plain).read(["photo"])
        with self.assertRaises(AccessError):
            self.face.with_user(self.plain).read(["embedding"])
        # A face operator enrols but does not see the photos; a card manager does.
        self.assertFalse(self.face.with_user(self.operator).my_photo)
        with self.assertRaises(AccessError):
            self.face.with_user(self.operator).read(["device_photo"])
        self.assertTrue(self.face.with_user(self.manager).read(["device_photo"])[0]["device_photo"])
        biden_face = self.enrol(self.biden, photo("biden.jpg"))
        self.assertFalse(self.Face.with_user(self.plain).search([("id", "=", biden_face.id)]))

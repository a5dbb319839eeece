import io
import tempfile
from pathlib import Path
from unittest.mock import patch

import numpy
from PIL import Image, ImageOps

from odoo.tests import BaseCase, tagged

from odoo.addons.canteen_face.tools import face_engine, face_resnet

from .common import encode, open_photo, photo


@tagged("post_install", "-at_install")
class TestFaceEngine(BaseCase):
    def test_model_files_five_point_and_resnet_only(self):
        paths = face_engine.model_paths()
        self.assertEqual(set(paths), {"landmarks", "embedding"})
        for kind, path in paths.items():
            self.assertTrue(Path(path).is_file(), f"{kind} model missing at {path}")
        self.assertIn("5_face_landmarks", paths["landmarks"])
        self.assertNotIn("68", Path(paths["landmarks"]).name)

    def test_models_loaded_once(self):
        face_engine.warm_up()
        self.assertIs(face_engine._encoder(), face_engine._encoder())
        self.assertIs(face_engine._shape_predictor(), face_engine._shape_predictor())

    def test_embedding_network_is_dlibs_run_by_numpy(self):
        """FaceNet reads dlib's ResNet from its model file and gives dlib's descriptor of the
        same chip (to float32 rounding); the engine uses it, not the slower dlib run."""
        import dlib

        path = face_engine.model_paths()["embedding"]
        self.assertIsInstance(face_engine._encoder(), face_resnet.FaceNet)
        reference = dlib.face_recognition_model_v1(path)
        predictor = face_engine._shape_predictor()
        for name in ("obama.jpg", "biden.jpg", "obama2.jpg"):
            with self.subTest(photo=name):
                pixels = numpy.asarray(open_photo(name).convert("RGB"))
                rect = face_engine._detect(Image.fromarray(pixels), face_engine.WORK_SIDE)[0]
                chip = dlib.get_face_chip(pixels, predictor(pixels, rect), 150, 0.25)
                expected = numpy.asarray(reference.compute_face_descriptor(chip))
                got = face_engine._encoder().descriptor(chip)
                self.assertEqual(got.shape, (128,))
                self.assertLess(float(numpy.abs(got - expected).max()), 1e-5)
        # A file whose layers are not this network's is refused, never run half-understood.
        with open(path, "rb") as model:
            data = model.read()
        cut = data.index(b"fc_2")
        with self.assertRaises(face_resnet.ModelFormatError):
            face_resnet.read_layers(data[:cut])
        with self.assertRaises(face_resnet.ModelFormatError):
            face_resnet.read_layers(data.replace(b"\x01\x07affine_", b"\x01\x07affin__", 1))

    def test_model_file_read_strictly(self):
        """The model file is read as dlib writes it or refused (ModelFormatError, then dlib's own
        run): no layer skipped, no length, number, size or value taken on trust."""
        data = Path(face_engine.model_paths()["embedding"]).read_bytes()
        head = b"\x01\x15input_rgb_image_sized"
        refused = {
            "an unknown layer between two": (b"\x01\x05relu_", b"\x01\x08dropout_\x01\x05relu_"),
            "a name of another length": (b"\x01\x05relu_", b"\x01\x06relu_"),
            "a chip of 112 pixels": (b"\x01\x96\x01\x96\x01\x05con_4", b"\x01\x70\x01\x70\x01\x05con_4"),
            "a negative tensor size": (b"\x01\x05con_4\x01\x02\x02", b"\x01\x05con_4\x01\x02\x82"),
            # strides -2: numpy would read the picture backwards and give another descriptor
            "a negative stride": (
                b"max_pool_2\x01\x03\x01\x03\x01\x02\x01\x02",
                b"max_pool_2\x01\x03\x01\x03\x81\x02\x81\x02",
            ),
            "a negative size": (b"\x01\x04fc_2\x01\x80", b"\x01\x04fc_2\x81\x80"),
        }
        for case, (old, new) in refused.items():
            with self.subTest(case), self.assertRaises(face_resnet.ModelFormatError):
                self.assertIn(old, data)
                face_resnet.read_layers(data.replace(old, new, 1))
        # The red mean (mantissa 0xf59062, exponent -17) as dlib writes inf and NaN (mantissa 0,
        # exponent 32000 or 32002), or with an exponent that overflows.
        red = head + b"\x03\x62\x90\xf5\x81\x11"
        self.assertIn(red, data)
        for case, value in (
            ("inf", b"\x00\x02\x00\x7d"),
            ("nan", b"\x00\x02\x02\x7d"),
            ("huge", b"\x01\x01\x02\x00\x7d"),
        ):
            with self.subTest(case), self.assertRaises(face_resnet.ModelFormatError):
                face_resnet.read_layers(data.replace(red, head + value, 1))
        with self.assertRaises(face_resnet.ModelFormatError):  # a number cut off by the end of the file
            face_resnet.read_layers(head + b"\x04\x01")

    def test_encoder_falls_back_to_dlibs_run(self):
        """A file FaceNet reads but cannot run (the projection's sizes swapped: it would fail at
        the first face) is refused when loaded; then the engine computes the same embeddings
        with dlib's own network."""
        data = Path(face_engine.model_paths()["embedding"]).read_bytes()
        fc = b"\x01\x04fc_2\x01\x80\x02\x00\x01"  # 128 outputs, 256 inputs
        self.assertIn(fc, data)
        with tempfile.NamedTemporaryFile(suffix=".dat") as model:
            model.write(data.replace(fc, b"\x01\x04fc_2\x02\x00\x01\x01\x80", 1))
            model.flush()
            with self.assertRaises(face_resnet.ModelFormatError):
                face_resnet.FaceNet(model.name)
        expected = face_engine.analyse(photo("obama.jpg")).embedding
        self.addCleanup(face_engine._encoder.cache_clear)
        face_engine._encoder.cache_clear()
        refusal = face_resnet.ModelFormatError("another network")
        with patch.object(face_resnet, "FaceNet", side_effect=refusal), self.assertLogs(face_engine.__name__):
            self.assertIsInstance(face_engine._encoder(), face_engine._DlibEncoder)
        got = face_engine.analyse(photo("obama.jpg")).embedding
        self.assertLess(float(numpy.abs(got - expected).max()), 1e-5)

    def test_portrait_accepted_with_figures_and_unit_embedding(self):
        analysis = face_engine.analyse(photo("obama.jpg"))
        self.assertIsNone(analysis.reason, analysis.figures)
        self.assertEqual(analysis.figures["faces"], 1)
        self.assertGreater(analysis.figures["eye_distance"], 120)
        self.assertLess(abs(analysis.figures["yaw"]), 10)
        self.assertEqual(analysis.embedding.dtype, numpy.float32)
        self.assertEqual(analysis.embedding.shape, (128,))
        self.assertAlmostEqual(float(numpy.linalg.norm(analysis.embedding)), 1.0, places=5)
        jpeg = face_engine.device_jpeg(
            analysis.image, analysis.box, width=480, height=640, max_bytes=50 * 1024
        )
        self.assertLessEqual(len(jpeg), 50 * 1024)
        with Image.open(io.BytesIO(jpeg)) as device:
            self.assertEqual(device.format, "JPEG")
            self.assertEqual(device.size, (480, 640))
        smaller = face_engine.device_jpeg(
            analysis.image, analysis.box, width=240, height=320, max_bytes=8 * 1024
        )
        self.assertLessEqual(len(smaller), 8 * 1024)
        # The same photo as greyscale PNG, as PNG with transparency and as an EXIF-rotated JPEG
        # (pixels stored turned, the orientation tag says how to show them) is the same face.
        image = open_photo("obama.jpg").convert("RGB")
        rgba = image.convert("RGBA")
        rgba.paste((0, 0, 0, 0), (0, 0, 60, 60))
        turned = image.transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90° clockwise to show": undoes the counter-clockwise turn
        variants = {
            "grey png": encode(image.convert("L"), "PNG"),
            "alpha png": encode(rgba, "PNG"),
            "exif rotated": encode(turned, "JPEG", exif=exif.tobytes()),
        }
        for name, data in variants.items():
            with self.subTest(variant=name):
                other = face_engine.analyse(data)
                self.assertIsNone(other.reason, other.figures)
                self.assertEqual(other.image.size, image.size)
                distance = float(numpy.linalg.norm(other.embedding - analysis.embedding))
                self.assertLess(distance, 0.2)
        self.assertEqual(
            ImageOps.exif_transpose(Image.open(io.BytesIO(variants["exif rotated"]))).size, image.size
        )

    def test_two_faces_in_group_photo(self):
        analysis = face_engine.analyse(photo("two_people.jpg"))
        self.assertEqual(analysis.reason, "several_faces")
        self.assertEqual(analysis.figures["faces"], 2)

    def test_not_an_image(self):
        for data in (b"", b"hello", b"\x89PNG\r\n\x1a\n broken", photo("obama.jpg")[:500]):
            with self.subTest(data=data[:10]):
                self.assertEqual(face_engine.analyse(data).reason, "not_image")

    def test_low_resolution(self):
        analysis = face_engine.analyse(encode(Image.new("RGB", (200, 300), "white")))
        self.assertEqual(analysis.reason, "low_resolution")

    def test_no_face(self):
        noise = numpy.random.default_rng(1).integers(60, 200, (400, 400, 3), dtype=numpy.uint8)
        self.assertEqual(face_engine.analyse(encode(Image.fromarray(noise))).reason, "no_face")
        self.assertEqual(
            face_engine.analyse(encode(Image.new("RGB", (400, 400), (5, 5, 5)))).reason, "too_dark"
        )

    def test_head_pose_from_five_landmarks(self):
        # A frontal face: eyes level, nose base centred 0.55 eye-widths below the eye line.
        frontal = [(150, 100), (120, 100), (50, 100), (80, 100), (100, 155)]
        yaw, pitch, roll = face_engine.head_pose(frontal)
        self.assertAlmostEqual(yaw, 0, delta=0.5)
        self.assertAlmostEqual(pitch, 0, delta=0.5)
        self.assertAlmostEqual(roll, 0, delta=0.5)
        # Nose pushed sideways by half the eye width: turned far away.
        turned = [*frontal[:4], (150, 155)]
        self.assertGreater(abs(face_engine.head_pose(turned)[0]), 45)
        # Nose base close to the eye line: head tilted back.
        self.assertGreater(abs(face_engine.head_pose([*frontal[:4], (100, 110)])[1]), 30)
        # The whole face rotated 30° in the picture: roll only.
        angle = numpy.radians(30)
        rotation = numpy.array([[numpy.cos(angle), -numpy.sin(angle)], [numpy.sin(angle), numpy.cos(angle)]])
        rolled = [tuple(rotation @ numpy.array(p, dtype=float)) for p in frontal]
        yaw, pitch, roll = face_engine.head_pose(rolled)
        self.assertAlmostEqual(abs(roll), 30, delta=0.5)
        self.assertAlmostEqual(yaw, 0, delta=0.5)
        self.assertAlmostEqual(pitch, 0, delta=0.5)

    def test_laplacian_variance(self):
        flat = numpy.full((50, 50), 128, dtype=numpy.float32)
        self.assertEqual(face_engine.laplacian_variance(flat), 0.0)
        checker = (numpy.indices((50, 50)).sum(axis=0) % 2 * 255).astype(numpy.float32)
        self.assertGreater(face_engine.laplacian_variance(checker), 10000)

    def test_embedding_bytes_round_trip(self):
        vector = face_engine.normalise(numpy.arange(1, 129, dtype=numpy.float64))
        data = face_engine.embedding_to_bytes(vector)
        self.assertEqual(len(data), 512)
        numpy.testing.assert_array_equal(face_engine.embedding_from_bytes(data), vector)

    def test_judge_measured_photo_as_analyse(self):
        """The import command measures photos in worker processes and judges them with each
        company's limits: the same answer as analysing with those limits."""
        strict = face_engine.Thresholds(min_eye_distance=160, max_yaw=5, min_sharpness=80)
        for name in ("obama.jpg", "two_people.jpg"):
            data = photo(name)
            measured = face_engine.analyse(data, face_engine.MEASURE)
            for limits in (face_engine.Thresholds(), strict):
                with self.subTest(photo=name, limits=limits):
                    expected = face_engine.analyse(data, limits)
                    judged = face_engine.judge(measured, limits)
                    self.assertEqual(
                        (judged.reason, judged.figures, judged.box),
                        (expected.reason, expected.figures, expected.box),
                    )
                    if expected.embedding is None:
                        self.assertIsNone(judged.embedding)
                    else:
                        numpy.testing.assert_array_equal(judged.embedding, expected.embedding)

"""Face detection with dlib and the models of the face_recognition_models package.

The models are loaded once per process and kept: loading the landmark and embedding
networks takes about a second, detection then takes milliseconds.
"""

import functools
import io

import dlib
import face_recognition_models
import numpy
from PIL import Image, ImageOps


@functools.cache
def _detector():
    return dlib.get_frontal_face_detector()


def load_image(data):
    """Decode image bytes into an RGB array, honouring the EXIF orientation of phone photos."""
    with Image.open(io.BytesIO(data)) as image:
        return numpy.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def detect_faces(pixels, upsample=1):
    """Face rectangles (left, top, right, bottom) found in an RGB array."""
    return [(r.left(), r.top(), r.right(), r.bottom()) for r in _detector()(pixels, upsample)]


def model_paths():
    """Paths of the model files the engine uses, for checks and diagnostics."""
    return {
        "landmarks": face_recognition_models.pose_predictor_model_location(),
        "embedding": face_recognition_models.face_recognition_model_location(),
    }

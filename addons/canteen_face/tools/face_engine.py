"""Face detection, quality checks and embeddings with dlib and the models of face_recognition_models.

Only the 5-point landmark model and the ResNet embedding model are used; the 68-point model is
trained on data that excludes commercial use and is never loaded. The models are loaded once
per process and kept: loading takes about a second, a photo then takes a fraction of one.

Everything here is pure Python on bytes and arrays (no Odoo): `analyse()` answers a refusal
code (see REASONS) or the figures and the normalised embedding of the one face of a photo;
`device_jpeg()` makes the small portrait JPEG that face terminals store.
"""

import dataclasses
import functools
import io
import logging
import math

import dlib
import face_recognition_models
import numpy
from PIL import Image, ImageOps, UnidentifiedImageError

from . import face_resnet

_logger = logging.getLogger(__name__)

# Refusal codes, in the order the checks run.
REASONS = (
    "not_image",
    "low_resolution",
    "no_face",
    "several_faces",
    "too_small",
    "cut_off",
    "turned_away",
    "too_dark",
    "too_bright",
    "blurred",
)
# Landmarks and the embedding work on a copy whose longest side is at most this.
WORK_SIDE = 1024
# A large JPEG is decoded at a reduced scale whose longest side is no smaller than this (DCT
# scaling: a 12 MP phone photo decodes a quarter of its pixels); the device JPEG is cut from
# the decoded photo, so the face must keep enough pixels for the terminals' 480×640.
DECODE_SIDE = 1600
# Detection (HOG, whose cost grows with the area) runs on a grey copy whose longest side is at
# most the thresholds' `detect_side`: when it finds no face, on the grey working copy, then on
# that copy upsampled once. The first pass of an identification works at 320 px: a terminal's
# camera frames one diner close up (a 640×480 picture: 9 ms instead of 40 ms).
IDENTIFICATION_DETECT_SIDE = 320
# Sharpness is measured on the face scaled to this width, so that it does not depend on the
# photo's resolution.
SHARPNESS_WIDTH = 160
# The enrolment photo kept on the record: upright, at most this many pixels on its longer side.
STORED_PHOTO_SIDE = 1280
# A photo larger than this is refused before decoding (decompression bombs).
MAX_PIXELS = 60_000_000
# Typical geometry of the 5 landmarks of a frontal face, relative to the distance between the
# eyes' outer corners: the nose base lies this far below the eye line, and this deep in front
# of the eyes' plane (used to turn offsets into approximate angles).
NOSE_DROP = 0.55
NOSE_DEPTH = 0.4


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Limits of the quality checks (company settings in Odoo)."""

    min_eye_distance: float = 80.0  # px between the eyes' outer corners, in the photo
    min_sharpness: float = 40.0  # variance of the Laplacian of the face at SHARPNESS_WIDTH px
    min_brightness: float = 50.0  # mean luminance of the face, 0-255
    max_brightness: float = 215.0
    max_yaw: float = 30.0  # degrees left or right
    max_pitch: float = 30.0  # degrees up or down
    min_resolution: int = 240  # px, the photo's shorter side
    max_cut_off: float = 0.15  # share of the face box allowed outside the photo
    detect_side: int = WORK_SIDE  # px, the longest side of the first detection pass


# Identification looks for a face, not for an enrolment-quality photo: a terminal's camera
# picture is small and often soft, so only the detector's own limits apply.
IDENTIFICATION = Thresholds(
    min_eye_distance=1,
    min_sharpness=0,
    min_brightness=0,
    max_brightness=256,
    max_yaw=90,
    max_pitch=90,
    min_resolution=1,
    max_cut_off=1.0,
    detect_side=IDENTIFICATION_DETECT_SIDE,
)


# Every check passes: a photo measured once (in a worker process of the import command), then
# judged with the limits of the person's company by `judge`, as `analyse` with them would.
MEASURE = Thresholds(
    min_eye_distance=0,
    min_sharpness=0,
    min_brightness=0,
    max_brightness=256,
    max_yaw=180,
    max_pitch=180,
    min_resolution=0,
    max_cut_off=1.0,
)


@dataclasses.dataclass
class Analysis:
    """What `analyse()` found: `reason` is None when the photo is accepted."""

    reason: str | None = None
    figures: dict = dataclasses.field(default_factory=dict)
    box: tuple | None = None  # face box (left, top, right, bottom) in the photo's pixels
    landmarks: list | None = None  # the 5 points, in the photo's pixels
    embedding: numpy.ndarray | None = None  # 128 float32, unit length
    image: Image.Image | None = None  # the photo, upright RGB
    # Made beforehand with the analysis (`prepare`, in the import command's worker processes):
    # "stored": (stored JPEG, face box) and, per (width, height, max_bytes), the device JPEG.
    jpegs: dict | None = None

    @property
    def ok(self):
        return self.reason is None


@functools.cache
def _detector():
    return dlib.get_frontal_face_detector()


@functools.cache
def _shape_predictor():
    return dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())


class _DlibEncoder:
    """dlib's own run of the embedding network (without BLAS in the dlib-bin wheel: about five
    times slower than FaceNet), used when the model file is not the one FaceNet reads."""

    def __init__(self, path):
        self.model = dlib.face_recognition_model_v1(path)

    def descriptor(self, chip):
        return numpy.asarray(self.model.compute_face_descriptor(chip), dtype=numpy.float32)


@functools.cache
def _encoder():
    """The embedding network: dlib's ResNet with its weights, run by numpy (face_resnet)."""
    path = face_recognition_models.face_recognition_model_location()
    try:
        return face_resnet.FaceNet(path)
    except face_resnet.ModelFormatError as error:  # FaceNet turns every misfit into one
        _logger.warning("Face embeddings computed by dlib (slower): %s", error)
        return _DlibEncoder(path)


def face_embedding(pixels, shape):
    """The unit embedding of the face whose landmarks are `shape` in the RGB array `pixels`:
    the 150×150 chip dlib aligns on the landmarks, through the network."""
    chip = dlib.get_face_chip(pixels, shape, face_resnet.CHIP_SIZE, face_resnet.CHIP_PADDING)
    return normalise(_encoder().descriptor(chip))


def model_paths():
    """Paths of the model files the engine uses, for checks and diagnostics."""
    return {
        "landmarks": face_recognition_models.pose_predictor_five_point_model_location(),
        "embedding": face_recognition_models.face_recognition_model_location(),
    }


def warm_up():
    """Load the models now (a process that serves requests calls this at start)."""
    _detector()
    _shape_predictor()
    _encoder()


# Images ------------------------------------------------------------------------------------
def open_image(data):
    """Decode image bytes into an upright RGB PIL image, or None when they are not an image.

    EXIF orientation (phone photos) is applied, transparency is flattened onto white and
    greyscale, palette, CMYK and 16-bit images are converted.
    """
    return decode_image(data)[0]


def decode_image(data, min_side=None):
    """(upright RGB PIL image or None, the photo's own upright size): as `open_image`, but a
    JPEG whose longest side is at least twice `min_side` is decoded at a reduced scale (a half,
    a quarter or an eighth) whose longest side is still at least `min_side`."""
    try:
        with Image.open(io.BytesIO(data)) as raw:
            if raw.width * raw.height > MAX_PIXELS:
                return None, None
            size = raw.size
            if min_side and raw.format == "JPEG" and max(size) >= 2 * min_side:
                scale = min_side / max(size)
                raw.draft(raw.mode, (math.ceil(size[0] * scale), math.ceil(size[1] * scale)))
            raw.load()
            image = _flatten(ImageOps.exif_transpose(raw))
            if image.size[::-1] == raw.size and raw.size[0] != raw.size[1]:
                size = size[::-1]  # turned by its EXIF orientation
            return image, size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None, None


def _flatten(image):
    """RGB: transparency onto white, palette, CMYK, greyscale and 16-bit converted."""
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        image = image.point(lambda v: v / 256).convert("L")
    return image.convert("RGB")


def load_image(data):
    """Decode image bytes into an upright RGB array (kept for callers of the first engine)."""
    image = open_image(data)
    if image is None:
        raise ValueError("not an image")
    return numpy.asarray(image)


def detect_faces(pixels, upsample=1):
    """Face rectangles (left, top, right, bottom) found in an RGB array."""
    return [(r.left(), r.top(), r.right(), r.bottom()) for r in _detector()(pixels, upsample)]


def _working_copy(image):
    scale = min(1.0, WORK_SIDE / max(image.size))
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    return image, scale


def _detect(work, side):
    """Face rectangles in the working copy's pixels: found on a grey copy at most `side` px,
    mapped back; when none, on the grey working copy, then on it upsampled once."""
    grey = work.convert("L")
    scale = min(1.0, side / max(grey.size))
    if scale < 0.9:
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        small = grey.resize(size, Image.Resampling.BILINEAR)
        faces = _detector()(numpy.asarray(small), 0)
        if faces:
            back_x, back_y = grey.width / small.width, grey.height / small.height
            return [
                dlib.rectangle(
                    round(r.left() * back_x),
                    round(r.top() * back_y),
                    round(r.right() * back_x),
                    round(r.bottom() * back_y),
                )
                for r in faces
            ]
    pixels = numpy.asarray(grey)
    faces = list(_detector()(pixels, 0))
    if not faces:
        faces = list(_detector()(pixels, 1))
    return faces


def luminance(image):
    """Grey levels (float32 array) of a PIL image, ITU-R 601 weights as PIL's "L" mode."""
    return numpy.asarray(image.convert("L"), dtype=numpy.float32)


def laplacian_variance(grey):
    """Variance of the 4-neighbour Laplacian of a grey array: low means blurred."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * grey[1:-1, 1:-1]
    return float(lap.var())


def head_pose(points):
    """Approximate (yaw, pitch, roll) in degrees from dlib's 5 landmarks.

    The points are (x, y): 0 and 1 the outer and inner corner of the eye on the image's right,
    2 and 3 those of the eye on the image's left, 4 the base of the nose. Roll is the tilt of
    the eye line; after removing it, yaw comes from the nose's sideways offset from the middle
    of the eyes and pitch from its height below the eye line, both relative to the distance
    between the eyes' outer corners.
    """
    pts = numpy.asarray(points, dtype=numpy.float64)
    right_eye = pts[0:2].mean(axis=0)
    left_eye = pts[2:4].mean(axis=0)
    dx, dy = right_eye - left_eye
    roll = math.degrees(math.atan2(dy, dx))
    width = float(numpy.linalg.norm(pts[0] - pts[2]))
    if width <= 0:
        return 0.0, 0.0, roll
    cos_r, sin_r = math.cos(-math.radians(roll)), math.sin(-math.radians(roll))
    middle = (right_eye + left_eye) / 2.0
    nx, ny = pts[4] - middle
    nose_x = (nx * cos_r - ny * sin_r) / width
    nose_y = (nx * sin_r + ny * cos_r) / width
    yaw = math.degrees(math.atan2(nose_x, NOSE_DEPTH))
    pitch = math.degrees(math.atan2(NOSE_DROP - nose_y, NOSE_DEPTH))
    return yaw, pitch, roll


# Analysis ----------------------------------------------------------------------------------
def analyse(data, thresholds=None, embed=True):
    """Check a photo for enrolment and compute its embedding.

    Returns an Analysis whose `reason` is the first refusal code of REASONS (None when the photo
    is accepted) and whose `figures` hold what was measured (sizes in the photo's pixels).
    """
    limits = thresholds or Thresholds()
    result = Analysis()
    if isinstance(data, bytes | bytearray):
        image, size = decode_image(data, DECODE_SIDE)
    else:
        image, size = data, data.size
    if image is None:
        result.reason = "not_image"
        return result
    result.image = image
    result.figures.update(width=size[0], height=size[1])
    if min(size) < limits.min_resolution:
        result.reason = "low_resolution"
        return result
    work, scale = _working_copy(image)
    faces = _detect(work, limits.detect_side)
    result.figures["faces"] = len(faces)
    if not faces:
        brightness = float(luminance(work).mean())
        result.figures["brightness"] = round(brightness, 1)
        result.reason = _brightness_reason(brightness, limits) or "no_face"
        return result
    if len(faces) > 1:
        result.reason = "several_faces"
        return result
    pixels = numpy.asarray(work)
    shape = _shape_predictor()(pixels, faces[0])
    result.reason = _check_face(result, faces[0], shape, scale, limits, decoded=image.width / size[0])
    if result.reason is None and embed:
        result.embedding = face_embedding(pixels, shape)
    return result


def _check_face(result, rect, shape, scale, limits, *, decoded=1.0):
    """The refusal code for the one face found (size, position, pose, light, focus) or None;
    fills the box and the landmarks of `result` (in the pixels of `result.image`, decoded at
    `decoded` times the photo's size) and its figures (sizes in the photo's own pixels)."""
    image, figures = result.image, result.figures
    points = [(p.x / scale, p.y / scale) for p in shape.parts()]
    box = (rect.left() / scale, rect.top() / scale, rect.right() / scale, rect.bottom() / scale)
    result.box = tuple(round(v) for v in box)
    result.landmarks = [(round(x, 1), round(y, 1)) for x, y in points]
    eye_distance = math.dist(points[0], points[2]) / decoded
    figures["eye_distance"] = round(eye_distance, 1)
    if eye_distance < limits.min_eye_distance:
        return "too_small"
    outside = _share_outside(box, image.size)
    figures["cut_off"] = round(outside, 3)
    if outside > limits.max_cut_off:
        return "cut_off"
    yaw, pitch, roll = head_pose(points)
    figures.update(yaw=round(yaw, 1), pitch=round(pitch, 1), roll=round(roll, 1))
    if abs(yaw) > limits.max_yaw or abs(pitch) > limits.max_pitch:
        return "turned_away"
    face = image.crop(result.box)
    height = max(1, round(face.height * SHARPNESS_WIDTH / max(1, face.width)))
    grey = luminance(face.resize((SHARPNESS_WIDTH, height), Image.Resampling.BILINEAR))
    brightness = float(grey.mean())
    figures["brightness"] = round(brightness, 1)
    sharpness = laplacian_variance(grey)
    figures["sharpness"] = round(sharpness, 1)
    if sharpness >= limits.min_sharpness or _brightness_reason(brightness, limits):
        return _brightness_reason(brightness, limits)
    return "blurred"


def judge(measured, limits):
    """The Analysis of a photo with `limits` from its Analysis with MEASURE: the same reason,
    figures, box and embedding as `analyse(data, limits)` (the figures compared are rounded to
    0.1, 0.001 for the cut-off share)."""
    result = Analysis(image=measured.image, jpegs=measured.jpegs)
    if measured.reason == "not_image":
        result.reason = "not_image"
        return result
    figures = measured.figures
    found = measured.reason not in ("no_face", "several_faces")
    # The checks of `analyse` in its order: the figures each one adds, then its refusal or None.
    steps = (
        (
            ("width", "height"),
            lambda: min(figures["width"], figures["height"]) < limits.min_resolution and "low_resolution",
        ),
        (("faces",), lambda: measured.reason == "several_faces" and "several_faces"),
        (
            ("brightness",) if not found else (),
            lambda: not found and (_brightness_reason(figures["brightness"], limits) or "no_face"),
        ),
        (("eye_distance",), lambda: figures["eye_distance"] < limits.min_eye_distance and "too_small"),
        (("cut_off",), lambda: figures["cut_off"] > limits.max_cut_off and "cut_off"),
        (
            ("yaw", "pitch", "roll"),
            lambda: (
                (abs(figures["yaw"]) > limits.max_yaw or abs(figures["pitch"]) > limits.max_pitch)
                and "turned_away"
            ),
        ),
        (
            ("brightness", "sharpness"),
            lambda: (
                _brightness_reason(figures["brightness"], limits)
                or (figures["sharpness"] < limits.min_sharpness and "blurred")
            ),
        ),
    )
    for number, (keys, refusal) in enumerate(steps):
        if number == 3:  # the one face found: its box and landmarks
            result.box, result.landmarks = measured.box, measured.landmarks
        result.figures.update({key: figures[key] for key in keys if key in figures})
        result.reason = refusal() or None
        if result.reason:
            return result
    result.embedding = measured.embedding
    return result


def _brightness_reason(brightness, limits):
    if brightness < limits.min_brightness:
        return "too_dark"
    if brightness > limits.max_brightness:
        return "too_bright"
    return None


def _share_outside(box, size):
    left, top, right, bottom = box
    width, height = size
    area = max(1.0, (right - left) * (bottom - top))
    inside_w = max(0.0, min(right, width) - max(left, 0.0))
    inside_h = max(0.0, min(bottom, height) - max(top, 0.0))
    return 1.0 - inside_w * inside_h / area


def normalise(vector):
    """A float32 copy of an embedding at unit length."""
    vector = numpy.asarray(vector, dtype=numpy.float32).reshape(-1)
    norm = float(numpy.linalg.norm(vector))
    return vector / norm if norm else vector


def embedding_to_bytes(vector):
    """The little-endian float32 bytes of an embedding (what is stored and sent)."""
    return numpy.asarray(vector, dtype="<f4").tobytes()


def embedding_from_bytes(data):
    return numpy.frombuffer(data, dtype="<f4").copy()


def prepare(data, device_sizes=()):
    """The analysis of a photo with MEASURE and its JPEGs, made where the analysis is (a worker
    process of the import command): the stored JPEG when the photo could be read, and the
    device JPEG for each (width, height, max_bytes) of `device_sizes` when one face was found.
    The decoded image is left out (the JPEGs replace it, and it is costly to send back)."""
    result = analyse(data, MEASURE)
    if result.image is None:
        return result
    result.jpegs = {"stored": stored_jpeg(result.image, result.box)}
    if result.box is not None and result.embedding is not None:
        for width, height, max_bytes in device_sizes:
            result.jpegs[width, height, max_bytes] = device_jpeg(
                result.image, result.box, width=width, height=height, max_bytes=max_bytes
            )
    result.image = None
    return result


# Stored and device photos ------------------------------------------------------------------
def stored_jpeg(image, box=None):
    """The JPEG kept on the record (longer side at most STORED_PHOTO_SIDE) and the face box
    scaled to it, as "left,top,right,bottom"."""
    scale = min(1.0, STORED_PHOTO_SIDE / max(image.size))
    if scale < 1.0:
        image = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
            Image.Resampling.LANCZOS,
        )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    face_box = ",".join(str(round(v * scale)) for v in box) if box else False
    return buffer.getvalue(), face_box


def device_jpeg(image, box, *, width=480, height=640, max_bytes=50 * 1024, margin=0.6):
    """A portrait JPEG of the face for terminals: cropped around the face box with `margin`
    (a share of the face width on each side), at most width x height, at most max_bytes.

    Quality is lowered first, then the size, until the file fits.
    """
    left, top, right, bottom = box
    face_w, face_h = right - left, bottom - top
    crop_w = face_w * (1 + 2 * margin)
    crop_h = crop_w * height / width
    centre_x = (left + right) / 2.0
    centre_y = (top + bottom) / 2.0 - 0.1 * face_h
    crop_w, crop_h = min(crop_w, image.width), min(crop_h, image.height)
    # Keep the aspect ratio when the photo is narrower than the wanted crop.
    ratio = width / height
    if crop_w / crop_h > ratio:
        crop_w = crop_h * ratio
    else:
        crop_h = crop_w / ratio
    x0 = min(max(0.0, centre_x - crop_w / 2), image.width - crop_w)
    y0 = min(max(0.0, centre_y - crop_h / 2), image.height - crop_h)
    portrait = image.crop((round(x0), round(y0), round(x0 + crop_w), round(y0 + crop_h)))
    target = (min(width, portrait.width), min(height, portrait.height))
    if portrait.width > target[0] or portrait.height > target[1]:
        portrait = portrait.resize(target, Image.Resampling.LANCZOS)
    while True:
        for quality in (90, 80, 70, 60, 50, 40):
            buffer = io.BytesIO()
            portrait.save(buffer, "JPEG", quality=quality, optimize=True)
            if buffer.tell() <= max_bytes:
                return buffer.getvalue()
        if min(portrait.size) < 32:
            return buffer.getvalue()
        portrait = portrait.resize(
            (max(1, round(portrait.width * 0.8)), max(1, round(portrait.height * 0.8))),
            Image.Resampling.LANCZOS,
        )

"""dlib's face embedding network (dlib_face_recognition_resnet_model_v1) run with numpy.

The network and its weights are dlib's, read from the model file of face_recognition_models;
only the arithmetic runs elsewhere. The dlib wheel (dlib-bin) is built without BLAS: its
convolutions take about 135 ms for one face on this machine, the same convolutions as matrix
products in numpy's OpenBLAS about 30 ms. The embeddings are dlib's to float32 rounding (test:
within 1e-5 of `dlib.face_recognition_model_v1.compute_face_descriptor` on the test photos), so
faces enrolled with either compare with each other.

The architecture is dlib's `dnn_face_recognition_ex.cpp` (a ResNet-29 of 150×150 RGB chips):

    input (pixel - mean) / 256
    con 32 7×7 /2, affine, relu, max_pool 3×3 /2
    3 × residual 32; residual_down 64, 3 × residual 64; residual_down 128, 2 × residual 128;
    residual_down 256, 2 × residual 256; residual_down 256
    mean over the picture, fc 128 without bias

where a residual is relu(x + affine(con 3×3 (relu(affine(con 3×3 (x)))))) and a residual_down
the same with a first convolution of stride 2 and x replaced by its 2×2 /2 average pool; the
sum of two tensors of different sizes is dlib's: the larger size, each added where it has
values (the channels of the narrower input and the cells of the smaller picture count as 0).

The file is read in order (dlib serialises a network from its input to its loss); the layers
met must be exactly the sequence above, or loading fails (`ModelFormatError`) and the caller
falls back to dlib's own network. Nothing is taken on trust: a name whose length byte is not
its own, any other name between the layers (a layer this module does not run), a number or a
tensor cut off by the end of the file, a negative size, a value that is not finite, a chip of
another size, or shapes that do not fit together (checked by running a blank chip through the
network when it is loaded) is refused too.
"""

import math
import re

import numpy
from numpy.lib.stride_tricks import sliding_window_view

CHIP_SIZE = 150
CHIP_PADDING = 0.25
DESCRIPTOR_SIZE = 128
# The layers run here, as dlib writes their names: a string is its length (a one-byte dlib
# integer: 0x01, then the length) followed by its characters.
LAYER_NAMES = (
    "input_rgb_image_sized",
    "con_4",
    "affine_",
    "relu_",
    "add_prev_",
    "avg_pool_2",
    "max_pool_2",
    "fc_2",
)
_LAYER = re.compile(b"|".join(re.escape(bytes([1, len(name)]) + name.encode()) for name in LAYER_NAMES))
# Any other name dlib may write between them (another layer's, a loss's): refused, except the
# loss of this network, written before its input.
_NAME_START = re.compile(rb"\x01([\x03-\x40])(?=[a-z])")
_NAME = re.compile(rb"[a-z][a-z0-9_]*")
LOSS_NAME = b"loss_metric_2"
# dlib writes an integer in at most 8 bytes; its float exponents 32000-32002 mean inf, -inf, NaN
# (whatever the mantissa, 0 as dlib writes them).
_INT_BYTES = 8
_SPECIAL_EXPONENTS = (32000, 32001, 32002)


class ModelFormatError(ValueError):
    """The model file is not the network this module knows how to run."""


def _residual():
    return ["con", "affine", "relu", "con", "affine", "add", "relu"]


def _residual_down():
    return ["con", "affine", "relu", "con", "affine", "avg_pool", "add", "relu"]


# The residual blocks, from the input: "r" a residual, "d" a residual_down.
BLOCKS = "rrr" + "drrr" + "drr" + "drr" + "d"
SEQUENCE = (
    ["input", "con", "affine", "relu", "max_pool"]
    + [kind for block in BLOCKS for kind in (_residual() if block == "r" else _residual_down())]
    + ["avg_pool", "fc"]
)


# Reading dlib's serialisation ---------------------------------------------------------------
def _read_int(data, pos):
    """dlib's integer: a byte holding the sign (0x80) and the count of the little-endian bytes
    that follow (low four bits)."""
    if pos >= len(data):
        raise ModelFormatError("the file ends inside a number")
    head = data[pos]
    count = head & 0x0F
    if head & 0x70 or count > _INT_BYTES or pos + 1 + count > len(data):
        raise ModelFormatError(f"not an integer at byte {pos}")
    value = int.from_bytes(data[pos + 1 : pos + 1 + count], "little")
    return (-value if head & 0x80 else value), pos + 1 + count


def _read_ints(data, pos, count):
    values = []
    for _i in range(count):
        value, pos = _read_int(data, pos)
        values.append(value)
    return values, pos


def _read_float(data, pos):
    """dlib's portable float: an integer mantissa and a power of two."""
    mantissa, pos = _read_int(data, pos)
    exponent, pos = _read_int(data, pos)
    if exponent in _SPECIAL_EXPONENTS:
        raise ModelFormatError(f"an infinite or NaN float before byte {pos}")
    try:
        value = math.ldexp(mantissa, exponent)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ModelFormatError(f"a float that is not finite before byte {pos}")
    return value, pos


def _read_tensor(data, pos):
    """A tensor (version 2): four dimensions, then the float32 values as raw little-endian."""
    version, pos = _read_int(data, pos)
    if version != 2:
        raise ModelFormatError(f"tensor version {version}")
    dims, pos = _read_ints(data, pos, 4)
    if min(dims) < 0:
        raise ModelFormatError(f"a tensor of size {dims}")
    count = math.prod(dims)
    if pos + 4 * count > len(data):
        raise ModelFormatError("the file ends inside a tensor")
    values = numpy.frombuffer(data, "<f4", count, pos).astype(numpy.float32)
    if not numpy.isfinite(values).all():
        raise ModelFormatError(f"a tensor with values that are not finite before byte {pos + 4 * count}")
    return values, pos + 4 * count


def _check_shape(name, shape, least):
    """A layer's sizes, strides and paddings, each at least its least value: a negative stride
    would run (numpy reads the picture backwards) and give another descriptor."""
    if any(value < minimum for value, minimum in zip(shape, least, strict=True)):
        raise ModelFormatError(f"{name} of shape {shape}")


def _check_gap(data, start, end, first):
    """Between two layers dlib writes only numbers and empty tensors (versions, flags): a name
    there is a layer (or a loss) this module does not know; only this network's loss comes
    before the first layer."""
    for found in _NAME_START.finditer(data, start, end):
        name = data[found.end() : found.end() + found[1][0]]
        if len(name) == found[1][0] and _NAME.fullmatch(name) and not (first and name == LOSS_NAME):
            raise ModelFormatError(f"an unknown layer {name.decode()!r} at byte {found.start()}")


def read_layers(data):
    """The layers of a serialised network, from the input: (kind, values) pairs."""
    layers, pos = [], 0
    while match := _LAYER.search(data, pos):
        _check_gap(data, pos, match.start(), first=not layers)
        name, pos = match.group(0)[2:].decode(), match.end()
        if name == "input_rgb_image_sized":
            mean = []
            for _i in range(3):
                value, pos = _read_float(data, pos)
                mean.append(value)
            size, pos = _read_ints(data, pos, 2)
            if size != [CHIP_SIZE, CHIP_SIZE]:
                raise ModelFormatError(f"an input of {size[0]}×{size[1]} pixels")
            layers.append(("input", numpy.array(mean, dtype=numpy.float32)))
        elif name == "con_4":
            params, pos = _read_tensor(data, pos)
            # filters, rows, columns, stride y and x, padding y and x
            shape, pos = _read_ints(data, pos, 7)
            _check_shape(name, shape, least=(1, 1, 1, 1, 1, 0, 0))
            layers.append(("con", (params, shape)))
        elif name == "affine_":
            params, pos = _read_tensor(data, pos)
            layers.append(("affine", params))
        elif name == "fc_2":
            (outputs, inputs), pos = _read_ints(data, pos, 2)
            params, pos = _read_tensor(data, pos)
            if min(outputs, inputs) < 1 or params.size != inputs * outputs:  # no bias
                raise ModelFormatError(f"fc of {inputs} to {outputs} with {params.size} parameters")
            layers.append(("fc", params.reshape(inputs, outputs)))
        elif name in ("avg_pool_2", "max_pool_2"):
            # rows, columns, stride y and x, padding y and x (rows 0: the whole picture)
            shape, pos = _read_ints(data, pos, 6)
            _check_shape(name, shape, least=(0, 0, 1, 1, 0, 0))
            layers.append((name[:-2], shape))
        else:
            layers.append(("relu" if name == "relu_" else "add", None))
    _check_gap(data, pos, len(data), first=not layers)
    kinds = [kind for kind, _values in layers]
    if kinds != SEQUENCE:
        raise ModelFormatError("the layers are not those of dlib_face_recognition_resnet_model_v1")
    return layers


# The layers --------------------------------------------------------------------------------
class _Convolution:
    """A convolution as one matrix product: the windows of the (padded) picture, each a row
    laid out (row, column, channel) as the picture (height, width, channel), times the filters."""

    def __init__(self, params, shape):
        filters, rows, cols, self.stride_y, self.stride_x, self.pad_y, self.pad_x = shape
        self.rows, self.cols = rows, cols
        weights = params[: params.size - filters].reshape(filters, -1, rows, cols)
        self.channels = weights.shape[1]
        self.weights = numpy.ascontiguousarray(weights.transpose(2, 3, 1, 0).reshape(-1, filters))
        self.bias = params[params.size - filters :].copy()  # not a view keeping the raw params

    def __call__(self, picture):
        if self.pad_y or self.pad_x:
            picture = numpy.pad(picture, ((self.pad_y, self.pad_y), (self.pad_x, self.pad_x), (0, 0)))
        windows = sliding_window_view(picture, (self.rows, self.cols), axis=(0, 1))
        windows = windows[:: self.stride_y, :: self.stride_x].transpose(0, 1, 3, 4, 2)
        height, width = windows.shape[:2]
        out = windows.reshape(height * width, -1) @ self.weights
        out += self.bias
        return out.reshape(height, width, -1)


def _pool(picture, shape, reduce):
    rows, cols, stride_y, stride_x, pad_y, pad_x = shape
    if pad_y or pad_x:
        raise ModelFormatError("padded pooling")
    if rows == 0:
        return picture.mean(axis=(0, 1), keepdims=True)
    windows = sliding_window_view(picture, (rows, cols), axis=(0, 1))[::stride_y, ::stride_x]
    return reduce(windows, axis=(3, 4))


def _add(first, second):
    """dlib's add_prev: tensors of different sizes add where both have values."""
    shape = tuple(max(a, b) for a, b in zip(first.shape, second.shape, strict=True))
    total = numpy.zeros(shape, dtype=numpy.float32)
    total[: first.shape[0], : first.shape[1], : first.shape[2]] = first
    total[: second.shape[0], : second.shape[1], : second.shape[2]] += second
    return total


class _Residual:
    """relu(x + affine(con(relu(affine(con(x)))))), x average-pooled first in a residual_down."""

    def __init__(self, layers, down):
        self.first, self.first_affine = _Convolution(*next(layers)), _affine(next(layers))
        next(layers)  # relu
        self.second, self.second_affine = _Convolution(*next(layers)), _affine(next(layers))
        self.pool = next(layers) if down else None
        next(layers)  # add
        next(layers)  # relu

    def __call__(self, picture):
        inner = self.first_affine(self.first(picture))
        inner = self.second_affine(self.second(numpy.maximum(inner, 0, out=inner)))
        shortcut = picture if self.pool is None else _pool(picture, self.pool, numpy.mean)
        total = _add(inner, shortcut)
        return numpy.maximum(total, 0, out=total)


def _affine(params):
    half = params.size // 2
    gamma, beta = params[:half], params[half:]
    return lambda picture: picture * gamma + beta


class FaceNet:
    """The embedding network of a model file: `descriptor(chip)` is dlib's 128 values for a
    150×150 RGB face chip (uint8, as `dlib.get_face_chip` makes it)."""

    def __init__(self, path):
        with open(path, "rb") as model:
            layers = iter([values for _kind, values in read_layers(model.read())])
        try:
            self.mean = next(layers)
            self.stem, self.stem_affine = _Convolution(*next(layers)), _affine(next(layers))
            next(layers)  # relu
            self.stem_pool = next(layers)
            self.blocks = [_Residual(layers, down=block == "d") for block in BLOCKS]
            next(layers)  # the mean over the picture
            self.projection = next(layers)
            # The shapes fit together only if a chip goes through: checked now, so that a file
            # of another shape is refused at loading (dlib's run then), not at the first face.
            blank = self.descriptor(numpy.zeros((CHIP_SIZE, CHIP_SIZE, 3), dtype=numpy.uint8))
        except (ValueError, IndexError) as error:
            raise ModelFormatError(f"the layers' shapes do not fit: {error}") from error
        if blank.shape != (DESCRIPTOR_SIZE,) or not numpy.isfinite(blank).all():
            raise ModelFormatError(f"a descriptor of shape {blank.shape}")

    def descriptor(self, chip):
        picture = (numpy.asarray(chip, dtype=numpy.float32) - self.mean) / 256.0
        picture = self.stem_affine(self.stem(picture))
        picture = _pool(numpy.maximum(picture, 0, out=picture), self.stem_pool, numpy.max)
        for block in self.blocks:
            picture = block(picture)
        return picture.mean(axis=(0, 1)) @ self.projection

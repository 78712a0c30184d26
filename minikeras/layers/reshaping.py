"""Spatial reshaping layers for (batch, height, width, channels) images: ZeroPadding2D, UpSampling2D,
Cropping2D."""
import numpy as np

from minikeras.layers.core import _incompatible
from minikeras.layers.layer import Layer
from minikeras.layers.pooling import check_channels_last
from minikeras.utils.argument_validation import standardize_data_format, standardize_tuple

_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")


def _two_pairs(value, name):
    """An int, (rows, cols) or ((top, bottom), (left, right)) as ((top, bottom), (left, right))."""
    if isinstance(value, (int, np.integer)):
        return ((int(value), int(value)), (int(value), int(value)))
    if hasattr(value, "__len__"):
        if len(value) != 2:
            raise ValueError(f"`{name}` should have two elements. Received: {name}={value}.")
        return (standardize_tuple(value[0], 2, f"1st entry of {name}", allow_zero=True),
                standardize_tuple(value[1], 2, f"2nd entry of {name}", allow_zero=True))
    raise ValueError(f"`{name}` should be either an int, a tuple of 2 ints (symmetric_height_{name}, "
                     f"symmetric_width_{name}), or a tuple of 2 tuples of 2 ints ((top_{name}, bottom_{name}), "
                     f"(left_{name}, right_{name})). Received: {name}={value}.")


class _Spatial2D(Layer):
    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise _incompatible(self, f"expected ndim=4, found ndim={len(input_shape)}", input_shape)
        check_channels_last(self)
        self.compute_output_shape(input_shape)


class ZeroPadding2D(_Spatial2D):
    """y = x with zero rows/columns added around it; backward crops dy back to x's extent."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        if isinstance(padding, str) or not (isinstance(padding, (int, np.integer)) or hasattr(padding, "__len__")):
            raise ValueError(f"`padding` should have two elements. Received: padding={padding}.")
        self.padding = _two_pairs(padding, "padding")

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        if min(min(pair) for pair in self.padding) < 0:
            raise ValueError(f"Paddings must be non-negative. Received: padding={self.padding}")

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.padding
        height, width = input_shape[1:3]
        return (input_shape[0], None if height is None else height + top + bottom,
                None if width is None else width + left + right, input_shape[3])

    def call(self, inputs, training=False):
        self._input_shape = inputs.shape
        return np.pad(inputs, ((0, 0),) + self.padding + ((0, 0),))

    def backward(self, grad_output):
        (top, _), (left, _) = self.padding
        height, width = self._input_shape[1:3]
        return grad_output[:, top:top + height, left:left + width].copy()

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class Cropping2D(_Spatial2D):
    """y = x without `cropping` rows/columns at each edge; backward puts dy back with zeros around it."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        if isinstance(cropping, (int, np.integer)) and cropping < 0:
            raise ValueError(f"`cropping` cannot be negative. Received: cropping={cropping}.")
        if isinstance(cropping, str) or not (isinstance(cropping, (int, np.integer)) or hasattr(cropping, "__len__")):
            raise ValueError(f"`cropping` should have two elements. Received: cropping={cropping}.")
        self.cropping = _two_pairs(cropping, "cropping")

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.cropping
        height, width = input_shape[1:3]
        if (height is not None and top + bottom >= height) or (width is not None and left + right >= width):
            raise ValueError(
                "Values in `cropping` argument should be smaller than the corresponding spatial dimension of the "
                f"input. Received: input_shape={tuple(input_shape)}, cropping={self.cropping}"
            )
        return (input_shape[0], None if height is None else height - top - bottom,
                None if width is None else width - left - right, input_shape[3])

    def call(self, inputs, training=False):
        (top, bottom), (left, right) = self.cropping
        self._input_shape = inputs.shape
        height, width = inputs.shape[1:3]
        return inputs[:, top:height - bottom, left:width - right]

    def backward(self, grad_output):
        (top, bottom), (left, right) = self.cropping
        return np.pad(grad_output, ((0, 0), (top, bottom), (left, right), (0, 0)))

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


def _bilinear_matrix(size, factor, dtype):
    """(size * factor, size) weights of TensorFlow's half-pixel bilinear resize along one axis."""
    source = np.clip((np.arange(size * factor) + 0.5) / factor - 0.5, 0, size - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, size - 1)
    frac = source - low
    matrix = np.zeros((size * factor, size))
    rows = np.arange(size * factor)
    np.add.at(matrix, (rows, low), 1 - frac)
    np.add.at(matrix, (rows, high), frac)
    return matrix.astype(dtype)


class UpSampling2D(_Spatial2D):
    """Nearest: y repeats each row `size[0]` and each column `size[1]` times; backward sums dy over the
    copies. Bilinear: y = A_h x A_w^T per channel (TensorFlow's half-pixel weights); backward dx = A_h^T dy A_w."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.size = standardize_tuple(size, 2, "size")
        self.interpolation = interpolation.lower()

    def check_input_shape(self, input_shape):
        if self.interpolation not in _INTERPOLATIONS:
            raise ValueError(f"Invalid value for argument `interpolation`. Expected of one {_INTERPOLATIONS}. "
                             f"Received: interpolation={self.interpolation}")
        if self.interpolation not in ("nearest", "bilinear"):
            raise NotImplementedError(f"minikeras's UpSampling2D supports interpolation='nearest' and 'bilinear' "
                                      f"only. Received: interpolation={self.interpolation}")
        super().check_input_shape(input_shape)

    def compute_output_shape(self, input_shape):
        height, width = input_shape[1:3]
        return (input_shape[0], None if height is None else height * self.size[0],
                None if width is None else width * self.size[1], input_shape[3])

    def call(self, inputs, training=False):
        (fh, fw), (n, h, w, c) = self.size, inputs.shape
        self._input_shape = inputs.shape
        if self.interpolation == "nearest":
            return np.broadcast_to(inputs[:, :, None, :, None], (n, h, fh, w, fw, c)).reshape(n, h * fh, w * fw, c)
        self._rows, self._cols = _bilinear_matrix(h, fh, inputs.dtype), _bilinear_matrix(w, fw, inputs.dtype)
        return np.einsum("ph,nhwc,qw->npqc", self._rows, inputs, self._cols, optimize=True)

    def backward(self, grad_output):
        (fh, fw), (n, h, w, c) = self.size, self._input_shape
        if self.interpolation == "nearest":
            return grad_output.reshape(n, h, fh, w, fw, c).sum(axis=(2, 4))
        return np.einsum("ph,npqc,qw->nhwc", self._rows, grad_output, self._cols, optimize=True)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}

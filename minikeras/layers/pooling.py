"""Pooling layers: max/average over sliding windows (1-D and 2-D) and their global versions.

One core serves every windowed layer: a 1-D input (batch, steps, channels) is pooled as a 2-D input of
height 1. Padding follows TensorFlow: 'valid' keeps whole windows only; 'same' gives ceil(size / stride)
outputs, padding max((out - 1) * stride + pool - size, 0) split with the smaller half before.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from minikeras.layers.core import _incompatible
from minikeras.layers.layer import Layer
from minikeras.utils.argument_validation import standardize_data_format, standardize_tuple
from minikeras.utils.thread_utils import in_two_parts


def check_channels_last(layer):
    if layer.data_format != "channels_last":
        raise ValueError(f"minikeras supports only data_format='channels_last'; layer '{layer.name}' "
                         f"was given data_format='{layer.data_format}'.")


# Bytes of input pooled per chunk of images: the chunk, its copy and masks stay within a 1 MB L2 cache.
_CHUNK_BYTES = 1 << 19


def _axis_geometry(size, pool, stride, padding):
    """(outputs, pad_before, pad_after) along one spatial axis, as TensorFlow computes them."""
    if padding == "valid":
        return (size - pool) // stride + 1, 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + pool - size, 0)
    return out, total // 2, total - total // 2


def _axis_counts(size, out, pool, stride, before):
    """How many real (non-padded) elements each output window covers along one axis."""
    start = np.arange(out) * stride - before
    return np.minimum(start + pool, size) - np.maximum(start, 0)


class PoolingCore:
    """Windowed max/average pooling of (batch, height, width, channels) arrays, and its gradient.

    Max: y = max over the window (padding never wins); backward routes dy to the first maximal element
    of each window in row-major order, as TensorFlow's MaxPoolGrad does. Average: y = sum / number of
    real elements in the window; backward spreads dy / count over them. Overlapping windows accumulate.
    """

    def __init__(self, pool_size, strides, padding, mode):
        self.pool_size, self.strides, self.padding, self.mode = pool_size, strides, padding, mode
        self._scratch = {}

    def _scratch_array(self, name, shape, dtype):
        """A work array kept across calls while its shape and dtype repeat (batches do): fresh arrays this
        large cost more in page faults than the work done in them."""
        key = (tuple(shape), np.dtype(dtype))
        if self._scratch.get(name, (None,))[0] != key:
            self._scratch[name] = (key, np.empty(shape, dtype=dtype))
        return self._scratch[name][1]

    def _windows(self, xp):
        """The windows of the padded input as (n, oh, ow, c, ph, pw) (a view when possible)."""
        (ph, pw), (sh, sw), (oh, ow) = self.pool_size, self.strides, self.out
        if self.disjoint:
            n, c = xp.shape[0], xp.shape[-1]
            return xp[:, :oh * ph, :ow * pw].reshape(n, oh, ph, ow, pw, c).transpose(0, 1, 3, 5, 2, 4)
        return sliding_window_view(xp, (ph, pw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]

    def forward(self, x):
        (h, w), (ph, pw), (sh, sw) = x.shape[1:3], self.pool_size, self.strides
        (oh, top, bottom), (ow, left, right) = (_axis_geometry(h, ph, sh, self.padding),
                                                _axis_geometry(w, pw, sw, self.padding))
        self.input_shape, self.out, self.pads = x.shape, (oh, ow), (top, left)
        self.disjoint = (sh, sw) == (ph, pw)
        xp = x
        if top or bottom or left or right:
            fill = -np.inf if self.mode == "max" else 0
            xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
        self.padded = xp
        if self.disjoint:
            pooled = self._pool_disjoint(xp)
        else:
            windows = self._windows(xp)
            pooled = windows.max(axis=(-2, -1)) if self.mode == "max" else windows.sum(axis=(-2, -1))
        if self.mode == "max":
            return pooled
        self.counts = np.multiply.outer(_axis_counts(h, oh, ph, sh, top),
                                        _axis_counts(w, ow, pw, sw, left)).astype(x.dtype)[None, :, :, None]
        return pooled / self.counts

    def _pool_disjoint(self, xp):
        """Non-overlapping windows, a chunk of images at a time so that each pass over the chunk after the
        first reads it from cache (a pool layer's input is several MB: whole-batch passes ran 1.2x slower);
        the chunks split between two threads, each with its own work arrays."""
        (ph, pw), (oh, ow) = self.pool_size, self.out
        n, c = xp.shape[0], xp.shape[-1]
        windows = xp[:, :oh * ph, :ow * pw].reshape(n, oh, ph, ow, pw, c)
        pooled = np.empty((n, oh, ow, c), dtype=xp.dtype)
        images = min(n, max(1, _CHUNK_BYTES // max(1, windows[:1].nbytes)))
        starts = range(0, n, images)
        work_arrays = []
        if self.mode == "max":
            self.first_maxima = self._scratch_array("masks", (ph, pw) + pooled.shape, bool)
            work_arrays = [(self._scratch_array(f"planes{k}", (ph, pw, images, oh, ow, c), xp.dtype),
                            self._scratch_array(f"unclaimed{k}", (images, oh, ow, c), bool))
                           for k in range(min(2, len(starts)))]

        def pool_chunks(first, last):
            for start in starts[first:last]:
                part = slice(start, start + images)
                # (ph, pw, images, oh, ow, c): planes[i, j] is window offset (i, j) of every window
                planes = windows[part].transpose(2, 4, 0, 1, 3, 5)
                count = planes.shape[2]
                if self.mode == "max":
                    copies, unclaimed = work_arrays[0 if first == 0 else 1]  # this half's own
                    # one copy in this order makes every later max and comparison contiguous (ops on the
                    # strided offset views run several times slower, the channel runs being short)
                    np.copyto(copies[:, :, :count], planes)
                    planes = copies[:, :, :count]
                planes = [planes[i, j] for i in range(ph) for j in range(pw)]
                # an elementwise max/sum over the ph*pw offsets is several times faster than a reduction
                # over the two strided window axes
                out = pooled[part]
                combine_planes(np.maximum if self.mode == "max" else np.add, planes, out)
                if self.mode == "max":
                    masks = self.first_maxima[:, :, part]
                    _first_maxima(planes, out, [masks[i, j] for i in range(ph) for j in range(pw)],
                                  unclaimed[:count])

        in_two_parts(len(starts), pool_chunks)
        return pooled

    def backward(self, grad):
        (ph, pw), (sh, sw), (oh, ow) = self.pool_size, self.strides, self.out
        n, c = grad.shape[0], grad.shape[-1]
        if self.mode == "max" and self.disjoint:
            return self._route_to_first_maxima(grad)
        grad_padded = np.zeros(self.padded.shape, dtype=grad.dtype)
        if self.mode == "max":
            windows = self._windows(self.padded).reshape(n, oh, ow, c, ph * pw)
            first = windows.argmax(axis=-1)
            parts = (first[..., None] == np.arange(ph * pw)) * grad[..., None]
        else:
            parts = np.broadcast_to((grad / self.counts)[..., None], (n, oh, ow, c, ph * pw))
        parts = parts.reshape(n, oh, ow, c, ph, pw)
        if self.disjoint:
            grad_padded[:, :oh * ph, :ow * pw] = parts.transpose(0, 1, 4, 2, 5, 3).reshape(n, oh * ph, ow * pw, c)
        else:
            for i in range(ph):
                for j in range(pw):
                    grad_padded[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += parts[..., i, j]
        return self._cropped(grad_padded)

    def _cropped(self, grad_padded):
        (top, left), (h, w) = self.pads, self.input_shape[1:3]
        return grad_padded[:, top:top + h, left:left + w]

    def _route_to_first_maxima(self, grad):
        """Non-overlapping max windows: dy times each offset's first-maximum mask (from the forward),
        written straight into the offset's strided place in the input gradient."""
        (ph, pw), (oh, ow) = self.pool_size, self.out
        n, c = grad.shape[0], grad.shape[-1]
        covered = (oh * ph, ow * pw) == self.padded.shape[1:3]
        # every element of a covering tiling gets written below; only uncovered edges need zeros
        grad_padded = (np.empty if covered else np.zeros)(self.padded.shape, dtype=grad.dtype)
        grad_blocks = grad_padded[:, :oh * ph, :ow * pw].reshape(n, oh, ph, ow, pw, c)
        images = min(n, max(1, _CHUNK_BYTES // max(1, grad_blocks[:1].nbytes)))
        starts = range(0, n, images)

        def route_chunks(first, last):  # by chunks of images, so the repeated reads of dy hit the cache
            for start in starts[first:last]:
                part = slice(start, start + images)
                for i in range(ph):
                    for j in range(pw):
                        np.multiply(grad[part], self.first_maxima[i, j, part], out=grad_blocks[part, :, i, :, j])

        in_two_parts(len(starts), route_chunks)
        return self._cropped(grad_padded)


def combine_planes(reduce, planes, out):
    """out = reduce(planes[0], planes[1], ...) elementwise (np.maximum or np.add), one pass per plane."""
    if len(planes) == 1:
        np.copyto(out, planes[0])
    for k in range(1, len(planes)):
        reduce(planes[0] if k == 1 else out, planes[k], out=out)
    return out


def _first_maxima(planes, pooled, masks, unclaimed):
    """masks[k] = planes[k] holds its window's first maximum, the planes being the window offsets in
    row-major order (TensorFlow's MaxPoolGrad routing); `unclaimed` (pooled's shape) is work space. Made in
    the forward pass while the planes are in cache: the backward then reads these bytes instead of the
    whole input again."""
    unclaimed.fill(True)
    for plane, mask in zip(planes, masks):
        np.equal(plane, pooled, out=mask)
        mask &= unclaimed
        unclaimed ^= mask  # mask is a subset of unclaimed: this clears the claimed windows


def pooling_output_shape(input_shape, pool_size, strides, padding):
    """Keras's `compute_pooling_output_shape` for channels_last inputs, with its error texts."""
    shape = np.array(input_shape)
    spatial = shape[1:-1]
    unknown = [i for i in range(len(spatial)) if spatial[i] is None]
    for i in unknown:
        spatial[i] = -1
    pool = np.array(pool_size)
    if padding == "valid":
        out = np.floor((spatial.astype(float) - pool) / strides) + 1
        for i in range(len(out)):
            if i not in unknown and out[i] <= 0:
                raise ValueError(
                    "Computed output size would be zero or negative. "
                    f"Received: `inputs.shape={shape}`, `pool_size={pool}`, `strides={strides}`, "
                    f"`padding={padding}`."
                )
    else:
        out = np.floor((spatial.astype(float) - 1) / strides) + 1
    out = [None if i in unknown else int(d) for i, d in enumerate(out)]
    return (input_shape[0],) + tuple(out) + (input_shape[-1],)


class BasePooling(Layer):
    """Max or average pooling over `pool_dimensions` spatial axes (1 or 2), channels_last."""

    builds_at_init = True

    def __init__(self, pool_size, strides, pool_dimensions, pool_mode="max", padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size = standardize_tuple(pool_size, pool_dimensions, "pool_size")
        strides = pool_size if strides is None else strides
        self.strides = standardize_tuple(strides, pool_dimensions, "strides", allow_zero=True)
        self.pool_mode = pool_mode
        if padding not in ("valid", "same"):  # Keras's words, said at its first call; here before any use
            raise ValueError(f"Argument `padding` must be either 'valid' or 'same'. Received: padding={padding}")
        self.padding = padding
        self.data_format = standardize_data_format(data_format)
        self.pool_dimensions = pool_dimensions
        self._pool = None

    def check_input_shape(self, input_shape):
        if len(input_shape) != self.pool_dimensions + 2:
            raise _incompatible(self, f"expected ndim={self.pool_dimensions + 2}, found ndim={len(input_shape)}",
                                input_shape)
        check_channels_last(self)
        if 0 in self.strides:
            raise ValueError(f"The `strides` argument must be a tuple of {self.pool_dimensions} integers. "
                             f"Received strides={self.strides}, including values {{0}} that do not satisfy "
                             "`value > 0`")
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        return pooling_output_shape(input_shape, self.pool_size, self.strides, self.padding)

    def _core(self):
        one = self.pool_dimensions == 1
        return PoolingCore((1,) + self.pool_size if one else self.pool_size,
                           (1,) + self.strides if one else self.strides, self.padding, self.pool_mode)

    def call(self, inputs, training=False):
        # one core per layer: it keeps its work arrays from batch to batch
        self._pool = self._pool or self._core()
        if self.pool_dimensions == 1:
            return self._pool.forward(inputs[:, None])[:, 0]
        return self._pool.forward(inputs)

    def backward(self, grad_output):
        if self.pool_dimensions == 1:
            return self._pool.backward(grad_output[:, None])[:, 0]
        return self._pool.backward(grad_output)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling1D(BasePooling):
    """y[t] = max of x over window t (steps t*stride ...); dy goes to each window's first maximum."""

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, 1, "max", padding, data_format, name=name, **kwargs)


class MaxPooling2D(BasePooling):
    """y[i, j] = max of x over window (i, j); dy goes to each window's first maximum (row-major)."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, 2, "max", padding, data_format, name=name, **kwargs)


class AveragePooling1D(BasePooling):
    """y[t] = mean of the real elements of window t; dx gets dy / count from each window it is in."""

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, 1, "average", padding, data_format, name=name, **kwargs)


class AveragePooling2D(BasePooling):
    """y[i, j] = mean of the real elements of window (i, j); dx gets dy / count from each window it is in."""

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, 2, "average", padding, data_format, name=name, **kwargs)


class BaseGlobalPooling(Layer):
    """Max or average over all spatial axes (1 or 2), optionally keeping them with size 1."""

    builds_at_init = True

    def __init__(self, pool_dimensions, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.keepdims = keepdims
        self.pool_dimensions = pool_dimensions

    def check_input_shape(self, input_shape):
        if len(input_shape) != self.pool_dimensions + 2:
            raise _incompatible(self, f"expected ndim={self.pool_dimensions + 2}, found ndim={len(input_shape)}",
                                input_shape)
        check_channels_last(self)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.pool_dimensions + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def _axes(self):
        return tuple(range(1, self.pool_dimensions + 1))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class _GlobalMax(BaseGlobalPooling):
    """y = max of x over the spatial axes; dy is shared equally by tied maxima (TensorFlow's reduce_max)."""

    def call(self, inputs, training=False):
        self._inputs = inputs
        self._max = inputs.max(axis=self._axes(), keepdims=True)
        return self._max if self.keepdims else self._max.reshape(len(inputs), -1)

    def backward(self, grad_output):
        winners = self._inputs == self._max
        shares = winners.sum(axis=self._axes(), keepdims=True)
        grad = grad_output.reshape(self._max.shape)
        return (winners * (grad / shares)).astype(grad_output.dtype)


class _GlobalAverage(BaseGlobalPooling):
    """y = mean of x over the spatial axes; dx = dy / (number of spatial positions) everywhere."""

    def call(self, inputs, training=False):
        self._input_shape = inputs.shape
        pooled = inputs.mean(axis=self._axes(), keepdims=self.keepdims)
        return pooled

    def backward(self, grad_output):
        count = int(np.prod(self._input_shape[1:-1]))
        grad = grad_output.reshape((len(grad_output),) + (1,) * self.pool_dimensions + (grad_output.shape[-1],))
        return np.broadcast_to(grad / count, self._input_shape).copy()


class GlobalMaxPooling1D(_GlobalMax):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, data_format, keepdims, **kwargs)


class GlobalMaxPooling2D(_GlobalMax):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, data_format, keepdims, **kwargs)


class GlobalAveragePooling1D(_GlobalAverage):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, data_format, keepdims, **kwargs)


class GlobalAveragePooling2D(_GlobalAverage):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, data_format, keepdims, **kwargs)


MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D

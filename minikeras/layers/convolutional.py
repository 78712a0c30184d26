"""Convolution layers (Conv1D, Conv2D) on one shared core, `BaseConv`; channels_last only.

This is also Keras 2's `keras.layers.convolutional`: its transposed, depthwise and separable convolutions
come from their own modules (which import this one, so they are loaded on first use); its 3-D and 1-D
cropping/padding/upsampling layers are not implemented, and importing one raises an ImportError naming it.
"""
import sys

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from minikeras import activations, constraints, initializers, regularizers
from minikeras.layers.core import ActivationMixin, _grad_buffer, _incompatible
from minikeras.layers.layer import Layer, _shape_text
from minikeras.layers.reshaping import Cropping2D, UpSampling2D, ZeroPadding2D  # Keras 2's path for them
from minikeras.layers.unavailable_layers import missing_layer_getattr
from minikeras.utils.argument_validation import standardize_data_format, standardize_padding, standardize_tuple
from minikeras.utils.thread_utils import in_two_parts

_MISSING = ["Conv3D", "Conv3DTranspose", "Convolution3D", "Deconvolution3D", "Cropping1D", "Cropping3D",
            "UpSampling1D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding3D"]
_ELSEWHERE = {"Conv1DTranspose": "convolutional_transpose", "Conv2DTranspose": "convolutional_transpose",
              "Deconvolution2D": "convolutional_transpose", "DepthwiseConv1D": "depthwise_separable",
              "DepthwiseConv2D": "depthwise_separable", "SeparableConv1D": "depthwise_separable",
              "SeparableConv2D": "depthwise_separable"}
__all__ = ["Conv1D", "Conv2D", "Convolution1D", "Convolution2D", "Cropping2D", "UpSampling2D", "ZeroPadding2D",
           *_ELSEWHERE]

__getattr__ = missing_layer_getattr(__name__, _MISSING, "such convolutional", elsewhere=_ELSEWHERE)


def channels_last_only(layer_class, data_format):
    """The standardized `data_format`, which the convolutions support only as 'channels_last'."""
    data_format = standardize_data_format(data_format)
    if data_format == "channels_first":
        raise ValueError(f"minikeras's {layer_class.__name__} supports only data_format='channels_last'. "
                         "Received: data_format=channels_first")
    return data_format


def _output_length(length, kernel, stride, dilation, padding):
    if length is None:
        return None
    if padding == "valid":
        return (length - dilation * (kernel - 1) - 1) // stride + 1
    return (length - 1) // stride + 1  # "same" and "causal"


def _pads(length, kernel, stride, dilation, padding):
    """(before, after) zero padding of one spatial axis: TF's 'same' puts the extra one after."""
    if padding == "valid":
        return 0, 0
    span = dilation * (kernel - 1)
    if padding == "causal":
        return span, 0
    out = (length - 1) // stride + 1
    total = max((out - 1) * stride + span + 1 - length, 0)
    return total // 2, total - total // 2


def _conv_path(channels, filters, strides, groups):
    """Which forward/backward scheme fits the shape: 'channel_rows' (transposed im2col: one row per
    kernel offset and channel) when the input has few channels, so its rows are cheap plane copies;
    'offsets' (per-offset GEMMs of shifted rows, no im2col) for stride 1 otherwise; 'im2col' for the rest
    (grouped convolutions, strided ones with many channels)."""
    if groups != 1:
        return "im2col"
    if 4 * channels <= filters:
        return "channel_rows"
    return "offsets" if max(strides) == 1 else "im2col"


# Multiply-adds per GEMM call: the convolutions' GEMMs are skinny (tens of columns, up to 10^5 rows), and
# OpenBLAS runs blocks this small with its small-matrix kernels, single-threaded, 1.2-2x faster than one
# big call (which also spins up threads that stall when the cores are busy); a block's rows stay in L2.
# Blocks are split between two threads (`thread_utils`).
_GEMM_BLOCK_SIZE = 1 << 19

# Widest row (values per position) for which `_shifted_gemm_sum` gathers a kernel row's reads side by side:
# below it the gathered, deeper GEMMs ran 1.3-1.5x faster than one thin GEMM per kernel offset; above it
# (32 or 64 channels, 3x3) the extra copy cost more than it saved.
_WIDE_ROW_LIMIT = 64


def _block_length(inner, outer):
    """Rows per block for GEMMs of (rows, inner) @ (inner, outer) or (inner, rows) @ (rows, outer)."""
    return max(1, _GEMM_BLOCK_SIZE // (inner * outer))


def _row_blocks(count, inner, outer):
    """(start, stop) row ranges splitting `count` rows into GEMMs of (rows, inner) @ (inner, outer)."""
    step = _block_length(inner, outer)
    return [(start, min(start + step, count)) for start in range(0, count, step)]


def _matmul_by_row_blocks(a, b, out):
    """out = a @ b, one row block at a time, the blocks split between two threads."""
    blocks = _row_blocks(len(a), *b.shape)

    def work(first, last):
        for start, stop in blocks[first:last]:
            np.matmul(a[start:stop], b, out=out[start:stop])

    in_two_parts(len(blocks), work)
    return out


def _sum_of_block_products(count, length, product, shape, dtype):
    """The sum over blocks of `length` rows (of `count`) of a product of `shape`. `product(start, length,
    blocks, out)` writes the products of `blocks` consecutive blocks from row `start` into out[:blocks] as
    one batched matmul: NumPy holds the GIL through a product of fewer than 500 values, but not through a
    batch. The whole blocks are split between two threads, and the partial products are added in block
    order, so the sum does not depend on the number of cores."""
    whole, rest = divmod(count, length)
    partials = np.empty((whole + (rest > 0),) + shape, dtype)

    def work(first, last):
        if last > first:
            product(first * length, length, last - first, partials[first:last])

    in_two_parts(whole, work)
    if rest:
        product(whole * length, rest, 1, partials[whole:])
    return np.add.reduce(partials)


def _wide_by_tall_matmul(wide, tall):
    """wide @ tall, for a C-contiguous `wide` of few rows and many columns, summed over blocks of them."""
    depth, width = wide.shape[0], tall.shape[1]

    def product(start, length, blocks, out):
        stop = start + blocks * length
        np.matmul(wide[:, start:stop].reshape(depth, blocks, length).transpose(1, 0, 2),
                  tall[start:stop].reshape(blocks, length, width), out=out)

    return _sum_of_block_products(len(tall), _block_length(depth, width), product, (depth, width), tall.dtype)


def _shifted_gemm_sum(rows, offsets, matrices, count, out, width=1, step=1):
    """out = sum over k of windows[offsets[k]:offsets[k] + count] @ matrices[k], by row blocks, where
    windows[r] = rows[r], rows[r + step], ..., rows[r + (width - 1) * step] side by side (for width 1, rows
    itself): a kernel row's shifts gathered into one deeper GEMM, a block at a time while it is in cache;
    the blocks split between two threads, each with its own scratch arrays."""
    # contiguous: with transposed views as the right operands OpenBLAS (0.3.31, 2 threads, busy cores)
    # ran these blocks 25x slower
    matrices = np.ascontiguousarray(matrices)
    blocks = _row_blocks(count, *matrices.shape[1:])
    reach, longest = max(offsets), blocks[0][1]
    windows = _row_windows(rows, width, step) if width > 1 else None

    def work(first, last):
        product = np.empty((longest, matrices.shape[2]), dtype=out.dtype)
        if width > 1:
            gathered = np.empty((longest + reach, width) + rows.shape[1:], dtype=rows.dtype)
        for start, stop in blocks[first:last]:
            block, scratch = out[start:stop], product[:stop - start]
            if width == 1:
                local = rows[start:]
            else:
                local = gathered[:stop - start + reach]
                np.copyto(local, windows[start:stop + reach])
                local = local.reshape(len(local), -1)
            np.matmul(local[offsets[0]:offsets[0] + stop - start], matrices[0], out=block)
            for offset, matrix in zip(offsets[1:], matrices[1:]):
                block += np.matmul(local[offset:offset + stop - start], matrix, out=scratch)

    in_two_parts(len(blocks), work)
    return out


def _shifted_gemm_grads(rows, grid, steps, grad_rows):
    """[grad_rows^T @ rows[i * steps[0] + j * steps[1]:][:len(grad_rows)] for (i, j) in the (kh, kw) grid],
    as (kh * kw, f, c): every offset's shifted rows of a block are one strided view (this orientation BLAS
    runs faster than its transpose)."""
    (kh, kw), f, c = grid, grad_rows.shape[1], rows.shape[1]
    row, column = rows.strides

    def product(start, length, blocks, out):
        windows = as_strided(rows[start:], shape=(blocks, kh, kw, length, c),
                             strides=(length * row, steps[0] * row, steps[1] * row, row, column), writeable=False)
        grads = grad_rows[start:start + blocks * length].reshape(blocks, 1, 1, length, f)
        np.matmul(grads.swapaxes(-1, -2), windows, out=out)

    total = _sum_of_block_products(len(grad_rows), _block_length(f, c), product, (kh, kw, f, c), grad_rows.dtype)
    return total.reshape(kh * kw, f, c)


def _column_sums(rows, out):
    """rows.sum(axis=0) into out, as ones @ rows: NumPy sums a thin matrix's columns a row at a time, 50x
    slower than this product."""
    return np.dot(np.ones(len(rows), dtype=rows.dtype), rows, out=out)


def _row_windows(rows, width, step):
    """A read-only view: windows[r] = rows[r], rows[r + step], ..., rows[r + (width - 1) * step]."""
    return as_strided(rows, shape=(len(rows) - (width - 1) * step, width, rows.shape[1]),
                      strides=(rows.strides[0], step * rows.strides[0], rows.strides[1]), writeable=False)


def _interior_rows(grid, top, left, height, width):
    """The (height, width) window at (top, left) of each image of a C-contiguous (n, H, W, c) grid, as a
    view of shape (n, height, width * c): each window row one run, where the 4-d view's runs are c long
    and NumPy's loops over them ran about 4x slower."""
    n, _, grid_width, c = grid.shape
    return grid.reshape(n, -1, grid_width * c)[:, top:top + height, left * c:(left + width) * c]


class BaseConv(ActivationMixin, Layer):
    """N-d convolution (rank 1 or 2), channels_last: z = conv(x, kernel) + bias, y = activation(z).

    Forward: im2col (windows of the zero-padded input as rows of `cols`, shape (N*out_positions,
    prod(kernel_size)*in/groups) per group), then z = cols @ kernel.reshape(-1, filters/groups).
    Backward: dkernel = cols^T @ dz, dbias = sum of dz over batch and positions, dx = col2im(dz @ kernel^T)
    (a strided add per kernel offset into the padded gradient, then the padding cropped).
    The same math runs in one of three layouts chosen by shape (`_conv_path`): that im2col; im2col
    transposed for few input channels; per-offset GEMMs of shifted rows (no im2col) for stride 1, a kernel
    row's offsets gathered into one GEMM when rows are narrow.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, **kwargs):
        if lora_rank is not None:
            raise ValueError(f"minikeras's convolutions have no LoRA: leave `lora_rank` as None. "
                             f"Received: lora_rank={lora_rank}")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.filters = filters
        self.groups = groups
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        self.padding = standardize_padding(padding, allow_causal=rank == 1)
        self.data_format = channels_last_only(type(self), data_format)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters}.")
        if groups <= 0:
            raise ValueError(f"The number of groups must be a positive integer. Received: groups={groups}.")
        if filters % groups != 0:
            raise ValueError("The number of filters must be evenly divisible by the number of groups. "
                             f"Received: groups={groups}, filters={filters}.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                             f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.filters = int(filters)
        self.groups = int(groups)
        self._set_activation(activation)
        self._set_kernel_and_bias_options(use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                                          bias_regularizer, kernel_constraint, bias_constraint)

    # --- shapes and weights

    def check_input_shape(self, input_shape):
        ndim = self.rank + 2
        if len(input_shape) < ndim:
            raise _incompatible(self, f"expected min_ndim={ndim}, found ndim={len(input_shape)}", input_shape)
        if len(input_shape) > ndim:
            raise _incompatible(self, f"expected ndim={ndim}, found ndim={len(input_shape)}", input_shape)
        if self.built and input_shape[-1] != self.kernel.shape[-2] * self.groups:
            raise ValueError(
                f"Input 0 with name 'None' of layer '{self.name}' is incompatible with the layer: expected "
                f"axis -1 of input shape to have value {self.kernel.shape[-2] * self.groups}, but received input "
                f"with shape {_shape_text(input_shape)}"
            )
        self.compute_output_shape(input_shape)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"The channel dimension of the inputs should be defined. Found None. "
                             f"Full input shape received: {_shape_text(input_shape)}")
        if channels % self.groups != 0:
            raise ValueError(
                "The number of input channels must be evenly divisible by the number of groups. Received "
                f"groups={self.groups}, but the input has {channels} channels (full input shape is "
                f"{_shape_text(input_shape)})."
            )
        shape = self.kernel_size + (channels // self.groups, self.filters)
        self.kernel = self.add_weight(shape, self.kernel_initializer, "kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), self.bias_initializer, "bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def compute_output_shape(self, input_shape):
        spatial = tuple(_output_length(n, k, s, d, self.padding) for n, k, s, d in
                        zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate))
        if any(n is not None and n <= 0 for n in spatial):
            kernel_shape = self.kernel_size + ((input_shape[-1] // self.groups) if input_shape[-1] else None,
                                               self.filters)
            raise ValueError(
                "Computed output size would be zero or negative. Received `inputs shape="
                f"{_shape_text(input_shape)}`, `kernel shape={_shape_text(kernel_shape)}`, `dilation_rate="
                f"[{' '.join(str(d) for d in self.dilation_rate)}]`, `strides={self.strides}`, "
                f"`padding={self.padding}`."
            )
        return (input_shape[0],) + spatial + (self.filters,)

    # --- the 2-D core (a rank-1 input is a height-1 image)

    def _as_2d(self, value):
        return (1,) + value if self.rank == 1 else value

    def call(self, inputs, training=False):
        x = inputs[:, np.newaxis] if self.rank == 1 else inputs
        out_h, out_w = self._set_geometry(x.shape)
        if self._path == "offsets":
            z = self._offsets_forward(x)
        elif self._path == "channel_rows":
            z = self._channel_rows_forward(x)
        else:
            z = self._im2col_forward(x)
        z = z.reshape(inputs.shape[:1] + ((out_w,) if self.rank == 1 else (out_h, out_w)) + (self.filters,))
        return self._activate(z)

    def _set_geometry(self, shape):
        """Padding and output size for an input of this (n, h, w, c) shape, and the layout `_conv_path`
        picks for it; returns (out_h, out_w)."""
        (kh, kw), (sh, sw), (dh, dw) = (self._as_2d(self.kernel_size), self._as_2d(self.strides),
                                        self._as_2d(self.dilation_rate))
        n, h, w, c = shape
        pad_h = _pads(h, kh, sh, dh, self.padding)
        pad_w = _pads(w, kw, sw, dw, self.padding)
        out_h = (h + sum(pad_h) - dh * (kh - 1) - 1) // sh + 1
        out_w = (w + sum(pad_w) - dw * (kw - 1) - 1) // sw + 1
        padded_shape = (n, h + sum(pad_h), w + sum(pad_w), c)
        self._geometry = (padded_shape, pad_h, pad_w, (h, w), (out_h, out_w))
        self._path = _conv_path(c, self.filters, (sh, sw), self.groups)
        return out_h, out_w

    def _im2col_forward(self, x):
        """The general path (any stride, groups): windows copied as rows of `cols`, then `_gemm`."""
        padded_shape, pad_h, pad_w, _, (out_h, out_w) = self._geometry
        (kh, kw), (sh, sw), (dh, dw) = (self._as_2d(self.kernel_size), self._as_2d(self.strides),
                                        self._as_2d(self.dilation_rate))
        n, c = padded_shape[0], padded_shape[-1]
        if any(pad_h + pad_w):
            x = np.pad(x, ((0, 0), pad_h, pad_w, (0, 0)))
        windows = sliding_window_view(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(1, 2))
        windows = windows[:, ::sh, ::sw, :, ::dh, ::dw][:, :out_h, :out_w]  # (n, oh, ow, c, kh, kw)
        cols = np.empty((n, out_h, out_w, kh, kw, c), dtype=x.dtype)
        for i in range(kh):  # one strided copy per kernel offset: twice as fast as copying the 6-d view
            for j in range(kw):
                cols[:, :, :, i, j] = windows[:, :, :, :, i, j]
        cols = cols.reshape(n * out_h * out_w, kh * kw, c)
        self._cols = cols
        z = self._gemm(cols)
        if self.use_bias:
            z += self.bias.value
        return z

    def _channel_rows_forward(self, x):
        """Few input channels: im2col transposed, one contiguous row per (kernel offset, channel) holding
        that shifted input plane for every output position (plus a row of ones that carries the bias), so
        each row is a plain strided copy; then z = cols^T @ [kernel; bias]."""
        padded_shape, pad_h, pad_w, _, (out_h, out_w) = self._geometry
        (kh, kw), (sh, sw), (dh, dw) = (self._as_2d(self.kernel_size), self._as_2d(self.strides),
                                        self._as_2d(self.dilation_rate))
        n, c = padded_shape[0], padded_shape[-1]
        depth = kh * kw * c
        cols = self._buffer("cols", (depth + self.use_bias, n * out_h * out_w), x.dtype)
        if self.use_bias:
            cols[depth] = 1
        planes = np.moveaxis(self._padded(x, pad_h, pad_w), -1, 0)  # (c, n, h, w) view
        rows = cols[:depth].reshape(kh, kw, c, n, out_h, out_w)
        for i in range(kh):
            for j in range(kw):
                rows[i, j] = planes[:, :, i * dh:i * dh + (out_h - 1) * sh + 1:sh,
                                    j * dw:j * dw + (out_w - 1) * sw + 1:sw]
        self._cols = cols
        z = self._pre_activation_array((cols.shape[1], self.filters), x.dtype)
        return _matmul_by_row_blocks(cols.T, self._kernel_and_bias_rows(), z)

    def _kernel_and_bias_rows(self):
        kernel = self.kernel.value.reshape(-1, self.filters)
        return np.concatenate([kernel, self.bias.value[None]]) if self.use_bias else kernel

    def _padded(self, x, pad_h, pad_w):
        """x zero-padded, written into a buffer reused while the shape holds (its border stays zero)."""
        if not any(pad_h + pad_w):
            return x
        n, h, w, c = x.shape
        padded = self._buffer("padded", (n, h + sum(pad_h), w + sum(pad_w), c), x.dtype, zeroed=True)
        _interior_rows(padded, pad_h[0], pad_w[0], h, w)[...] = x.reshape(n, h, w * c)
        return padded

    def _flat_grid(self):
        """The offsets path's grid (n, rows, columns, c): the padded input with a padding that both sides
        of an image (or of an image row) need stored once, the bottom (right) padding running on into the
        next image's top (next row's left) padding, which is zero too. Each image keeps the top padding, its
        rows and the bottom padding beyond the top's; the output's last row reads past them only into the
        next image's top padding (or the zero rows after the batch). 'same' 4x4 on 12x12: 14x14, not 15x15."""
        (n, _, _, c), pad_h, pad_w, (h, w), _ = self._geometry
        return n, pad_h[0] + h + max(0, pad_h[1] - pad_h[0]), pad_w[0] + w + max(0, pad_w[1] - pad_w[0]), c

    def _offsets(self):
        """Stride 1: output (a, b) reads padded input (a + i*dh, b + j*dw); with the grid (`_flat_grid`)
        flattened to rows (n, row, col), that is flat row r + i*dh*columns + j*dw, the same shift for every
        position. The shifts for (i, j) in row-major order."""
        (kh, kw), (row_step, column_step) = self._as_2d(self.kernel_size), self._offset_steps()
        return [i * row_step + j * column_step for i in range(kh) for j in range(kw)]

    def _offset_steps(self):
        """The flat-row shifts of one kernel row down and one kernel column right."""
        dh, dw = self._as_2d(self.dilation_rate)
        return dh * self._flat_grid()[2], dw

    def _gathering(self, channels):
        """(width, shifts) for `_shifted_gemm_sum` over rows of `channels` values: a kernel row's kw reads
        gathered side by side (one shift per kernel row) when that row stays narrow, else one shift per
        kernel offset."""
        kw = self._as_2d(self.kernel_size)[1]
        offsets = self._offsets()
        if kw == 1 or kw * channels > _WIDE_ROW_LIMIT:
            return 1, offsets
        return kw, offsets[::kw]

    def _offsets_forward(self, x):
        """Stride 1, many channels: z over every padded position as a sum of GEMMs of shifted contiguous
        row blocks of the flattened padded input (no im2col; see `_gathering`), the valid positions then
        cut out. Rows past the batch (reached by the last shifts) are zeros and land only in positions
        that are cut away."""
        _, pad_h, pad_w, (h, w), (out_h, out_w) = self._geometry
        grid = n, hp, wp, c = self._flat_grid()
        positions = n * hp * wp
        flat = self._buffer("flat", (positions + self._offsets()[-1], c), x.dtype, zeroed=True)
        _interior_rows(flat[:positions].reshape(grid), pad_h[0], pad_w[0], h, w)[...] = x.reshape(n, h, w * c)
        self._flat = flat
        width, shifts = self._gathering(c)
        kernel = self.kernel.value.reshape(len(shifts), -1, self.filters)
        z_all = _shifted_gemm_sum(flat, shifts, kernel, positions,
                                  self._buffer("z_all", (positions, self.filters), x.dtype), width,
                                  self._as_2d(self.dilation_rate)[1])
        out = self._pre_activation_array((n, out_h, out_w, self.filters), x.dtype)
        z = _interior_rows(z_all.reshape(n, hp, wp, self.filters), 0, 0, out_h, out_w)
        rows = out.reshape(z.shape)
        if self.use_bias:
            np.add(z, np.tile(self.bias.value, out_w), out=rows)
        else:
            np.copyto(rows, z)
        return out

    def _pre_activation_array(self, shape, dtype):
        """Where z goes: a fresh array when z is the output; a reused one when only this layer keeps it
        (as the activation's input, until the next call), sparing a large allocation per batch."""
        return np.empty(shape, dtype=dtype) if self._is_linear else self._buffer("z", shape, dtype)

    def _buffer(self, name, shape, dtype, zeroed=False):
        """A work array kept across calls of the same shape and dtype (batches repeat their shape).
        `zeroed` ones are zero at allocation and callers rewrite only the interior the geometry defines,
        so they are kept only while the whole geometry (not just the shape) repeats."""
        buffers = self.__dict__.setdefault("_work_buffers", {})
        key = (shape, np.dtype(dtype), self._geometry if zeroed else None)
        if name not in buffers or buffers[name][0] != key:
            buffers[name] = (key, (np.zeros if zeroed else np.empty)(shape, dtype=dtype))
        return buffers[name][1]

    def _recycled(self, name, shape, dtype):
        """A new array for a result, or the one returned last time under `name` once nothing else holds it
        (no view, no caller's name): its pages are mapped already, where a new array of a few MB costs a
        page fault per 4 KB page (the course's second convolution: about 450 a step)."""
        arrays = self.__dict__.setdefault("_recycled_arrays", {})
        array = arrays.get(name)
        # held by `arrays`, `array` and getrefcount's argument alone
        if array is None or array.shape != shape or array.dtype != dtype or sys.getrefcount(array) > 3:
            array = arrays[name] = np.empty(shape, dtype=dtype)
        return array

    def _kernel_2d(self):
        """The kernel as (kh*kw, in/groups, filters)."""
        return self.kernel.value.reshape(-1, self.kernel.shape[-2], self.filters)

    def _gemm(self, cols):
        """z = cols @ kernel as (kh*kw*in, filters): one GEMM, or one per group side by side."""
        kernel = self._kernel_2d()
        if self.groups == 1:
            return cols.reshape(len(cols), -1) @ kernel.reshape(-1, self.filters)
        cg, fg = kernel.shape[1], self.filters // self.groups
        return np.concatenate([cols[:, :, g * cg:(g + 1) * cg].reshape(len(cols), -1)
                               @ kernel[:, :, g * fg:(g + 1) * fg].reshape(-1, fg)
                               for g in range(self.groups)], axis=1)

    def backward(self, grad_output, grad_is_logits=False):
        dz = self._grad_pre_activation(grad_output, grad_is_logits)
        if self._path == "offsets":
            return self._offsets_backward(dz)
        dz = dz.reshape(-1, self.filters)
        if self._path == "channel_rows":
            return self._channel_rows_backward(dz)
        cols, groups = self._cols, self.groups
        kernel = self._kernel_2d()
        cg, fg = kernel.shape[1], self.filters // groups
        if self.kernel.trainable:
            grad = _grad_buffer(self.kernel, dz.dtype).reshape(kernel.shape)
            for g in range(groups):
                part = cols[:, :, g * cg:(g + 1) * cg].reshape(len(cols), -1)
                grad[:, :, g * fg:(g + 1) * fg] = (part.T @ dz[:, g * fg:(g + 1) * fg]).reshape(-1, cg, fg)
        if self.use_bias and self.bias.trainable:
            self.bias.grad = _column_sums(dz, _grad_buffer(self.bias, dz.dtype))
        if not self.input_grad_needed:
            return None
        dcols = np.empty(cols.shape, dtype=dz.dtype)
        for g in range(groups):
            block = dz[:, g * fg:(g + 1) * fg] @ kernel[:, :, g * fg:(g + 1) * fg].reshape(-1, fg).T
            dcols[:, :, g * cg:(g + 1) * cg] = block.reshape(len(cols), -1, cg)
        return self._col2im(dcols)

    def _channel_rows_backward(self, dz):
        """[dkernel; dbias] = cols @ dz (the ones row sums dz for the bias); dx = col2im(dz @ kernel^T)."""
        self._channel_rows_weight_grads(dz)
        if not self.input_grad_needed:
            return None
        return self._col2im(dz @ self.kernel.value.reshape(-1, self.filters).T)

    def _channel_rows_weight_grads(self, dz):
        """The kernel and bias gradients from `cols` and dz, their positions in the same order."""
        cols, depth = self._cols, self.kernel.value.size // self.filters
        if self.kernel.trainable:
            grads = _wide_by_tall_matmul(cols, dz)
            np.copyto(_grad_buffer(self.kernel, dz.dtype), grads[:depth].reshape(self.kernel.shape))
            if self.use_bias and self.bias.trainable:
                np.copyto(_grad_buffer(self.bias, dz.dtype), grads[depth])
        elif self.use_bias and self.bias.trainable:
            self.bias.grad = _column_sums(dz, _grad_buffer(self.bias, dz.dtype))

    def _offsets_backward(self, dz):
        """dz placed on the padded grid (zeros elsewhere, and `lead` zero rows before it for the shifts):
        dkernel[i, j] = shifted_flat^T @ dz_all; dx_flat = sum over offsets of dz_all shifted back by the
        offset @ kernel[i, j]^T (gathered kernel rows read their offsets in reverse order, the gathering
        having shifted them forward), then the padding cropped."""
        _, pad_h, pad_w, (h, w), (out_h, out_w) = self._geometry
        grid = n, hp, wp, c = self._flat_grid()
        offsets, positions = self._offsets(), n * hp * wp
        lead = offsets[-1]
        dz_ext = self._buffer("dz_ext", (lead + positions, self.filters), dz.dtype, zeroed=True)
        dz_all = dz_ext[lead:]
        _interior_rows(dz_all.reshape(n, hp, wp, self.filters), 0, 0, out_h, out_w)[...] = \
            dz.reshape(n, out_h, out_w * self.filters)
        if self.kernel.trainable:
            grad_t = _shifted_gemm_grads(self._flat, self._as_2d(self.kernel_size), self._offset_steps(), dz_all)
            np.copyto(_grad_buffer(self.kernel, dz.dtype).reshape(len(offsets), c, self.filters),
                      grad_t.transpose(0, 2, 1))
        if self.use_bias and self.bias.trainable:
            self.bias.grad = _column_sums(dz.reshape(-1, self.filters), _grad_buffer(self.bias, dz.dtype))
        if not self.input_grad_needed:
            return None
        width, shifts = self._gathering(self.filters)
        dw = self._as_2d(self.dilation_rate)[1]
        kernel = self.kernel.value.reshape(self._as_2d(self.kernel_size) + (c, self.filters))
        kernel = kernel[:, ::-1] if width > 1 else kernel
        dx_all = _shifted_gemm_sum(dz_ext, [lead - (width - 1) * dw - shift for shift in shifts],
                                   kernel.transpose(0, 1, 3, 2).reshape(len(shifts), -1, c), positions,
                                   self._buffer("dx_all", (positions, c), dz.dtype), width, dw)
        # a contiguous copy: the layer below reads it faster than the cropped view (pooling: 1.6x)
        dx = self._recycled("dx", (n, h, w, c), dz.dtype)
        np.copyto(dx.reshape(n, h, w * c), _interior_rows(dx_all.reshape(grid), pad_h[0], pad_w[0], h, w))
        return dx[:, 0] if self.rank == 1 else dx

    def _col2im(self, dcols):
        padded_shape, pad_h, pad_w, (h, w), (out_h, out_w) = self._geometry
        (kh, kw), (sh, sw), (dh, dw) = (self._as_2d(self.kernel_size), self._as_2d(self.strides),
                                        self._as_2d(self.dilation_rate))
        n, c = padded_shape[0], padded_shape[-1]
        dcols = dcols.reshape(n, out_h, out_w, kh, kw, c)
        dx = np.zeros(padded_shape, dtype=dcols.dtype)
        for i in range(kh):
            for j in range(kw):
                top, left = i * dh, j * dw
                dx[:, top:top + (out_h - 1) * sh + 1:sh, left:left + (out_w - 1) * sw + 1:sw] += dcols[:, :, :, i, j]
        dx = dx[:, pad_h[0]:pad_h[0] + h, pad_w[0]:pad_w[0] + w]
        return dx[:, 0] if self.rank == 1 else dx

    def get_config(self):
        config = super().get_config()
        activity = config.pop("activity_regularizer", None)
        return {
            **config,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": activity,
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Conv2D(BaseConv):
    """2-D convolution over (batch, height, width, channels); kernel (kh, kw, in/groups, filters).

    z[n, i, j, f] = bias[f] + sum_{a, b, c} x_pad[n, i*sh + a*dh, j*sw + b*dw, c] * kernel[a, b, c, f];
    backward as `BaseConv` (im2col GEMMs for dkernel and d(cols), col2im for dx).
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(2, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class Conv1D(BaseConv):
    """1-D convolution over (batch, steps, channels); kernel (k, in/groups, filters). Runs as Conv2D on a
    height-1 image. padding 'causal' left-pads dilation*(k-1) zeros, so output[t] sees inputs <= t."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


Convolution1D = Conv1D
Convolution2D = Conv2D

"""Transposed convolutions (Conv1DTranspose, Conv2DTranspose), channels_last only.

Also the im2col/col2im pair and the argument checks the depthwise and separable convolutions share.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from minikeras import activations, constraints, initializers, regularizers
from minikeras.layers.convolutional import _output_length, _pads, channels_last_only
from minikeras.layers.core import ActivationMixin, _grad_buffer, _incompatible
from minikeras.layers.layer import Layer, _shape_text
from minikeras.utils.argument_validation import standardize_padding, standardize_tuple

__all__ = ["Conv1DTranspose", "Conv2DTranspose", "Convolution1DTranspose", "Convolution2DTranspose"]


# --- pieces shared with depthwise_separable.py

def _im2col(padded, kernel_size, strides, dilation, out_size):
    """(n, H, W, c) zero-padded input -> (n, oh, ow, kh, kw, c): the window under each output position."""
    (kh, kw), (sh, sw), (dh, dw), (out_h, out_w) = kernel_size, strides, dilation, out_size
    n, c = padded.shape[0], padded.shape[-1]
    windows = sliding_window_view(padded, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(1, 2))
    windows = windows[:, ::sh, ::sw, :, ::dh, ::dw][:, :out_h, :out_w]  # (n, oh, ow, c, kh, kw)
    cols = np.empty((n, out_h, out_w, kh, kw, c), dtype=padded.dtype)
    for i in range(kh):  # one strided copy per kernel offset beats copying the 6-d view at once
        for j in range(kw):
            cols[:, :, :, i, j] = windows[:, :, :, :, i, j]
    return cols


def _kernel_offsets(kernel_size, strides, dilation, out_size):
    """For each kernel offset (i, j): the (rows, columns) slices of the padded input it meets across all
    output positions."""
    (kh, kw), (sh, sw), (dh, dw), (out_h, out_w) = kernel_size, strides, dilation, out_size
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(i * dh, i * dh + (out_h - 1) * sh + 1, sh),
                         slice(j * dw, j * dw + (out_w - 1) * sw + 1, sw))


def _col2im(cols, padded_shape, strides, dilation):
    """The adjoint of `_im2col`: (n, oh, ow, kh, kw, c) blocks scatter-added into zeros of `padded_shape`."""
    image = np.zeros(padded_shape, dtype=cols.dtype)
    for i, j, (rows, columns) in _kernel_offsets(cols.shape[3:5], strides, dilation, cols.shape[1:3]):
        image[:, rows, columns] += cols[:, :, :, i, j]
    return image


def _check_rank(layer, input_shape):
    ndim = layer.rank + 2
    if len(input_shape) < ndim:
        raise _incompatible(layer, f"expected min_ndim={ndim}, found ndim={len(input_shape)}", input_shape)
    if len(input_shape) > ndim:
        raise _incompatible(layer, f"expected ndim={ndim}, found ndim={len(input_shape)}", input_shape)


def _check_channels(layer, input_shape, expected):
    if input_shape[-1] != expected:
        raise ValueError(
            f"Input 0 with name 'None' of layer '{layer.name}' is incompatible with the layer: expected axis -1 "
            f"of input shape to have value {expected}, but received input with shape {_shape_text(input_shape)}"
        )


def _defined_channels(input_shape):
    if input_shape[-1] is None:
        raise ValueError(f"The channel dimension of the inputs should be defined. Found None. "
                         f"Full input shape received: {_shape_text(input_shape)}")
    return input_shape[-1]


def _geometry_2d(layer):
    """(kernel_size, strides, dilation_rate) in 2-D: a rank-1 layer runs on a height-1 image."""
    return tuple((1,) + value if layer.rank == 1 else value
                 for value in (layer.kernel_size, layer.strides, layer.dilation_rate))


class BaseConvTranspose(ActivationMixin, Layer):
    """N-d transposed convolution (rank 1 or 2): the adjoint of the strided convolution that maps the
    output shape back to the input shape, y = activation(conv^T(x, kernel) + bias).

    Forward: one GEMM cols = x(N*H*W, in) @ kernel(kh*kw*filters, in)^T, then col2im (a strided add per
    kernel offset) into the padded output, cropped. Backward: dcols = im2col(padded dz); dx = dcols @ kernel,
    dkernel = dcols^T @ x, dbias = sum of dz.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        self.padding = standardize_padding(padding)
        self.output_padding = (None if output_padding is None
                               else standardize_tuple(output_padding, rank, "output_padding", allow_zero=True))
        self.data_format = channels_last_only(type(self), data_format)
        if filters is not None and filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters}.")
        for axis, (extra, stride) in enumerate(zip(self.output_padding or (), self.strides)):
            if extra >= stride:
                raise ValueError(
                    "`output_padding` must be strictly less than `strides` for all dimensions. At dimension "
                    f"{axis}, `output_padding` is {extra} but `strides` is {stride}. Received: output_padding="
                    f"{self.output_padding}, strides={self.strides}")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                             f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.filters = int(filters)
        self._set_activation(activation)
        self._set_kernel_and_bias_options(use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                                          bias_regularizer, kernel_constraint, bias_constraint)

    # --- shapes and weights

    def check_input_shape(self, input_shape):
        _check_rank(self, input_shape)
        if self.built:
            _check_channels(self, input_shape, self.kernel.shape[-1])
        for axis, (length, (_, _, padded)) in enumerate(zip(input_shape[1:-1], self._axes_geometry(input_shape))):
            if length is None:
                continue
            length_back = _output_length(padded, self.kernel_size[axis], self.strides[axis],
                                         self.dilation_rate[axis], "valid")
            if length_back != length:
                raise ValueError(
                    f"Layer '{self.name}' cannot map input shape {_shape_text(input_shape)} to output shape "
                    f"{_shape_text(self.compute_output_shape(input_shape))}: the convolution this layer transposes "
                    f"(kernel_size={self.kernel_size}, strides={self.strides}, padding={self.padding}) turns that "
                    f"output back into a length of {length_back}, not {length}. Keras's TensorFlow backend fails "
                    "on it too: change `output_padding`.")

    def build(self, input_shape):
        channels = _defined_channels(input_shape)
        self.kernel = self.add_weight(self.kernel_size + (self.filters, channels), self.kernel_initializer,
                                      "kernel", regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), self.bias_initializer, "bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def _output_length(self, length, axis):
        """Keras's rule: 'valid' gives (n-1)*s + max(k, s), 'same' gives n*s, unless output_padding is set."""
        if length is None:
            return None
        kernel = self.dilation_rate[axis] * (self.kernel_size[axis] - 1) + 1
        stride = self.strides[axis]
        extra = None if self.output_padding is None else self.output_padding[axis]
        if self.padding == "valid":
            return (length - 1) * stride + kernel + (max(kernel, stride) - kernel if extra is None else extra)
        return length * stride if extra is None else (length - 1) * stride + kernel % 2 + extra

    def _axes_geometry(self, input_shape):
        """Per spatial axis: (output length, zero padding before it, padded length) of the convolution this
        layer transposes, whose input is this layer's output."""
        geometry = []
        for axis, length in enumerate(input_shape[1:-1]):
            out = self._output_length(length, axis)
            if out is None:
                geometry.append((None, None, None))
                continue
            kernel, stride, dilation = self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis]
            before, after = _pads(out, kernel, stride, dilation, self.padding)
            geometry.append((out, before, out + before + after))
        return geometry

    def compute_output_shape(self, input_shape):
        spatial = tuple(self._output_length(n, axis) for axis, n in enumerate(input_shape[1:-1]))
        return (input_shape[0],) + spatial + (self.filters,)

    # --- forward and backward, on the 2-D core

    def call(self, inputs, training=False):
        x = inputs[:, np.newaxis] if self.rank == 1 else inputs
        n, h, w, channels = x.shape
        geometry = self._axes_geometry(inputs.shape)
        if self.rank == 1:
            geometry = [(1, 0, 1)] + geometry  # the height-1 axis: no padding
        (out_h, top, padded_h), (out_w, left, padded_w) = geometry
        kernel_size, strides, dilation = _geometry_2d(self)
        padded_shape = (n, padded_h, padded_w, self.filters)
        self._inputs = x
        self._window = (padded_shape, top, left, (h, w))
        cols = x.reshape(-1, channels) @ self.kernel.value.reshape(-1, channels).T
        cols = cols.reshape(n, h, w, *kernel_size, self.filters)
        z = _col2im(cols, padded_shape, strides, dilation)[:, top:top + out_h, left:left + out_w]
        if self.use_bias:
            z += self.bias.value
        return self._activate(z[:, 0] if self.rank == 1 else z)

    def backward(self, grad_output, grad_is_logits=False):
        dz = self._grad_pre_activation(grad_output, grad_is_logits)
        dz = dz[:, np.newaxis] if self.rank == 1 else dz
        (n, padded_h, padded_w, _), top, left, in_size = self._window
        padded = np.zeros((n, padded_h, padded_w, self.filters), dtype=dz.dtype)
        padded[:, top:top + dz.shape[1], left:left + dz.shape[2]] = dz
        kernel_size, strides, dilation = _geometry_2d(self)
        dcols = _im2col(padded, kernel_size, strides, dilation, in_size)
        dcols = dcols.reshape(-1, int(np.prod(self.kernel.shape[:-1])))
        x = self._inputs.reshape(len(dcols), -1)
        if self.kernel.trainable:
            grad = _grad_buffer(self.kernel, dz.dtype)
            np.dot(dcols.T, x, out=grad.reshape(len(dcols[0]), -1))
        if self.use_bias and self.bias.trainable:
            self.bias.grad = np.sum(dz, axis=(0, 1, 2), out=_grad_buffer(self.bias, dz.dtype))
        if not self.input_grad_needed:
            return None
        dx = (dcols @ self.kernel.value.reshape(len(dcols[0]), -1)).reshape(self._inputs.shape)
        return dx[:, 0] if self.rank == 1 else dx

    def get_config(self):
        return {
            **super().get_config(),  # keeps Keras's place for activity_regularizer when one is set
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Conv2DTranspose(BaseConvTranspose):
    """2-D transposed convolution over (batch, height, width, channels); kernel (kh, kw, filters, in).

    y_pad[n, i*sh + a*dh, j*sw + b*dw, f] += x[n, i, j, c] * kernel[a, b, f, c], then y = crop(y_pad) + bias;
    backward as `BaseConvTranspose` (dx is the strided convolution of dy).
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(2, filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class Conv1DTranspose(BaseConvTranspose):
    """1-D transposed convolution over (batch, steps, channels); kernel (k, filters, in). Runs as
    Conv2DTranspose on a height-1 image."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
Deconvolution2D = Conv2DTranspose  # Keras 2's name

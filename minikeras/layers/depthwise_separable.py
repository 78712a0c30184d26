"""Depthwise and depthwise-separable convolutions (DepthwiseConv1D/2D, SeparableConv1D/2D), channels_last only."""
import numpy as np

from minikeras import activations, constraints, initializers, regularizers
from minikeras.layers.convolutional import _output_length, _pads, channels_last_only
from minikeras.layers.convolutional_transpose import (
    _check_channels,
    _check_rank,
    _defined_channels,
    _geometry_2d,
    _kernel_offsets,
)
from minikeras.layers.core import ActivationMixin, _grad_buffer
from minikeras.layers.layer import Layer, _shape_text
from minikeras.utils.argument_validation import standardize_padding, standardize_tuple

__all__ = ["DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D",
           "SeparableConvolution2D"]


class BaseDepthwiseConv(ActivationMixin, Layer):
    """The depthwise core: each input channel c convolved with its own depth_multiplier filters,
    u[n, i, j, c*M + m] = sum_{a, b} x_pad[n, i*sh + a*dh, j*sw + b*dw, c] * depthwise[a, b, c, m].

    Forward: per kernel offset (a, b) and multiplier m, one multiply-add of the strided window of the padded
    input (all positions and channels at once). Backward, per offset: ddepthwise[a, b, :, m] = sum over
    positions of window * du[..., m]; dx_pad[window] += du[..., m] * depthwise[a, b, :, m], then cropped.
    Subclasses name the depthwise weight (`_depthwise`) and add what follows it.
    """

    def __init__(self, rank, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        self.padding = standardize_padding(padding)
        self.data_format = channels_last_only(type(self), data_format)
        if depth_multiplier is not None and depth_multiplier <= 0:
            raise ValueError("Invalid value for argument `depth_multiplier`. Expected a strictly positive value. "
                             f"Received depth_multiplier={depth_multiplier}.")
        self.depth_multiplier = int(depth_multiplier)
        self._set_activation(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_grad_needed = True

    # --- shapes and weights

    def _output_channels(self, input_channels):
        return None if input_channels is None else self.depth_multiplier * input_channels

    def check_input_shape(self, input_shape):
        _check_rank(self, input_shape)
        if self.built:
            _check_channels(self, input_shape, self._depthwise.shape[-2])
        self.compute_output_shape(input_shape)

    def _add_depthwise_weight(self, input_shape, name):
        channels = _defined_channels(input_shape)
        return self.add_weight(self.kernel_size + (channels, self.depth_multiplier), self.depthwise_initializer,
                               name, regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint)

    def _add_bias(self, size):
        if not self.use_bias:
            return None
        return self.add_weight((size,), self.bias_initializer, "bias", regularizer=self.bias_regularizer,
                               constraint=self.bias_constraint)

    def compute_output_shape(self, input_shape):
        spatial = tuple(_output_length(n, k, s, d, self.padding) for n, k, s, d in
                        zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate))
        filters = self._output_channels(input_shape[-1])
        if any(n is not None and n <= 0 for n in spatial):
            kernel_shape = self.kernel_size + (input_shape[-1], filters)  # as Keras words it, even when separable
            raise ValueError(
                "Computed output size would be zero or negative. Received `inputs shape="
                f"{_shape_text(input_shape)}`, `kernel shape={_shape_text(kernel_shape)}`, `dilation_rate="
                f"[{' '.join(str(d) for d in self.dilation_rate)}]`, `strides={self.strides}`, "
                f"`padding={self.padding}`."
            )
        return (input_shape[0],) + spatial + (filters,)

    # --- the depthwise pass, on the 2-D core

    def _depthwise_forward(self, inputs):
        """(n, *spatial, c) -> (n*out_positions, c*depth_multiplier), keeping the padded input for backward."""
        x = inputs[:, np.newaxis] if self.rank == 1 else inputs
        kernel_size, strides, dilation = _geometry_2d(self)
        n, h, w, channels = x.shape
        pads = [_pads(length, k, s, d, self.padding) for length, k, s, d in zip((h, w), kernel_size, strides, dilation)]
        if any(pads[0] + pads[1]):
            x = np.pad(x, ((0, 0), *pads, (0, 0)))
        out_size = tuple(_output_length(length, k, s, d, "valid")
                         for length, k, s, d in zip(x.shape[1:3], kernel_size, strides, dilation))
        self._padded_inputs = x
        self._geometry = (pads, (h, w), out_size)
        kernel = self._depthwise.value.reshape(kernel_size + (channels, self.depth_multiplier))
        # multiplier-major, so each update runs over contiguous channels (a trailing axis of 1 or 2 is slow)
        outputs = np.zeros((self.depth_multiplier, n) + out_size + (channels,), dtype=x.dtype)
        for i, j, (rows, columns) in _kernel_offsets(kernel_size, strides, dilation, out_size):
            for m in range(self.depth_multiplier):
                outputs[m] += x[:, rows, columns] * kernel[i, j, :, m]
        return np.moveaxis(outputs, 0, -1).reshape(-1, channels * self.depth_multiplier)

    def _depthwise_backward(self, du):
        """du (n*out_positions, c*depth_multiplier) -> dx; fills the depthwise kernel's gradient."""
        x = self._padded_inputs
        pads, (h, w), out_size = self._geometry
        kernel_size, strides, dilation = _geometry_2d(self)
        kernel = self._depthwise.value.reshape(kernel_size + self._depthwise.shape[-2:])
        du = np.moveaxis(du.reshape(x.shape[:1] + out_size + kernel.shape[2:]), -1, 0).copy()
        weight_grad = (_grad_buffer(self._depthwise, du.dtype).reshape(kernel.shape) if self._depthwise.trainable
                       else None)
        dx = np.zeros(x.shape, dtype=du.dtype) if self.input_grad_needed else None
        for i, j, (rows, columns) in _kernel_offsets(kernel_size, strides, dilation, out_size):
            for m in range(self.depth_multiplier):
                if weight_grad is not None:
                    weight_grad[i, j, :, m] = np.einsum("nhwc,nhwc->c", x[:, rows, columns], du[m])
                if dx is not None:
                    dx[:, rows, columns] += du[m] * kernel[i, j, :, m]
        if dx is None:
            return None
        dx = dx[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + w]
        return dx[:, 0] if self.rank == 1 else dx

    def _reshape_output(self, inputs, flat):
        out_size = self._geometry[2]
        return flat.reshape(inputs.shape[:1] + (out_size[1:] if self.rank == 1 else out_size) + flat.shape[-1:])

    def _config_head(self):
        return {
            **super().get_config(),  # keeps Keras's place for activity_regularizer when one is set
            "depth_multiplier": self.depth_multiplier,
        }

    def _config_geometry(self):
        return {
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
        }


class DepthwiseConv(BaseDepthwiseConv):
    """Depthwise convolution: z = depthwise(x) + bias (c*depth_multiplier outputs), y = activation(z);
    dbias = sum of dz, the rest as `BaseDepthwiseConv`."""

    @property
    def _depthwise(self):
        return self.kernel

    def build(self, input_shape):
        self.kernel = self._add_depthwise_weight(input_shape, "kernel")
        self.bias = self._add_bias(self.kernel.shape[-2] * self.depth_multiplier)

    def call(self, inputs, training=False):
        z = self._depthwise_forward(inputs)
        if self.use_bias:
            z += self.bias.value
        return self._activate(self._reshape_output(inputs, z))

    def backward(self, grad_output, grad_is_logits=False):
        dz = self._grad_pre_activation(grad_output, grad_is_logits)
        dz = dz.reshape(-1, dz.shape[-1])
        if self.use_bias and self.bias.trainable:
            self.bias.grad = np.sum(dz, axis=0, out=_grad_buffer(self.bias, dz.dtype))
        return self._depthwise_backward(dz)

    def get_config(self):
        return {
            **self._config_head(),
            **self._config_geometry(),
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class SeparableConv(BaseDepthwiseConv):
    """Depthwise then pointwise: u = depthwise(x), z = u @ pointwise(c*m, filters) + bias, y = activation(z).

    Backward: dpointwise = u^T @ dz, dbias = sum of dz, du = dz @ pointwise^T, then the depthwise backward.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)
        if filters is not None and filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters}.")
        self.filters = int(filters)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    @property
    def _depthwise(self):
        return self.depthwise_kernel

    def _output_channels(self, input_channels):
        return self.filters

    def build(self, input_shape):
        self.depthwise_kernel = self._add_depthwise_weight(input_shape, "depthwise_kernel")
        shape = (1,) * self.rank + (input_shape[-1] * self.depth_multiplier, self.filters)
        self.pointwise_kernel = self.add_weight(shape, self.pointwise_initializer, "pointwise_kernel",
                                                regularizer=self.pointwise_regularizer,
                                                constraint=self.pointwise_constraint)
        self.bias = self._add_bias(self.filters)

    def _pointwise_2d(self):
        return self.pointwise_kernel.value.reshape(-1, self.filters)

    def call(self, inputs, training=False):
        self._depthwise_outputs = self._depthwise_forward(inputs)
        z = self._depthwise_outputs @ self._pointwise_2d()
        if self.use_bias:
            z += self.bias.value
        return self._activate(self._reshape_output(inputs, z))

    def backward(self, grad_output, grad_is_logits=False):
        dz = self._grad_pre_activation(grad_output, grad_is_logits).reshape(-1, self.filters)
        if self.pointwise_kernel.trainable:
            grad = _grad_buffer(self.pointwise_kernel, dz.dtype)
            np.dot(self._depthwise_outputs.T, dz, out=grad.reshape(-1, self.filters))
        if self.use_bias and self.bias.trainable:
            self.bias.grad = np.sum(dz, axis=0, out=_grad_buffer(self.bias, dz.dtype))
        if not (self.input_grad_needed or self.depthwise_kernel.trainable):
            return None
        return self._depthwise_backward(dz @ self._pointwise_2d().T)

    def get_config(self):
        return {
            **self._config_head(),
            "filters": self.filters,
            **self._config_geometry(),
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class DepthwiseConv2D(DepthwiseConv):
    """Depthwise 2-D convolution; kernel (kh, kw, in, depth_multiplier), bias (in*depth_multiplier,).

    z[n, i, j, c*M + m] = bias + sum_{a, b} x_pad[n, i*sh + a*dh, j*sw + b*dw, c] * kernel[a, b, c, m].
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)


class DepthwiseConv1D(DepthwiseConv):
    """Depthwise 1-D convolution; kernel (k, in, depth_multiplier). Runs as DepthwiseConv2D on a height-1 image."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)


class SeparableConv2D(SeparableConv):
    """Separable 2-D convolution; weights depthwise_kernel (kh, kw, in, M), pointwise_kernel (1, 1, in*M,
    filters), bias (filters,): a DepthwiseConv2D without bias, then a 1x1 convolution."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, depth_multiplier=depth_multiplier, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class SeparableConv1D(SeparableConv):
    """Separable 1-D convolution; depthwise_kernel (k, in, M), pointwise_kernel (1, in*M, filters), bias."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, depth_multiplier=depth_multiplier, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)


SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D

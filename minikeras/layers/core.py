"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, and Keras 2's Masking, RepeatVector, Permute."""
import collections.abc
import math

import numpy as np

from minikeras import activations, backend, constraints, initializers, regularizers
from minikeras.layers.layer import Layer, _shape_text
from minikeras.utils.argument_validation import standardize_data_format


def _incompatible(layer, expectation, input_shape):
    return ValueError(
        f"Input 0 with name 'None' of layer '{layer.name}' is incompatible with the layer: {expectation}. "
        f"Full shape received: {_shape_text(input_shape)}"
    )


_SMALL_KERNEL_SIZE = 16384


class ActivationMixin:
    """Shared by layers ending in an activation: applying it, its gradient or the logits shortcut, and the
    kernel/bias options of the weighted ones."""

    def _activate(self, pre_activation):
        self.logits = pre_activation
        self._outputs = pre_activation if self._is_linear else self.activation(pre_activation)
        return self._outputs

    def _grad_pre_activation(self, grad_output, grad_is_logits):
        if grad_is_logits or self._is_linear:
            return grad_output
        if self._activation_gradient is None:
            self._activation_gradient = activations.gradient(self.activation)
        return self._activation_gradient(self.logits, self._outputs, grad_output)

    def _set_kernel_and_bias_options(self, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                                     bias_regularizer, kernel_constraint, bias_constraint):
        """The kernel-and-bias arguments Dense and the convolutions share, resolved from Keras's identifiers."""
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_grad_needed = True

    def _set_activation(self, activation):
        self.activation = activations.get(activation)
        self._is_linear = self.activation is activations.linear
        self._activation_gradient = None


class Dense(ActivationMixin, Layer):
    """Fully connected layer: z = x @ kernel + bias, y = activation(z).

    Backward: dz = activation'(z) * dy; dkernel = x^T dz, dbias = sum over the batch of dz,
    dx = dz @ kernel^T. Inputs of rank > 2 are contracted over their last axis only.
    """

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, lora_alpha=None, quantization_config=None, **kwargs):
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(
                "Received an invalid value for `units`, expected a positive integer. "
                f"Received: units={units}"
            )
        if lora_rank is not None or quantization_config is not None:
            raise ValueError("minikeras's Dense has no LoRA or quantization: leave `lora_rank` and "
                             f"`quantization_config` as None. Received: lora_rank={lora_rank}, "
                             f"quantization_config={quantization_config}")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = int(units)
        self._set_activation(activation)
        self._set_kernel_and_bias_options(use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                                          bias_regularizer, kernel_constraint, bias_constraint)

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise _incompatible(self, f"expected min_ndim=2, found ndim={len(input_shape)}", input_shape)
        if self.built and input_shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Input 0 with name 'None' of layer '{self.name}' is incompatible with the layer: expected "
                f"axis -1 of input shape to have value {self.kernel.shape[0]}, but received input with shape "
                f"{_shape_text(input_shape)}"
            )

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"The last dimension of the inputs to a Dense layer should be defined. Found None. "
                             f"Full input shape received: {_shape_text(input_shape)}")
        self.kernel = self.add_weight((input_shape[-1], self.units), self.kernel_initializer, "kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight((self.units,), self.bias_initializer, "bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, inputs, training=False):
        self._inputs = inputs
        z = _product(inputs, self.kernel.value)
        if self.use_bias:
            z += self.bias.value
        return self._activate(z)

    def backward(self, grad_output, grad_is_logits=False):
        dz = self._grad_pre_activation(grad_output, grad_is_logits)
        flat_dz = dz.reshape(-1, self.units)
        if self.kernel.trainable:
            flat_x = self._inputs.reshape(-1, self.kernel.shape[0])
            self.kernel.grad = np.dot(flat_x.T, flat_dz, out=_grad_buffer(self.kernel, flat_dz.dtype))
        if self.use_bias and self.bias.trainable:
            # np.add.reduce is np.sum without its Python wrapper, which costs more than a small batch's sum
            self.bias.grad = np.add.reduce(flat_dz, axis=0, out=_grad_buffer(self.bias, flat_dz.dtype))
        if not self.input_grad_needed:
            return None
        kernel_t = self.kernel.value.T
        if kernel_t.size <= _SMALL_KERNEL_SIZE:  # OpenBLAS is slow on a small transposed operand; a copy is cheap
            kernel_t = np.ascontiguousarray(kernel_t)
        return _product(dz, kernel_t)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": None,
        }


def _product(x, matrix):
    """x @ matrix (2-D), contracted over x's last axis; for 2-D x by np.dot: the same GEMM, bit for bit,
    without matmul's ufunc overhead (1.4 against 3.8 us for an LSTM's (5, 1) @ (1, 512) here)."""
    return np.dot(x, matrix) if x.ndim == 2 else x @ matrix


def _grad_buffer(variable, dtype):
    """The variable's gradient array, reused across steps (allocated once per dtype)."""
    if variable.grad is None or variable.grad.dtype != dtype:
        variable.grad = np.empty(variable.shape, dtype=dtype)
    return variable.grad


class Activation(ActivationMixin, Layer):
    """y = activation(x); backward: dx = activation'(x) * dy (the activation's own gradient rule)."""

    builds_at_init = True

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self._set_activation(activation)

    def call(self, inputs, training=False):
        return self._activate(inputs)

    def backward(self, grad_output, grad_is_logits=False):
        return self._grad_pre_activation(grad_output, grad_is_logits)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Inverted dropout, in training only: y = x * m / (1 - rate), m ~ Bernoulli(1 - rate).

    Backward: dx = dy * m / (1 - rate), with the same mask. At inference y = x and dx = dy.
    `noise_shape` shares one mask value along the axes where it is 1.
    """

    builds_at_init = True

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)) or not 0 <= rate <= 1:
            raise ValueError(
                "Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                f"Received: rate={rate}"
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed}")
        if noise_shape is not None and (isinstance(noise_shape, str)
                                        or not isinstance(noise_shape, collections.abc.Iterable)):
            raise ValueError("Invalid value received for argument `noise_shape`. Expected an iterable of integers "
                             f"(e.g., a tuple or list). Received: noise_shape={noise_shape}")
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._generator = None if seed is None else backend.seeded_generator(seed)
        self._scaled_mask = None

    def _mask_shape(self, input_shape):
        """noise_shape with its None entries taken from the input (by position, as Keras fills them);
        a shorter noise_shape broadcasts against the trailing axes, as in Keras."""
        if self.noise_shape is None:
            return input_shape
        shape = tuple(input_shape[i] if n is None else n for i, n in enumerate(self.noise_shape))
        try:
            broadcastable = len(shape) <= len(input_shape) and np.broadcast_shapes(shape, input_shape) == input_shape
        except ValueError:
            broadcastable = False
        if not broadcastable:
            raise ValueError(
                f"Invalid `noise_shape` for Dropout layer '{self.name}': {self.noise_shape} cannot be broadcast "
                f"to the input shape {_shape_text(input_shape)}."
            )
        return shape

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            self._scaled_mask = None
            return inputs
        generator = self._generator or backend.random_generator()
        draws = generator.random(self._mask_shape(inputs.shape), dtype=np.float32)
        scale = 0.0 if self.rate == 1 else 1.0 / (1.0 - self.rate)
        self._scaled_mask = np.where(draws >= self.rate, scale, 0.0).astype(inputs.dtype)
        return inputs * self._scaled_mask

    def backward(self, grad_output):
        if self._scaled_mask is None:
            return grad_output
        return grad_output * self._scaled_mask

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class Flatten(Layer):
    """y = x reshaped to (batch, prod(rest)); backward reshapes dy back to x's shape.

    data_format='channels_first' first moves axis 1 last, as Keras does, so the order is channels_last's.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else int(math.prod(rest))
        return (input_shape[0], size)

    def call(self, inputs, training=False):
        self._input_shape = inputs.shape
        if self._moves_channels():
            inputs = np.moveaxis(inputs, 1, -1)
        return inputs.reshape(len(inputs), -1)

    def backward(self, grad_output):
        if not self._moves_channels():
            return grad_output.reshape(self._input_shape)
        moved_shape = (self._input_shape[0],) + self._input_shape[2:] + (self._input_shape[1],)
        return np.moveaxis(grad_output.reshape(moved_shape), -1, 1)

    def _moves_channels(self):
        return self.data_format == "channels_first" and len(self._input_shape) > 2

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """y = x reshaped to (batch,) + target_shape (one entry may be -1); backward reshapes dy back."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, (int, np.integer)) and not isinstance(target_shape, bool):
            target_shape = (target_shape,)
        if isinstance(target_shape, str) or not isinstance(target_shape, collections.abc.Iterable):
            target_shape = (target_shape,)  # reported by the element check below, in Keras's words
        target_shape = tuple(target_shape)
        if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < -1 for d in target_shape):
            raise ValueError("Each dimension in `target_shape` must be a non-negative integer, or `-1` for a single "
                             f"unknown dimension. Received: target_shape={target_shape}.")
        if sum(d == -1 for d in target_shape) > 1:
            raise ValueError(f"There must be at most one unknown dimension (-1) in `target_shape`. "
                             f"Received: target_shape={target_shape}")
        self.target_shape = target_shape

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        size = int(math.prod(rest))
        known = int(math.prod(d for d in self.target_shape if d != -1))
        if -1 in self.target_shape and known and size % known == 0:
            return (input_shape[0],) + tuple(size // known if d == -1 else d for d in self.target_shape)
        if -1 not in self.target_shape and known == size:
            return (input_shape[0],) + self.target_shape
        raise ValueError(
            "The total size of the tensor must be unchanged. "
            f"Received: input_shape={_shape_text(rest)}, target_shape={_shape_text(self.target_shape)}"
        )

    def check_input_shape(self, input_shape):
        self.compute_output_shape(input_shape)

    def call(self, inputs, training=False):
        self._input_shape = inputs.shape
        return inputs.reshape((len(inputs),) + self.target_shape)

    def backward(self, grad_output):
        return grad_output.reshape(self._input_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


def _check_ndim(layer, input_shape, ndim):
    if len(input_shape) != ndim:
        raise _incompatible(layer, f"expected ndim={ndim}, found ndim={len(input_shape)}", input_shape)


class Masking(Layer):
    """Masks the timesteps whose features all equal `mask_value`: keep = any(x != mask_value, axis=-1),
    y = x * keep (kept features unchanged, masked timesteps zeroed), and the output mask is keep.

    Backward: dx = dy * keep.
    """

    builds_at_init = True

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def _keep(self, inputs):
        return np.any(inputs != self.mask_value, axis=-1, keepdims=True)

    def call(self, inputs, training=False):
        self._kept = self._keep(inputs)
        return np.where(self._kept, inputs, 0)

    def backward(self, grad_output):
        return np.where(self._kept, grad_output, 0)

    def compute_mask(self, inputs, previous_mask):
        return self._keep(inputs)[..., 0]

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): y[:, t, :] = x for every t; backward: dx = sum over t of dy."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        if n <= 0:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n}")
        self.n = n

    def check_input_shape(self, input_shape):
        _check_ndim(self, input_shape, 2)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs, training=False):
        return np.repeat(inputs[:, np.newaxis, :], self.n, axis=1)

    def backward(self, grad_output):
        return grad_output.sum(axis=1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Permute(Layer):
    """Reorders the non-batch axes: y = transpose(x, (0,) + dims), dims counted from 1 as in Keras.

    Backward: dx = transpose(dy, the inverse permutation).
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` "
                             f"must be consecutive and start from 1. Received dims={dims}")
        self.dims = tuple(dims)
        self._axes = (0,) + self.dims
        self._inverse_axes = tuple(int(axis) for axis in np.argsort(self._axes))

    def check_input_shape(self, input_shape):
        _check_ndim(self, input_shape, len(self.dims) + 1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[dim] for dim in self.dims)

    def call(self, inputs, training=False):
        return np.transpose(inputs, self._axes)

    def backward(self, grad_output):
        return np.transpose(grad_output, self._inverse_axes)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}

"""Normalization layers (Keras 2's `keras.layers.normalization`): BatchNormalization, LayerNormalization.

Both normalize x to x_hat = (x - mean) * rstd, rstd = 1 / sqrt(var + epsilon), with var the mean of the
squared deviations (biased, and free of the cancellation of E[x^2] - mean^2), then apply the learned
affine map y = gamma * x_hat + beta. They differ in what the statistics are taken over: BatchNormalization
over every axis but `axis` (the batch, and the positions of a convolution's output), LayerNormalization
over `axis` within each sample.
"""
import warnings

import numpy as np

from minikeras import backend, constraints, initializers, regularizers
from minikeras.layers.core import _incompatible
from minikeras.layers.layer import Layer, _shape_text
from minikeras.utils.argument_validation import check_number

__all__ = ["BatchNormalization", "LayerNormalization"]


def _axis_out_of_bounds(axis, input_shape, requested):
    return ValueError(f"Axis {axis} is out of bounds for input shape {_shape_text(input_shape)}. "
                      f"Received: axis={requested}")


class _Normalization(Layer):
    """The learned affine part the two layers share: gamma (scale) and beta (center), their options,
    y = gamma * x_hat + beta, and its backward (dgamma = sum(dy * x_hat), dbeta = sum(dy) over the axes
    the parameters are broadcast along; d x_hat = dy * gamma)."""

    supports_masking = True

    def __init__(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                 beta_constraint, gamma_constraint, **kwargs):
        super().__init__(**kwargs)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = None
        self.beta = None
        self.input_grad_needed = True

    def _check_rank_and_axes(self, input_shape, axes):
        """The axes must exist; once built, the rank and the sizes along the axes must be the built ones."""
        for axis in axes:
            if not -len(input_shape) <= axis < len(input_shape):
                raise _axis_out_of_bounds(axis, input_shape, self.axis)
        if not self.built:
            return
        built_shape = self.input_spec_shape
        if len(input_shape) != len(built_shape):
            raise _incompatible(self, f"expected ndim={len(built_shape)}, found ndim={len(input_shape)}", input_shape)
        for axis in axes:
            if input_shape[axis] != built_shape[axis]:
                raise ValueError(
                    f"Input 0 with name 'None' of layer '{self.name}' is incompatible with the layer: expected axis "
                    f"{axis} of input shape to have value {built_shape[axis]}, but received input with shape "
                    f"{_shape_text(input_shape)}"
                )

    def _add_affine_weights(self, shape, with_gamma, with_beta):
        if with_gamma:
            self.gamma = self.add_weight(shape, self.gamma_initializer, "gamma", regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if with_beta:
            self.beta = self.add_weight(shape, self.beta_initializer, "beta", regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)

    def _set_broadcast(self, input_shape, parameter_axes):
        """The shape gamma and beta broadcast from, and the axes their gradients sum over."""
        ndim = len(input_shape)
        self._parameter_shape = tuple(input_shape[a] if a in parameter_axes else 1 for a in range(ndim))
        self._parameter_sum_axes = tuple(a for a in range(ndim) if a not in parameter_axes)

    def _affine(self, normalized):
        self._normalized = normalized
        outputs = self._gamma_times(normalized)
        if self.beta is not None:
            outputs = outputs + self.beta.value.reshape(self._parameter_shape)
        return outputs

    def _affine_gradients(self, grad_output):
        """Fill dbeta = sum(dy) and dgamma = sum(dy * x_hat) over the axes gamma and beta broadcast along;
        return both sums (kept broadcastable), which BatchNormalization's input gradient reuses."""
        axes = self._parameter_sum_axes
        grad_sum = np.sum(grad_output, axis=axes, keepdims=True)
        weighted_sum = np.sum(grad_output * self._normalized, axis=axes, keepdims=True)
        if self.beta is not None and self.beta.trainable:
            self.beta.grad = grad_sum.reshape(self.beta.shape)
        if self.gamma is not None and self.gamma.trainable:
            self.gamma.grad = weighted_sum.reshape(self.gamma.shape)
        return grad_sum, weighted_sum

    def _gamma_times(self, values):
        return values if self.gamma is None else values * self.gamma.value.reshape(self._parameter_shape)

    def _affine_config(self):
        return {
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
        }

    def _affine_penalties_config(self):
        return {
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class BatchNormalization(_Normalization):
    """Normalize each feature (the entries along `axis`) over the batch and every other axis.

    Training (training=True and the layer trainable): mean and biased var of the batch, y = gamma *
    (x - mean) * rstd + beta, and moving = moving * momentum + batch_stat * (1 - momentum). Otherwise the
    moving mean and variance take their place. Backward in training goes through the batch statistics,
    dx = rstd * (g - mean(g) - x_hat * mean(g * x_hat)) with g = dy * gamma; at inference dx = g * rstd.
    As in Keras 3, `trainable = False` freezes gamma and beta and also runs the layer in inference mode.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, synchronized=False, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Invalid value for argument `axis`: expected an integer. Received: axis={axis!r}")
        axis = int(axis)
        momentum = check_number(momentum, "momentum")
        # a negative epsilon makes var + epsilon negative for nearly constant features: NaN outputs
        epsilon = check_number(epsilon, "epsilon", minimum=0)
        if renorm:
            raise ValueError("minikeras's BatchNormalization has no batch renormalization: leave `renorm` as "
                             f"False. Received: renorm={renorm}")
        super().__init__(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                         beta_constraint, gamma_constraint, **kwargs)
        self.axis = axis
        # One process holds the whole batch, so synchronized statistics are the ordinary ones.
        self.synchronized = synchronized
        self.momentum = momentum
        self.epsilon = epsilon
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.renorm = renorm
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.moving_mean = None
        self.moving_variance = None

    def check_input_shape(self, input_shape):
        self._check_rank_and_axes(input_shape, [self.axis])
        if input_shape[self.axis] is None:
            raise ValueError(f"BatchNormalization needs a known size along `axis` for its weights, but axis "
                             f"{self.axis} of input shape {_shape_text(input_shape)} is undefined (the batch "
                             f"axis?). Received: axis={self.axis}")

    def build(self, input_shape):
        shape = (input_shape[self.axis],)
        self._add_affine_weights(shape, with_gamma=self.scale, with_beta=self.center)
        self.moving_mean = self.add_weight(shape, self.moving_mean_initializer, "moving_mean", trainable=False)
        self.moving_variance = self.add_weight(shape, self.moving_variance_initializer, "moving_variance",
                                               trainable=False)
        self._set_broadcast(input_shape, (self.axis % len(input_shape),))
        self._reduction_axes = self._parameter_sum_axes

    def call(self, inputs, training=False, mask=None):
        if mask is not None and np.ndim(mask) != inputs.ndim - 1:
            raise ValueError("The mask provided should be one dimension less than the inputs. Received: "
                             f"mask.shape={_shape_text(np.shape(mask))}, inputs.shape={_shape_text(inputs.shape)}")
        self._batch_statistics = bool(training) and self.trainable
        self._mask_weights = None
        if self._batch_statistics:
            mean, centered, variance = self._moments(inputs, mask)
            self._update_moving_statistics(mean, variance)
        else:
            centered = inputs - self.moving_mean.value.reshape(self._parameter_shape)
            variance = self.moving_variance.value.reshape(self._parameter_shape)
        self._rstd = 1.0 / np.sqrt(variance + self.epsilon)
        return self._affine(centered * self._rstd)

    def _moments(self, inputs, mask):
        """Batch mean, deviations and biased variance; with a timestep mask, over the unmasked steps only
        (divided by their count + backend epsilon, as Keras does), every step being normalized."""
        axes = self._reduction_axes
        if mask is None:
            mean = np.mean(inputs, axis=axes, keepdims=True)
            centered = inputs - mean
            return mean, centered, np.mean(np.square(centered), axis=axes, keepdims=True)
        weights = np.broadcast_to(np.asarray(mask, dtype=inputs.dtype)[..., np.newaxis], inputs.shape)
        self._mask_weights = weights
        self._mask_total = np.sum(weights, axis=axes, keepdims=True) + backend.epsilon()
        mean = np.sum(weights * inputs, axis=axes, keepdims=True) / self._mask_total
        centered = inputs - mean
        return mean, centered, np.sum(weights * np.square(centered), axis=axes, keepdims=True) / self._mask_total

    def _update_moving_statistics(self, mean, variance):
        for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
            moving.value[...] = moving.value * self.momentum + batch.reshape(moving.shape) * (1.0 - self.momentum)

    def backward(self, grad_output):
        grad_sum, weighted_sum = self._affine_gradients(grad_output)
        if not self.input_grad_needed:
            return None
        scale = self._gamma_times(self._rstd)
        if not self._batch_statistics:
            return grad_output * scale
        if self._mask_weights is not None:
            return self._masked_input_gradient(grad_output, scale, self._gamma_times(grad_sum),
                                               self._gamma_times(weighted_sum))
        # The statistics are taken over the axes dgamma and dbeta sum over, so with g = dy * gamma:
        # mean(g) = gamma * dbeta / count and mean(g * x_hat) = gamma * dgamma / count.
        count = grad_output.size // grad_sum.size
        correction = self._normalized * (weighted_sum / count)
        correction += grad_sum / count
        return scale * (grad_output - correction)

    def _masked_input_gradient(self, grad_output, scale, grad_sum, weighted_sum):
        """dx when the statistics are weighted by the mask w (total S = sum(w) + epsilon), with g = dy * gamma,
        c = x - mean: dvar = -rstd^2 / 2 * sum(g * x_hat), dmean = -rstd * sum(g) - 2 dvar * sum(w * c) / S,
        dx = g * rstd + (2 dvar * c + dmean) * w / S."""
        axes, weights, centered = self._reduction_axes, self._mask_weights, self._normalized / self._rstd
        grad_variance = -0.5 * self._rstd ** 2 * weighted_sum
        grad_mean = (-self._rstd * grad_sum
                     - 2.0 * grad_variance * np.sum(weights * centered, axis=axes, keepdims=True) / self._mask_total)
        return grad_output * scale + (2.0 * grad_variance * centered + grad_mean) * weights / self._mask_total

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            **self._affine_config(),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            **self._affine_penalties_config(),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }


class LayerNormalization(_Normalization):
    """Normalize each sample over `axis` (an int or a list of axes), the same in training and inference.

    y = gamma * (x - mean) * rstd + beta, with mean and biased var over `axis`, gamma and beta shaped like
    those axes. Backward: dx = rstd * (g - mean(g) - x_hat * mean(g * x_hat)) over `axis`, g = dy * gamma.
    The deprecated `rms_scaling=True` computes, as Keras does, y = gamma * x * rstd with the centered
    variance and no beta; then dx = rstd * (g - x_hat * mean(g * x * rstd)).
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        if isinstance(axis, (list, tuple)):
            axis = list(axis)
        elif not isinstance(axis, int):
            raise TypeError(f"Expected an int or a list/tuple of ints for the argument 'axis', but received: {axis!r}")
        if rms_scaling:
            warnings.warn("You passed `rms_scaling=True`, which is deprecated. This argument incorrectly scales the "
                          "input by the variance, not the root mean square. To correctly use RMS Normalization, "
                          "please use `keras.layers.RMSNormalization` instead.", stacklevel=2)
        super().__init__(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                         beta_constraint, gamma_constraint, **kwargs)
        self.axis = axis
        self.epsilon = epsilon
        self.rms_scaling = rms_scaling

    def _requested_axes(self):
        return self.axis if isinstance(self.axis, list) else [self.axis]

    def check_input_shape(self, input_shape):
        self._check_rank_and_axes(input_shape, self._requested_axes())

    def build(self, input_shape):
        # Keras keeps the axes as a sorted list once built, and so does the config from then on.
        self.axis = sorted(self._requested_axes())
        ndim = len(input_shape)
        self._normalized_axes = tuple(sorted(a % ndim for a in self.axis))
        shape = tuple(input_shape[a] for a in self.axis)
        self._add_affine_weights(shape, with_gamma=self.scale or self.rms_scaling,
                                 with_beta=self.center and not self.rms_scaling)
        self._set_broadcast(input_shape, self._normalized_axes)

    def call(self, inputs, training=False):
        axes = self._normalized_axes
        epsilon = backend.epsilon() if self.epsilon is None else self.epsilon
        self._centered_hat = inputs - np.mean(inputs, axis=axes, keepdims=True)
        variance = np.mean(np.square(self._centered_hat), axis=axes, keepdims=True)
        self._rstd = 1.0 / np.sqrt(variance + epsilon)
        self._centered_hat *= self._rstd
        return self._affine(inputs * self._rstd if self.rms_scaling else self._centered_hat)

    def backward(self, grad_output):
        self._affine_gradients(grad_output)
        if not self.input_grad_needed:
            return None
        axes = self._normalized_axes
        grad_normalized = self._gamma_times(grad_output)
        correction = self._centered_hat * np.mean(grad_normalized * self._normalized, axis=axes, keepdims=True)
        if not self.rms_scaling:
            correction += np.mean(grad_normalized, axis=axes, keepdims=True)
        return self._rstd * (grad_normalized - correction)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            **self._affine_config(),
            **self._affine_penalties_config(),
        }

"""Weight regularizers: `reg(w) -> float` penalty added to the loss, `reg.gradient(w)` its exact gradient."""
import math

import numpy as np

from minikeras import backend
from minikeras.saving.serialization_lib import by_name, deserialize_object, get_object, serialize_keras_object


def validate_float_arg(value, name):
    """A finite non-negative number as float, else Keras's ValueError naming the argument."""
    if not isinstance(value, (float, int)) or math.isinf(value) or math.isnan(value) or value < 0:
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float.Received: {name}={value}"
        )
    return float(value)


def _float32(value):
    """Keras keeps some factors as float32 tensors: its configs and products then show float32's rounding."""
    return float(np.float32(value))


class Regularizer:
    """Base class: `__call__(w)` the penalty (a float), `gradient(w)` d penalty / dw (same shape as w)."""

    def __call__(self, x):
        return 0.0

    def gradient(self, x):
        return np.zeros_like(x)

    def get_config(self):
        raise NotImplementedError(f"{self} does not implement get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """penalty = l1 * sum|w| + l2 * sum w^2; gradient = l1 * sign(w) + 2 * l2 * w.

    Keras turns the factors into float32 tensors before casting them to the weights' dtype, so the
    factors used are float32-rounded in every dtype (0.3 acts as 0.30000001192 on float64 weights).
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, name="l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, name="l2")

    def __call__(self, x):
        x = np.asarray(x)
        penalty = x.dtype.type(0.0)
        if self.l1 != 0.0:
            penalty += x.dtype.type(_float32(self.l1)) * np.sum(np.abs(x))
        if self.l2 != 0.0:
            penalty += x.dtype.type(_float32(self.l2)) * np.sum(np.square(x))
        return float(penalty)

    def gradient(self, x):
        x = np.asarray(x)
        grad = np.zeros_like(x)
        if self.l1 != 0.0:
            grad += _float32(self.l1) * np.sign(x)
        if self.l2 != 0.0:
            grad += (2.0 * _float32(self.l2)) * x
        return grad

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """penalty = l1 * sum|w|; gradient = l1 * sign(w). Keras stores l1 as float32: its config shows 0.009999999776..."""

    def __init__(self, l1=0.01):
        super().__init__(l1=_float32(validate_float_arg(0.01 if l1 is None else l1, name="l1")))

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """penalty = l2 * sum w^2; gradient = 2 * l2 * w."""

    def __init__(self, l2=0.01):
        super().__init__(l2=0.01 if l2 is None else l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2D weight towards mutual orthogonality.

    With n_i the L2-normalised rows and P = N N^T: penalty = factor / 2 * sum_{i != j} |P_ij| / pairs,
    pairs = size (size - 1) / 2. Backward: dN = factor / pairs * S N with S = sign(P) off the diagonal,
    then through the normalisation: dw_i = (dn_i - n_i (n_i . dn_i)) / |w_i|.
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _float32(validate_float_arg(factor, name="factor"))
        if mode not in {"rows", "columns"}:
            raise ValueError(
                'Invalid value for argument `mode`. Expected one of {"rows", "columns"}. ' f"Received: mode={mode}"
            )
        self.mode = mode

    def _vectors(self, x):
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={x.shape}")
        return x if self.mode == "rows" else x.T

    @staticmethod
    def _inverse_norms(vectors):
        """1 / |v_i| per row, capped at 1 / epsilon as Keras's normalize does."""
        squares = np.sum(np.square(vectors), axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            return np.minimum(1.0 / np.sqrt(squares), 1.0 / backend.epsilon()).astype(vectors.dtype, copy=False)

    def _pairs(self, size):
        return size * (size - 1.0) / 2.0

    def __call__(self, x):
        vectors = self._vectors(x)
        normalized = vectors * self._inverse_norms(vectors)
        product = normalized @ normalized.T
        np.fill_diagonal(product, 0.0)
        return float(self.factor * 0.5 * np.sum(np.abs(product)) / self._pairs(vectors.shape[0]))

    def gradient(self, x):
        vectors = self._vectors(x)
        inverse_norms = self._inverse_norms(vectors)
        normalized = vectors * inverse_norms
        signs = np.sign(normalized @ normalized.T)
        np.fill_diagonal(signs, 0.0)
        grad_normalized = (self.factor / self._pairs(vectors.shape[0])) * (signs @ normalized)
        capped = inverse_norms >= 1.0 / backend.epsilon()
        radial = np.where(capped, 0.0, np.sum(normalized * grad_normalized, axis=1, keepdims=True))
        grad = (grad_normalized - normalized * radial) * inverse_norms
        return grad if self.mode == "rows" else grad.T

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1_l2 = L1L2
l1 = L1
l2 = L2
orthogonal_regularizer = OrthogonalRegularizer

_BY_NAME = by_name([Regularizer, L1, L2, L1L2, OrthogonalRegularizer])


def serialize(regularizer):
    return serialize_keras_object(regularizer, "keras.regularizers")


def deserialize(config, custom_objects=None):
    return deserialize_object(config, _BY_NAME, "regularizer", custom_objects)


def get(identifier):
    """A regularizer from 'l1', 'l2', 'l1l2' (Keras 3 has no 'l1_l2' string), a class name, config dict,
    class, instance or callable; None stays None."""
    return get_object(identifier, _BY_NAME, "regularizer")

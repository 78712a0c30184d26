"""Weight constraints: `c(w) -> array`, the projected weight the optimizer writes back after each update."""
import numpy as np

from minikeras import backend
from minikeras.utils.argument_validation import check_number
from minikeras.saving.serialization_lib import by_name, deserialize_object, get_object, serialize_keras_object


class Constraint:
    """Base class: the identity projection."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _NormConstraint(Constraint):
    """Rescales each slice along `axis` from its L2 norm to a desired norm: w * desired / (epsilon + norm)."""

    def __init__(self, axis=0):
        self.axis = axis

    def _norms(self, w):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis  # Keras configs may hold a list
        return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))

    def _desired(self, norms):
        raise NotImplementedError

    def __call__(self, w):
        w = np.asarray(w)
        norms = self._norms(w)
        return w * (self._desired(norms) / (backend.epsilon() + norms))


class MaxNorm(_NormConstraint):
    """Norms above `max_value` are scaled down to it: desired = clip(norm, 0, max_value)."""

    def __init__(self, max_value=2, axis=0):
        super().__init__(axis)
        check_number(max_value, "max_value", minimum=0)
        self.max_value = max_value

    def _desired(self, norms):
        return np.clip(norms, 0, self.max_value)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(_NormConstraint):
    """desired = rate * clip(norm, min_value, max_value) + (1 - rate) * norm."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        super().__init__(axis)
        check_number(min_value, "min_value", minimum=0)
        self.min_value = min_value
        check_number(max_value, "max_value", minimum=0)
        self.max_value = max_value
        if min_value > max_value:
            raise ValueError(f"`min_value` must not exceed `max_value`. Received: min_value={min_value}, "
                             f"max_value={max_value}")
        check_number(rate, "rate", minimum=0, maximum=1)
        self.rate = rate

    def _desired(self, norms):
        return self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class UnitNorm(_NormConstraint):
    """w / (epsilon + norm): unit L2 norm along `axis`."""

    def __call__(self, w):
        w = np.asarray(w)
        return w / (backend.epsilon() + self._norms(w))

    def get_config(self):
        return {"axis": self.axis}


class NonNeg(Constraint):
    """max(w, 0)."""

    def __call__(self, w):
        return np.maximum(w, 0.0)


max_norm = MaxNorm
min_max_norm = MinMaxNorm
unit_norm = UnitNorm
non_neg = NonNeg

_BY_NAME = by_name([Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm])


def serialize(constraint):
    return serialize_keras_object(constraint, "keras.constraints")


def deserialize(config, custom_objects=None):
    return deserialize_object(config, _BY_NAME, "constraint", custom_objects)


def get(identifier):
    """A constraint from a name ('max_norm', 'MaxNorm', ...), config dict, class, instance or callable;
    None stays None."""
    return get_object(identifier, _BY_NAME, "constraint")

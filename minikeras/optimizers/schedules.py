"""Learning-rate schedules: `schedule(step) -> learning rate`, evaluated at the optimizer's `iterations`.

Like Keras's TensorFlow backend, every schedule computes in float32 (the dtype Python floats
become as tensors), so the values match Keras's to the last bit where NumPy's float32 scalar
functions agree with TensorFlow's.
"""
import math

import numpy as np

from minikeras.saving.serialization_lib import serialize_keras_object

_FLOAT = np.float32


def _require_positive_decay_steps(decay_steps):
    if decay_steps <= 0:
        raise ValueError(f"Argument `decay_steps` must be > 0. Received: decay_steps={decay_steps}")


class LearningRateSchedule:
    """Base class: subclasses implement `__call__(step)` and `get_config()`."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{self.__class__.__name__}' must override `__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{self.__class__.__name__}' must override `get_config()`.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _StepDecay(LearningRateSchedule):
    """A decay driven by the progress p = step / decay_steps, floored to whole periods if `staircase`."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name
        _require_positive_decay_steps(decay_steps)

    def _progress(self, step):
        progress = _FLOAT(step) / _FLOAT(self.decay_steps)
        return np.floor(progress) if self.staircase else progress

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class ExponentialDecay(_StepDecay):
    """lr(step) = initial_learning_rate * decay_rate ** p, p = step / decay_steps.

    With `staircase=True` p is floored, so the rate drops every `decay_steps` steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return _FLOAT(self.initial_learning_rate) * _FLOAT(self.decay_rate) ** self._progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """lr(step) = values[i] for boundaries[i-1] < step <= boundaries[i] (values[0] up to the first boundary)."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, "
                f"and values={values} of length {len(values)}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        # The first boundary not below `step` selects the value; past the last one, the last value.
        index = next((i for i, boundary in enumerate(self.boundaries) if step <= boundary), len(self.boundaries))
        return _FLOAT(self.values[index])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(_StepDecay):
    """lr(step) = initial_learning_rate / (1 + decay_rate * p), p = step / decay_steps (floored if `staircase`)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return _FLOAT(self.initial_learning_rate) / (_FLOAT(1) + _FLOAT(self.decay_rate) * self._progress(step))


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup, then cosine decay to `alpha` times the peak rate.

    Warmup (only with `warmup_target`): lr = initial + (warmup_target - initial) * step / warmup_steps
    for step < warmup_steps. Decay over `decay_steps`: lr = peak * ((1 - alpha) * 0.5 * (1 + cos(pi * s /
    decay_steps)) + alpha), s = min(step - warmup_steps, decay_steps), peak = warmup_target or initial.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps
        _require_positive_decay_steps(decay_steps)

    def __call__(self, step):
        initial = _FLOAT(self.initial_learning_rate)
        decay_steps = _FLOAT(self.decay_steps)
        step = _FLOAT(step)
        if self.warmup_target is None:
            return self._decayed(min(step, decay_steps), decay_steps, initial)
        target = _FLOAT(self.warmup_target)
        warmup_steps = _FLOAT(self.warmup_steps)
        step = min(step, decay_steps + warmup_steps)
        if step < warmup_steps:
            return (target - initial) * (step / warmup_steps) + initial
        return self._decayed(step - warmup_steps, decay_steps, target)

    def _decayed(self, step, decay_steps, peak):
        cosine = _FLOAT(0.5) * (_FLOAT(1) + np.cos(_FLOAT(math.pi) * (step / decay_steps)))
        return peak * (_FLOAT(1 - self.alpha) * cosine + _FLOAT(self.alpha))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, InverseTimeDecay, CosineDecay)}


def serialize(learning_rate_schedule):
    """The schedule as Keras writes it: {'module', 'class_name', 'config', 'registered_name'}."""
    return serialize_keras_object(learning_rate_schedule, "keras.optimizers.schedules")


def deserialize(config, custom_objects=None):
    """Rebuild a schedule from `serialize`'s dict (`custom_objects` may name user schedules)."""
    known = {**_SCHEDULES, **(custom_objects or {})}
    class_name = config.get("class_name")
    if class_name not in known:
        raise ValueError(
            f"Could not interpret learning rate schedule identifier: {class_name}. "
            f"Expected one of {sorted(_SCHEDULES)} or a class given in `custom_objects`."
        )
    return known[class_name].from_config(dict(config.get("config", {})))

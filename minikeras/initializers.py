"""Weight initializers: `init(shape, dtype=None) -> ndarray`, Keras 3's classes, names and configs.

As in Keras 3, a random initializer returns the same values on every call: a seeded one draws
from its own seed, an unseeded one from a seed it takes from `backend.random_generator()` when
it is created (so `set_random_seed` makes it reproducible). Pass a fresh initializer (a string
name does that) to every weight that should get its own values.
"""
import math

import numpy as np

from minikeras import backend
from minikeras.utils.argument_validation import check_number
from minikeras.saving.serialization_lib import by_name, deserialize_object, get_object, serialize_keras_object

TRUNCATED_NORMAL_STDDEV_CORRECTION = 0.87962566103423978  # stddev of N(0, 1) truncated to [-2, 2]


def _float_dtype(dtype):
    return np.dtype(dtype or backend.floatx())


def compute_fans(shape, input_axes=None, output_axes=None):
    """(fan_in, fan_out) as Keras counts them.

    Rank 0: (1, 1); rank 1: (n, n); rank 2: (rows, cols); higher ranks are convolution kernels
    (..., in_channels, out_channels) and both fans are multiplied by the receptive field size.
    Explicit `input_axes`/`output_axes` multiply the sizes of those axes instead.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return int(np.prod([shape[a] for a in input_axes])), int(np.prod([shape[a] for a in output_axes]))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = int(np.prod(shape[:-2]))
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Base class: `__call__(shape, dtype=None)` returns a new ndarray of that shape and dtype."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError("Initializer subclasses must implement the `__call__()` method.")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return self.__class__.from_config(self.get_config())


class Constant(Initializer):
    """Every entry equals `value` (a scalar, or an array broadcast to the shape)."""

    def __init__(self, value=0.0):
        if isinstance(value, dict) and value.get("class_name") == "__numpy__":
            value = np.asarray(value["config"]["value"], dtype=value["config"]["dtype"])
        if not np.issubdtype(np.asarray(value).dtype, np.number):
            raise ValueError(f"Invalid value for argument `value`: expected a number or an array of numbers. "
                             f"Received: value={value!r}")
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.array(np.broadcast_to(np.asarray(self.value, dtype=_float_dtype(dtype)), tuple(shape)))

    def get_config(self):
        if isinstance(self.value, np.ndarray):
            array = {"value": self.value.tolist(), "dtype": str(self.value.dtype)}
            return {"value": {"class_name": "__numpy__", "config": array}}
        return {"value": self.value}


class Zeros(Constant):
    """Every entry is 0."""

    def __init__(self):
        super().__init__(0.0)

    def get_config(self):
        return {}


class Ones(Constant):
    """Every entry is 1."""

    def __init__(self):
        super().__init__(1.0)

    def get_config(self):
        return {}


class Identity(Initializer):
    """gain * I for a 2D shape (rectangular shapes get ones on the main diagonal).

    Its config is `{}` (Keras 3 does not write `gain`).
    """

    def __init__(self, gain=1.0):
        check_number(gain, "gain")
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) != 2:
            raise ValueError(
                "Identity matrix initializer can only be used for 2D matrices. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        return self.gain * np.eye(*shape, dtype=_float_dtype(dtype))


class RandomInitializer(Initializer):
    """Base of the random initializers: holds the seed and draws from a Generator made from it (negative
    seeds too, as Keras takes them)."""

    def __init__(self, seed=None):
        if seed is not None and not isinstance(seed, int):
            raise ValueError(
                "`seed` argument should be an instance of `keras.random.SeedGenerator()` or an integer. "
                f"Received: seed={seed}"
            )
        self._init_seed = seed
        self.seed = seed if seed is not None else int(backend.random_generator().integers(1, 10**9))

    def _generator(self):
        return backend.seeded_generator(self.seed)

    def get_config(self):
        return {"seed": self._init_seed}


def _truncated_standard_normal(rng, shape):
    """N(0, 1) samples with those beyond 2 standard deviations redrawn (as TensorFlow does)."""
    samples = np.array(rng.standard_normal(size=shape), ndmin=0)
    outside = np.abs(samples) > 2.0
    while outside.any():
        samples[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(samples) > 2.0
    return samples


class RandomNormal(RandomInitializer):
    """Samples from N(mean, stddev^2)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        check_number(mean, "mean")
        self.mean = mean
        check_number(stddev, "stddev", minimum=0)
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        samples = self._generator().normal(self.mean, self.stddev, size=tuple(shape))
        return np.asarray(samples, dtype=_float_dtype(dtype))

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomNormal):
    """Samples from N(mean, stddev^2), redrawing those more than 2 stddev away from the mean."""

    def __call__(self, shape, dtype=None):
        samples = self.mean + self.stddev * _truncated_standard_normal(self._generator(), tuple(shape))
        return np.asarray(samples, dtype=_float_dtype(dtype))


class RandomUniform(RandomInitializer):
    """Samples from U[minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        check_number(minval, "minval")
        self.minval = minval
        check_number(maxval, "maxval")
        self.maxval = maxval
        if minval > maxval:
            raise ValueError(f"`minval` must not exceed `maxval`. Received: minval={minval}, maxval={maxval}")
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        samples = self._generator().uniform(self.minval, self.maxval, size=tuple(shape))
        return np.asarray(samples, dtype=_float_dtype(dtype))

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class VarianceScaling(RandomInitializer):
    """Zero-mean samples of variance scale / n, n = fan_in, fan_out or their mean (`mode`).

    'truncated_normal': stddev sqrt(scale/n) / 0.8796... before truncation at 2 stddev (so the
    truncated samples have variance scale/n); 'untruncated_normal': stddev sqrt(scale/n);
    'uniform': U[-limit, limit] with limit = sqrt(3 scale / n).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if scale <= 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        allowed_modes = {"fan_in", "fan_out", "fan_avg"}
        if mode not in allowed_modes:
            raise ValueError(f"Invalid `mode` argument: {mode}. Please use one of {allowed_modes}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        allowed_distributions = {"uniform", "truncated_normal", "untruncated_normal"}
        if distribution not in allowed_distributions:
            raise ValueError(
                f"Invalid `distribution` argument: {distribution}.Please use one of {allowed_distributions}"
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed)

    def _variance(self, shape):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        units = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return self.scale / max(1.0, units)

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        variance = self._variance(shape)
        rng = self._generator()
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(variance) / TRUNCATED_NORMAL_STDDEV_CORRECTION
            samples = stddev * _truncated_standard_normal(rng, shape)
        elif self.distribution == "untruncated_normal":
            samples = rng.normal(0.0, math.sqrt(variance), size=shape)
        else:
            limit = math.sqrt(3.0 * variance)
            samples = rng.uniform(-limit, limit, size=shape)
        return np.asarray(samples, dtype=_float_dtype(dtype))

    def get_config(self):
        return {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class _NamedVarianceScaling(VarianceScaling):
    """A VarianceScaling whose scale, mode and distribution are fixed by the subclass (config: seed and axes)."""

    SCALE, MODE, DISTRIBUTION = 1.0, "fan_in", "truncated_normal"

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(self.SCALE, self.MODE, self.DISTRIBUTION, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self._init_seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_NamedVarianceScaling):
    """U[-limit, limit], limit = sqrt(6 / (fan_in + fan_out))."""

    SCALE, MODE, DISTRIBUTION = 1.0, "fan_avg", "uniform"


class GlorotNormal(_NamedVarianceScaling):
    """Truncated normal with variance 2 / (fan_in + fan_out)."""

    SCALE, MODE, DISTRIBUTION = 1.0, "fan_avg", "truncated_normal"


class HeUniform(_NamedVarianceScaling):
    """U[-limit, limit], limit = sqrt(6 / fan_in)."""

    SCALE, MODE, DISTRIBUTION = 2.0, "fan_in", "uniform"


class HeNormal(_NamedVarianceScaling):
    """Truncated normal with variance 2 / fan_in."""

    SCALE, MODE, DISTRIBUTION = 2.0, "fan_in", "truncated_normal"


class LecunUniform(_NamedVarianceScaling):
    """U[-limit, limit], limit = sqrt(3 / fan_in)."""

    SCALE, MODE, DISTRIBUTION = 1.0, "fan_in", "uniform"


class LecunNormal(_NamedVarianceScaling):
    """Truncated normal with variance 1 / fan_in."""

    SCALE, MODE, DISTRIBUTION = 1.0, "fan_in", "truncated_normal"


class Orthogonal(RandomInitializer):
    """gain * Q from the QR decomposition of a normal matrix, with Q's column signs fixed by diag(R).

    The shape is flattened to (prod(shape[:-1]), shape[-1]); the result has orthonormal columns,
    or orthonormal rows when there are fewer rows than columns.
    """

    def __init__(self, gain=1.0, seed=None):
        check_number(gain, "gain")
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(
                "The tensor to initialize must be at least two-dimensional. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        q, r = np.linalg.qr(self._generator().standard_normal((max(rows, cols), min(rows, cols))))
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return np.ascontiguousarray(self.gain * q.reshape(shape), dtype=_float_dtype(dtype))

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


constant = Constant
zeros = Zeros
ones = Ones
identity = IdentityInitializer = Identity
random_normal = RandomNormal
truncated_normal = TruncatedNormal
random_uniform = RandomUniform
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_uniform = HeUniform
he_normal = HeNormal
lecun_uniform = LecunUniform
lecun_normal = LecunNormal
orthogonal = OrthogonalInitializer = Orthogonal

_BY_NAME = by_name([Constant, Zeros, Ones, Identity, RandomNormal, TruncatedNormal, RandomUniform, VarianceScaling,
                    GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal])
_BY_NAME.update({"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal, "normal": RandomNormal,
                 "uniform": RandomUniform, "one": Ones, "zero": Zeros})


def serialize(initializer):
    return serialize_keras_object(initializer, "keras.initializers")


def deserialize(config, custom_objects=None):
    return deserialize_object(config, _BY_NAME, "initializer", custom_objects)


def _array_initializer(array):
    """An initializer that returns `array` (cast to the dtype asked for) for its own shape only."""

    def initialize(shape, dtype=None):
        if tuple(shape) != array.shape:
            raise ValueError(
                f"Expected `shape` to be {array.shape} for direct tensor as initializer. Received shape={shape}"
            )
        return np.array(array, dtype=_float_dtype(dtype))

    return initialize


def get(identifier):
    """An initializer from a name ('glorot_uniform', 'GlorotUniform', ...), config dict, class, instance,
    callable or array; None stays None."""
    if isinstance(identifier, (np.ndarray, np.generic)):
        return _array_initializer(np.asarray(identifier))
    return get_object(identifier, _BY_NAME, "initializer")

"""Global state shared by every part of minikeras: dtype, epsilon, the random generator, layer names.

Keras keeps these in `keras.config` / `keras.backend`; minikeras keeps them here so that
`clear_session()` and `set_random_seed()` have exactly one place to reset.
"""
import random
import re

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_name_counters = {}
_generator = None
_global_seed = None


def floatx():
    """The default float dtype name ('float32' unless changed with `set_floatx`)."""
    return _FLOATX


def set_floatx(value):
    global _FLOATX
    accepted = ("float16", "bfloat16", "float32", "float64")
    if value not in accepted:
        raise ValueError(f"Unknown `floatx` value: {value}. Expected one of {set(accepted)}")
    _FLOATX = str(value)


def epsilon():
    """The fuzz factor used in numeric expressions (1e-7, as in Keras)."""
    return _EPSILON


def set_epsilon(value):
    global _EPSILON
    _EPSILON = float(value)


def image_data_format():
    return "channels_last"


def random_generator():
    """The one NumPy Generator used by initializers, Dropout and shuffling when no own seed is given.

    Unseeded, it is made on first use (after import or `clear_session`) from a seed drawn from Python's
    `random`, as Keras draws its default seeds: `random.seed(s)` alone then repeats initial weights.
    """
    global _generator
    if _generator is None:
        _generator = np.random.default_rng(random.randint(1, 10 ** 9))
    return _generator


def seeded_generator(seed):
    """A Generator of its own for a layer's `seed`; negative seeds too, as Keras takes them."""
    return np.random.default_rng(int(seed) % 2 ** 64)


def global_seed():
    """The seed given to `set_random_seed`, or None."""
    return _global_seed


def seed_random(seed):
    """Re-seed Python's, NumPy's legacy and minikeras's generators (called by `utils.set_random_seed`)."""
    global _generator, _global_seed
    _global_seed = seed
    random.seed(seed)
    np.random.seed(seed)
    _generator = np.random.default_rng(seed)


def to_snake_case(name):
    """Keras's snake_case of a class name: 'Dense' -> 'dense', 'RMSprop' -> 'rm_sprop'."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_name(prefix):
    """'dense', then 'dense_1', 'dense_2', ... per prefix, until `clear_session()`."""
    count = _name_counters.get(prefix, 0)
    _name_counters[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


def clear_session(free_memory=True):
    """Reset the layer-name counters and the random generator, as `keras.backend.clear_session()` does."""
    global _generator
    _name_counters.clear()
    _generator = None


def cast_to_floatx(x):
    return np.asarray(x, dtype=floatx())

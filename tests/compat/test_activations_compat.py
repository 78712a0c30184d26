"""Activation values (float32), gradients (float64, against TensorFlow autodiff), names and errors
side by side with real Keras."""
import functools

import numpy as np
import pytest

from minikeras import activations

EXTREMES = [-1e4, -1e3, -100.0, -88.0, -30.0, -1e-3, -1e-6, -1e-8, 0.0, 1e-8, 1e-6, 1e-3, 30.0, 88.0, 100.0, 1e3, 1e4]

# Keras's float32 kernel subtracts nearly equal numbers here (exp(x) - 1, x - tanh(x), 1 + tanh(u) with
# tanh(u) near -1, (x - max) - log-sum): its result is only good to a few float32 ulps of the operands,
# so these are compared to within 4 ulps of max(|x|, 1) on top of rtol.
CANCELLING = {("elu", ()), ("elu", (("alpha", 0.5),)), ("selu", ()), ("tanh_shrink", ()),
              ("gelu", (("approximate", True),)), ("log_softmax", ())}

CASES = [(name, {}) for name in sorted(activations._BY_NAME) if name != "threshold"] + [
    ("threshold", {"threshold": 0.3, "default_value": -2.0}),
    ("relu", {"negative_slope": 0.1}),
    ("relu", {"max_value": 6.0}),
    ("relu", {"max_value": 3.5}),
    ("relu", {"threshold": 0.5}),
    ("relu", {"threshold": -0.5, "max_value": 2.0, "negative_slope": 0.3}),
    ("relu", {"threshold": 1.0, "negative_slope": 0.3}),
    ("gelu", {"approximate": True}),
    ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.0}),
    ("softmax", {"axis": 0}),
    ("log_softmax", {"axis": 0}),
    ("leaky_relu", {"negative_slope": 0.01}),
    ("squareplus", {"b": 1}),
    ("glu", {"axis": 0}),
]


def _inputs():
    x = np.concatenate([np.random.default_rng(0).normal(0.0, 3.0, 600), np.linspace(-20.0, 20.0, 401), EXTREMES])
    return x[: x.size // 4 * 4].astype(np.float32).reshape(-1, 4)


@pytest.mark.parametrize("name, options", CASES)
def test_values_match_keras(keras, name, options):
    x = _inputs()
    expected = np.asarray(getattr(keras.activations, name)(x, **options))
    actual = getattr(activations, name)(x, **options)
    assert actual.dtype == np.float32
    assert actual.shape == expected.shape
    atol = 0.0
    if (name, tuple(sorted(options.items()))) in CANCELLING:
        magnitude = np.maximum(np.abs(x), 1.0) if actual.shape == x.shape else 1.0
        atol = 4 * np.finfo(np.float32).eps * magnitude
    # TensorFlow flushes subnormal float32 intermediates to zero (silu(-88) = x * sigmoid(x) is -0 there,
    # -5.3e-37 here), hence an absolute floor far below anything a network could notice
    floor = 1e-30
    with np.errstate(invalid="ignore"):  # inf - inf where both overflow; equality covers those
        error = np.abs(actual.astype(np.float64) - expected)
    close = (actual == expected) | (error <= 1e-6 * np.abs(expected) + atol + floor)
    assert close.all(), f"{name}{options}: x={x[~close][:5]} keras={expected[~close][:5]} minikeras={actual[~close][:5]}"


def test_every_keras_activation_name_resolves_the_same(keras):
    for name in activations._BY_NAME:
        assert activations.get(name).__name__ == keras.activations.get(name).__name__


@pytest.mark.parametrize("name", ["relu", "swish", "hard_swish", "softmax", "gelu", "linear"])
def test_serialize_matches_keras(keras, name):
    assert activations.serialize(activations.get(name)) == keras.activations.serialize(keras.activations.get(name))


def test_dense_none_activation_serializes_like_keras(keras):
    assert activations.serialize(None) == keras.layers.Dense(2, activation=None).get_config()["activation"]


@pytest.mark.parametrize("identifier", ["foo", "Relu", 3])
def test_unknown_identifier_error_matches_keras(keras, identifier):
    with pytest.raises(ValueError) as expected:
        keras.activations.get(identifier)
    with pytest.raises(ValueError) as actual:
        activations.get(identifier)
    assert str(actual.value) == str(expected.value)


@pytest.mark.parametrize("name, options", CASES)
def test_gradients_match_tensorflow_autodiff(keras, name, options):
    tf = pytest.importorskip("tensorflow")
    x = np.random.default_rng(2).normal(0.0, 2.5, size=(8, 6))  # float64 draws never land exactly on a kink
    fn = functools.partial(getattr(activations, name), **options)
    grad_y = np.random.default_rng(3).normal(size=fn(x).shape)
    tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        weighted = tf.reduce_sum(getattr(keras.activations, name)(tensor, **options) * grad_y)
    expected = tape.gradient(weighted, tensor).numpy()
    np.testing.assert_allclose(activations.gradient(fn)(x, fn(x), grad_y), expected, rtol=1e-6, atol=1e-12)

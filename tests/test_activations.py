"""Activations: exact derivatives (finite differences in float64), dtype, stability, get/serialize."""
import functools

import numpy as np
import pytest

from minikeras import activations
from tests.conftest import numerical_gradient

# (name, options, kinks): inputs are kept at least 0.05 away from every kink
GRADIENT_CASES = [
    ("relu", {}, [0.0]),
    ("relu", {"negative_slope": 0.1}, [0.0]),
    ("relu", {"max_value": 1.5}, [0.0, 1.5]),
    ("relu", {"max_value": 6.0}, [0.0, 6.0]),
    ("relu", {"threshold": 0.5}, [0.5]),
    ("relu", {"threshold": 0.5, "negative_slope": 0.3, "max_value": 1.8}, [0.5, 1.8]),
    ("relu", {"threshold": -0.7, "max_value": 1.2}, [-0.7, 0.0, 1.2]),
    ("relu", {"threshold": -0.7, "negative_slope": 0.2}, [-0.7]),
    ("relu6", {}, [0.0, 6.0]),
    ("leaky_relu", {}, [0.0]),
    ("leaky_relu", {"negative_slope": 0.01}, [0.0]),
    ("elu", {}, [0.0]),
    ("elu", {"alpha": 0.4}, [0.0]),
    ("selu", {}, [0.0]),
    ("gelu", {}, []),
    ("gelu", {"approximate": True}, []),
    ("sigmoid", {}, []),
    ("hard_sigmoid", {}, [-3.0, 3.0]),
    ("hard_silu", {}, [-3.0, 3.0]),
    ("silu", {}, []),
    ("softplus", {}, []),
    ("softsign", {}, [0.0]),
    ("tanh", {}, []),
    ("exponential", {}, []),
    ("linear", {}, []),
    ("mish", {}, []),
    ("celu", {}, [0.0]),
    ("celu", {"alpha": 2.5}, [0.0]),
    ("log_sigmoid", {}, []),
    ("hard_tanh", {}, [-1.0, 1.0]),
    ("tanh_shrink", {}, []),
    ("soft_shrink", {}, [-0.5, 0.5]),
    ("soft_shrink", {"threshold": 1.0}, [-1.0, 1.0]),
    ("hard_shrink", {}, [-0.5, 0.5]),
    ("sparse_plus", {}, [-1.0, 1.0]),
    ("sparse_sigmoid", {}, [-1.0, 1.0]),
    ("squareplus", {}, []),
    ("squareplus", {"b": 0.5}, []),
    ("threshold", {"threshold": 0.2, "default_value": -1.5}, [0.2]),
]

AXIS_CASES = [
    ("softmax", {}),
    ("softmax", {"axis": 0}),
    ("softmax", {"axis": 1}),
    ("softmax", {"axis": None}),
    ("log_softmax", {}),
    ("log_softmax", {"axis": 0}),
    ("glu", {}),
    ("glu", {"axis": 0}),
]


def _inputs_away_from(kinks, shape, seed=0):
    x = np.random.default_rng(seed).normal(0.0, 2.5, size=shape)
    for kink in kinks:
        near = np.abs(x - kink) < 0.05
        x[near] = kink + np.where(x[near] >= kink, 0.1, -0.1)
    return x


def _check_gradient(name, options, x):
    fn = functools.partial(getattr(activations, name), **options)
    grad_y = np.random.default_rng(1).normal(size=fn(x).shape)
    analytic = activations.gradient(fn)(x, fn(x), grad_y)
    numeric = numerical_gradient(lambda v: np.sum(fn(v) * grad_y), x)
    assert analytic.shape == x.shape
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name, options, kinks", GRADIENT_CASES)
def test_gradient_matches_finite_differences(name, options, kinks):
    _check_gradient(name, options, _inputs_away_from(kinks, (6, 7)))


@pytest.mark.parametrize("name, options", AXIS_CASES)
def test_axis_gradient_matches_finite_differences(name, options):
    x = np.random.default_rng(3).normal(0.0, 1.0, size=(4, 6))
    _check_gradient(name, options, x)


def test_default_options_reach_the_derivative():
    x = np.array([-2.0, 2.0])
    grad = activations.gradient("leaky_relu")(x, activations.leaky_relu(x), np.ones(2))
    np.testing.assert_array_equal(grad, [0.2, 1.0])


def test_nested_partial_options_are_merged():
    capped = functools.partial(functools.partial(activations.relu, negative_slope=0.5), max_value=1.0)
    x = np.array([-1.0, 0.5, 3.0])
    grad = activations.gradient(capped)(x, capped(x), np.ones(3))
    np.testing.assert_array_equal(grad, [0.5, 1.0, 0.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(activations._BY_NAME))
def test_dtype_is_kept(name, dtype):
    fn = activations.get(name)
    if name == "threshold":
        fn = functools.partial(fn, threshold=0.0, default_value=0.0)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(dtype)
    y = fn(x)
    assert y.dtype == np.dtype(dtype)
    grad = activations.gradient(fn)(x, y, np.ones_like(y))
    assert grad.dtype == np.dtype(dtype)


def test_integer_input_becomes_floatx():
    assert activations.relu([1, -2]).dtype == np.float32


def test_large_inputs_are_stable():
    x = np.array([-1e4, -80.0, 0.0, 80.0, 1e4], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(activations.sigmoid(x), [0.0, 1.8048514e-35, 0.5, 1.0, 1.0], rtol=1e-6)
        np.testing.assert_allclose(activations.softplus(x), [0.0, 1.8048514e-35, np.log(2.0), 80.0, 1e4], rtol=1e-6)
        np.testing.assert_allclose(activations.softmax(x), [0.0, 0.0, 0.0, 0.0, 1.0])
        np.testing.assert_allclose(activations.log_softmax(x)[-1], 0.0)
        assert np.all(np.isfinite(activations.silu(x)))
        assert np.all(np.isfinite(activations.mish(x)))
        assert np.all(np.isfinite(activations.gelu(x)))


def test_gelu_exact_keeps_tiny_negative_tail():
    # 0.5 * x * erfc(-x / sqrt 2) at x = -10: Phi(-10) = 7.6198530241605e-24
    np.testing.assert_allclose(activations.gelu(np.array([-10.0])), [-7.6198530241605e-23], rtol=1e-10)


def test_erfc_is_accurate_across_its_branches():
    import math

    z = np.array([-6.0, -2.0001, -1.9999, -0.3, 0.0, 0.7, 1.9999, 2.0001, 5.0, 27.0])
    expected = np.array([math.erfc(v) for v in z])
    np.testing.assert_allclose(activations._erfc(z), expected, rtol=1e-12)


def test_softmax_over_size_one_axis_warns():
    with pytest.warns(UserWarning, match="This axis has size 1"):
        activations.softmax(np.ones((2, 1)))


def test_glu_rejects_odd_axis():
    with pytest.raises(ValueError, match=r"axis size must be divisible by 2. Received: x.shape=\(2, 3\) with axis=-1"):
        activations.glu(np.ones((2, 3)))


@pytest.mark.parametrize(
    "identifier, expected",
    [
        (None, activations.linear),
        ("relu", activations.relu),
        ("swish", activations.silu),
        ("hard_swish", activations.hard_silu),
        (activations.tanh, activations.tanh),
        ({"module": "keras.activations", "class_name": "function", "config": "softmax", "registered_name": None},
         activations.softmax),
    ],
)
def test_get(identifier, expected):
    assert activations.get(identifier) is expected


@pytest.mark.parametrize("identifier", ["Relu", "foo", 3])
def test_get_unknown_raises_keras_message(identifier):
    with pytest.raises(ValueError, match=f"^Could not interpret activation function identifier: {identifier}$"):
        activations.get(identifier)


@pytest.mark.parametrize(
    "fn, name",
    [(activations.relu, "relu"), (activations.swish, "silu"), (activations.hard_swish, "hard_silu"),
     (None, "linear"), (activations.linear, "linear")],
)
def test_serialize_round_trips(fn, name):
    assert activations.serialize(fn) == name
    assert activations.deserialize(name) is activations.get(fn)


def test_serialize_unknown_function_as_keras_does():
    def my_activation(x):
        return x

    assert activations.serialize(my_activation) == {
        "module": "builtins", "class_name": "function", "config": "my_activation", "registered_name": "function",
    }


def test_deserialize_custom_objects_and_unknown():
    def my_activation(x):
        return x

    assert activations.deserialize("my_activation", custom_objects={"my_activation": my_activation}) is my_activation
    with pytest.raises(ValueError, match="Could not interpret activation function identifier: nope"):
        activations.deserialize("nope")


def test_gradient_of_unknown_callable_names_it():
    def my_activation(x):
        return x * 2

    with pytest.raises(TypeError, match="'my_activation'.*needs the exact derivative"):
        activations.gradient(my_activation)


def test_gradient_of_none_is_identity():
    grad_y = np.array([1.0, -2.0])
    np.testing.assert_array_equal(activations.gradient(None)(grad_y, grad_y, grad_y), grad_y)


@pytest.mark.parametrize("threshold", [0.0, 0.5, -0.7])
@pytest.mark.parametrize("x_dtype, grad_dtype", [("float32", "float32"), ("float32", "float64"),
                                                 ("float64", "float32")])
def test_plain_relu_derivative_is_grad_times_the_passed_mask(threshold, x_dtype, grad_dtype):
    """The plain relu's fast derivative: exactly grad * (x > threshold), in the same dtype (NaN and inf
    included), broadcasting as the product does, and grad left unchanged."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 5, 4)).astype(x_dtype)
    x[0, 0, :2] = threshold
    grad = rng.normal(size=(3, 5, 4)).astype(grad_dtype)
    grad[1, 1, :3] = [np.nan, np.inf, -np.inf]
    x[1, 1, :3] = [threshold + 1, threshold - 1, threshold + 1]
    relu = functools.partial(activations.relu, threshold=threshold)
    kept = grad.copy()
    with np.errstate(invalid="ignore"):  # inf * 0, as in the product
        result = activations.gradient(relu)(x, relu(x), grad)
        expected = grad * (x > threshold)
        broadcast = activations.gradient(relu)(x, relu(x), grad[:1])
        expected_broadcast = grad[:1] * (x > threshold)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(grad, kept)
    np.testing.assert_array_equal(broadcast, expected_broadcast)

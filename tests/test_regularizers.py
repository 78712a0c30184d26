"""Regularizers (values, finite-difference gradients, configs) and constraints (projections, configs)."""
import numpy as np
import pytest

from minikeras import constraints, regularizers
from tests.conftest import numerical_gradient


def _weights(shape=(5, 4), seed=0):
    w = np.random.default_rng(seed).normal(size=shape)
    w[np.abs(w) < 0.05] += 0.1  # keep |w| away from L1's kink at 0
    return w


REGULARIZERS = [
    regularizers.L1(),
    regularizers.L2(),
    regularizers.L1L2(l1=0.1, l2=0.3),
    regularizers.L1L2(l2=0.2),
    regularizers.OrthogonalRegularizer(),
    regularizers.OrthogonalRegularizer(factor=0.3, mode="columns"),
]


@pytest.mark.parametrize("regularizer", REGULARIZERS, ids=lambda r: f"{type(r).__name__}{r.get_config()}")
def test_gradient_matches_finite_differences(regularizer):
    w = _weights()
    np.testing.assert_allclose(regularizer.gradient(w), numerical_gradient(regularizer, w), rtol=1e-6, atol=1e-10)


def test_orthogonal_gradient_of_a_zero_row():
    w = _weights()
    w[2] = 0.0
    regularizer = regularizers.OrthogonalRegularizer()
    np.testing.assert_allclose(regularizer.gradient(w), numerical_gradient(regularizer, w, eps=1e-9), rtol=1e-5, atol=1e-9)


def test_values():
    w = np.array([[1.0, -2.0], [3.0, 0.5]])
    assert regularizers.L1()(w) == pytest.approx(0.009999999776482582 * 6.5, rel=1e-12)
    assert regularizers.L2()(w) == pytest.approx(float(np.float32(0.01)) * 14.25, rel=1e-12)
    assert regularizers.L1L2(0.1, 0.2)(w) == pytest.approx(float(np.float32(0.1)) * 6.5 + float(np.float32(0.2)) * 14.25, rel=1e-12)
    assert regularizers.L1L2()(w) == 0.0
    rows = w / np.linalg.norm(w, axis=1, keepdims=True)
    assert regularizers.OrthogonalRegularizer(factor=0.5)(w) == pytest.approx(0.5 * abs(rows[0] @ rows[1]), rel=1e-6)


def test_penalty_is_a_python_float_and_gradient_keeps_dtype():
    w = _weights().astype(np.float32)
    for regularizer in REGULARIZERS:
        assert type(regularizer(w)) is float
        assert regularizer.gradient(w).dtype == np.float32


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: regularizers.L1(-1), "Invalid value for argument l1: expected a non-negative float.Received: l1=-1"),
        (lambda: regularizers.L2("a"), "Invalid value for argument l2: expected a non-negative float.Received: l2=a"),
        (lambda: regularizers.L1L2(l1=float("nan")), "Invalid value for argument l1: expected a non-negative float.Received: l1=nan"),
        (lambda: regularizers.OrthogonalRegularizer(mode="x"),
         'Invalid value for argument `mode`. Expected one of {"rows", "columns"}. Received: mode=x'),
        (lambda: regularizers.OrthogonalRegularizer()(np.ones((2, 2, 2))),
         "Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape=(2, 2, 2)"),
        (lambda: regularizers.get("l1_l2"), "Could not interpret regularizer identifier: l1_l2"),
        (lambda: constraints.get("maxnorm"), "Could not interpret constraint identifier: maxnorm"),
    ],
)
def test_errors(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message


def test_get_and_configs():
    assert type(regularizers.get("l1")) is regularizers.L1
    assert type(regularizers.get("l1l2")) is regularizers.L1L2
    assert type(regularizers.get("L2")) is regularizers.L2
    assert regularizers.get(None) is None
    assert regularizers.get({"class_name": "L2", "config": {"l2": 0.5}}).l2 == 0.5
    assert regularizers.L1().get_config() == {"l1": 0.009999999776482582}
    assert regularizers.L1L2(l1=None).get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.serialize(regularizers.L2()) == {
        "module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}, "registered_name": None}
    restored = regularizers.deserialize(regularizers.serialize(regularizers.OrthogonalRegularizer(0.2, "columns")))
    assert restored.get_config() == regularizers.OrthogonalRegularizer(0.2, "columns").get_config()


def test_max_norm_caps_each_column():
    w = np.array([[3.0, 0.3], [4.0, 0.4]])
    projected = constraints.MaxNorm(max_value=2)(w)
    np.testing.assert_allclose(projected[:, 0], np.array([3.0, 4.0]) * (2 / (5 + 1e-7)))
    np.testing.assert_allclose(projected[:, 1], np.array([0.3, 0.4]) * (0.5 / (0.5 + 1e-7)))


def test_unit_and_min_max_norm():
    w = _weights((4, 6))
    np.testing.assert_allclose(np.linalg.norm(constraints.UnitNorm(axis=1)(w), axis=1), 1.0, rtol=1e-6)
    norms = np.linalg.norm(constraints.MinMaxNorm(min_value=0.5, max_value=0.8)(w), axis=0)
    assert np.all((norms > 0.5 - 1e-6) & (norms < 0.8 + 1e-6))
    half_way = constraints.MinMaxNorm(min_value=0.0, max_value=1.0, rate=0.5)(w * 10)
    expected = 0.5 * 1.0 + 0.5 * np.linalg.norm(w * 10, axis=0)
    np.testing.assert_allclose(np.linalg.norm(half_way, axis=0), expected, rtol=1e-6)


def test_non_neg_and_dtype():
    w = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
    np.testing.assert_array_equal(constraints.NonNeg()(w), [0.0, 0.0, 2.0])
    for constraint in [constraints.NonNeg(), constraints.MaxNorm(), constraints.UnitNorm(), constraints.MinMaxNorm()]:
        assert constraint(w).dtype == np.float32


def test_constraint_get_and_serialize():
    for name, cls in [("max_norm", constraints.MaxNorm), ("MaxNorm", constraints.MaxNorm), ("non_neg", constraints.NonNeg),
                      ("unit_norm", constraints.UnitNorm), ("min_max_norm", constraints.MinMaxNorm)]:
        assert type(constraints.get(name)) is cls
    assert constraints.get(None) is None
    assert constraints.serialize(None) is None and regularizers.serialize(None) is None
    assert constraints.serialize(constraints.MaxNorm()) == {
        "module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0},
        "registered_name": None}
    restored = constraints.deserialize({"class_name": "MinMaxNorm", "config": {"min_value": 0.1, "rate": 0.5}})
    assert restored.get_config() == {"min_value": 0.1, "max_value": 1.0, "rate": 0.5, "axis": 0}

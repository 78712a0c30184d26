"""Initializers: fans, distributions (bounds, mean, std), determinism, dtypes, configs and errors."""
import math

import numpy as np
import pytest

from minikeras import backend, initializers


@pytest.mark.parametrize(
    "shape, fans",
    [((), (1, 1)), ((7,), (7, 7)), ((3, 5), (3, 5)), ((3, 3, 4, 8), (36, 72)), ((2, 3, 4, 5, 6), (120, 144))],
)
def test_compute_fans(shape, fans):
    assert initializers.compute_fans(shape) == fans


def test_compute_fans_with_explicit_axes():
    assert initializers.compute_fans((4, 5, 6), input_axes=[0, 1], output_axes=[2]) == (20, 6)


# (initializer, shape, expected stddev, bound or None)
def _variance_cases():
    shape = (3, 3, 40, 60)  # conv kernel: fan_in 360, fan_out 540
    fan_in, fan_out = 360, 540
    fan_avg = (fan_in + fan_out) / 2
    return [
        (initializers.GlorotUniform(), shape, math.sqrt(1 / fan_avg), math.sqrt(3 / fan_avg)),
        (initializers.GlorotNormal(), shape, math.sqrt(1 / fan_avg), 2 * math.sqrt(1 / fan_avg) / 0.87962566103423978),
        (initializers.HeUniform(), shape, math.sqrt(2 / fan_in), math.sqrt(6 / fan_in)),
        (initializers.HeNormal(), shape, math.sqrt(2 / fan_in), 2 * math.sqrt(2 / fan_in) / 0.87962566103423978),
        (initializers.LecunUniform(), shape, math.sqrt(1 / fan_in), math.sqrt(3 / fan_in)),
        (initializers.LecunNormal(), shape, math.sqrt(1 / fan_in), 2 * math.sqrt(1 / fan_in) / 0.87962566103423978),
        (initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal"), shape, math.sqrt(2 / fan_out), None),
        (initializers.VarianceScaling(0.5, "fan_avg", "uniform"), (200, 300), math.sqrt(0.5 / 250), math.sqrt(1.5 / 250)),
        (initializers.VarianceScaling(3.0, "fan_in", "normal"), (50000,), math.sqrt(3 / 50000),
         2 * math.sqrt(3 / 50000) / 0.87962566103423978),
        (initializers.RandomNormal(), (300, 300), 0.05, None),
        (initializers.RandomUniform(), (300, 300), 0.1 / math.sqrt(12), 0.05),
        (initializers.TruncatedNormal(), (300, 300), 0.05 * 0.87962566103423978, 0.1),
    ]


@pytest.mark.parametrize("initializer, shape, stddev, bound", _variance_cases())
def test_random_distributions(initializer, shape, stddev, bound):
    values = initializer(shape)
    assert values.shape == shape and values.dtype == np.float32
    n = values.size
    assert abs(values.mean()) < 5 * stddev / math.sqrt(n)
    assert abs(values.std() / stddev - 1) < 5 * math.sqrt(2 / n) + 1e-3
    if bound is not None:
        assert np.abs(values).max() <= bound * (1 + 1e-6)
        assert np.abs(values).max() > 0.97 * bound


def test_truncated_normal_shifts_by_mean():
    values = initializers.TruncatedNormal(mean=3.0, stddev=0.5)((400, 400))
    assert values.min() >= 2.0 and values.max() <= 4.0
    assert abs(values.mean() - 3.0) < 0.01


def test_unseeded_initializer_repeats_its_values_like_keras():
    init = initializers.GlorotUniform()
    np.testing.assert_array_equal(init((4, 4)), init((4, 4)))
    assert not np.array_equal(init((4, 4)), initializers.GlorotUniform()((4, 4)))


def test_a_negative_seed_is_a_seed_of_its_own_as_in_keras():
    np.testing.assert_array_equal(initializers.GlorotUniform(seed=-3)((4, 4)), initializers.GlorotUniform(seed=-3)((4, 4)))
    assert not np.array_equal(initializers.GlorotUniform(seed=-3)((4, 4)), initializers.GlorotUniform(seed=3)((4, 4)))


def test_seeded_initializers_agree_and_global_seed_reproduces():
    np.testing.assert_array_equal(initializers.HeNormal(seed=7)((5, 5)), initializers.HeNormal(seed=7)((5, 5)))
    backend.seed_random(11)
    first = initializers.RandomNormal()((3,))
    backend.seed_random(11)
    np.testing.assert_array_equal(initializers.RandomNormal()((3,)), first)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype(dtype):
    for init in [initializers.GlorotUniform(), initializers.Zeros(), initializers.Orthogonal(), initializers.Identity()]:
        assert init((3, 3), dtype=dtype).dtype == np.dtype(dtype)


def test_floatx_is_the_default_dtype():
    backend.set_floatx("float64")
    try:
        assert initializers.Ones()((2,)).dtype == np.float64
    finally:
        backend.set_floatx("float32")


def test_deterministic_initializers():
    np.testing.assert_array_equal(initializers.Zeros()((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(initializers.Ones()((2, 3)), np.ones((2, 3)))
    np.testing.assert_array_equal(initializers.Constant(2.5)((2, 2)), np.full((2, 2), 2.5))
    np.testing.assert_array_equal(initializers.Constant(np.array([1.0, 2.0]))((3, 2)), [[1, 2]] * 3)
    np.testing.assert_array_equal(initializers.Identity(gain=3.0)((2, 3)), [[3, 0, 0], [0, 3, 0]])


@pytest.mark.parametrize("shape", [(6, 6), (10, 4), (4, 10), (3, 3, 4, 5)])
def test_orthogonal_has_orthonormal_rows_or_columns(shape):
    values = initializers.Orthogonal(gain=2.0)(shape, dtype="float64")
    matrix = values.reshape(-1, shape[-1])
    gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-12)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: initializers.VarianceScaling(scale=0), "Argument `scale` must be positive float. Received: scale=0"),
        (lambda: initializers.VarianceScaling(mode="foo"), "Invalid `mode` argument: foo. Please use one of"),
        (lambda: initializers.VarianceScaling(distribution="foo"), "Invalid `distribution` argument: foo.Please use one of"),
        (lambda: initializers.RandomNormal(seed="a"), "`seed` argument should be an instance of `keras.random.SeedGenerator()` or an integer. Received: seed=a"),
        (lambda: initializers.Identity()((2, 2, 2)), "Identity matrix initializer can only be used for 2D matrices. Received: shape=(2, 2, 2) of rank 3."),
        (lambda: initializers.Orthogonal()((3,)), "The tensor to initialize must be at least two-dimensional. Received: shape=(3,) of rank 1."),
        (lambda: initializers.get("foo"), "Could not interpret initializer identifier: foo"),
        (lambda: initializers.get(np.ones((2, 2)))((3, 3)), "Expected `shape` to be (2, 2) for direct tensor as initializer. Received shape=(3, 3)"),
    ],
)
def test_errors(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(
    "identifier, cls",
    [("glorot_uniform", initializers.GlorotUniform), ("GlorotUniform", initializers.GlorotUniform),
     ("he_normal", initializers.HeNormal), ("normal", initializers.RandomNormal), ("uniform", initializers.RandomUniform),
     ("zero", initializers.Zeros), ("one", initializers.Ones), ("orthogonal", initializers.Orthogonal),
     ("IdentityInitializer", initializers.Identity), (initializers.LecunUniform, initializers.LecunUniform),
     ({"class_name": "RandomNormal", "config": {"stddev": 2.0}}, initializers.RandomNormal)],
)
def test_get(identifier, cls):
    assert type(initializers.get(identifier)) is cls


def test_get_none_array_and_callable():
    assert initializers.get(None) is None
    np.testing.assert_array_equal(initializers.get(np.eye(2))((2, 2)), np.eye(2))
    init = initializers.Ones()
    assert initializers.get(init) is init


def test_serialize_and_round_trip():
    config = initializers.serialize(initializers.GlorotUniform(seed=3))
    assert config == {"module": "keras.initializers", "class_name": "GlorotUniform",
                      "config": {"seed": 3, "input_axes": None, "output_axes": None}, "registered_name": None}
    restored = initializers.deserialize(config)
    np.testing.assert_array_equal(restored((3, 3)), initializers.GlorotUniform(seed=3)((3, 3)))
    constant = initializers.deserialize(initializers.serialize(initializers.Constant(np.array([1.0, 2.0]))))
    np.testing.assert_array_equal(constant((2,)), [1.0, 2.0])
    assert initializers.serialize(initializers.Zeros())["config"] == {}
    assert initializers.RandomUniform(seed=1).clone().get_config() == {"seed": 1, "minval": -0.05, "maxval": 0.05}

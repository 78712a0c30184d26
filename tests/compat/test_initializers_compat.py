"""Initializers side by side with real Keras: distributions statistically, deterministic ones exactly,
configs and error texts. The weight-setup siblings, regularizers and constraints, are compared here too.
"""
import ast
import math

import numpy as np
import pytest

from minikeras import constraints, initializers, regularizers

DENSE, CONV, VECTOR = (300, 200), (3, 3, 64, 96), (40000,)

RANDOM_CASES = [
    ("GlorotUniform", {}, [DENSE, CONV]),
    ("GlorotNormal", {}, [DENSE, CONV]),
    ("HeUniform", {}, [DENSE, CONV]),
    ("HeNormal", {}, [DENSE, CONV]),
    ("LecunUniform", {}, [DENSE, CONV]),
    ("LecunNormal", {}, [DENSE, CONV]),
    ("RandomNormal", {}, [DENSE]),
    ("RandomNormal", {"mean": 1.0, "stddev": 2.0}, [DENSE]),
    ("RandomUniform", {}, [DENSE]),
    ("RandomUniform", {"minval": 0.0, "maxval": 3.0}, [DENSE]),
    ("TruncatedNormal", {}, [DENSE]),
    ("TruncatedNormal", {"mean": -1.0, "stddev": 0.3}, [DENSE]),
    ("Orthogonal", {}, [DENSE, (100, 300)]),
    ("Orthogonal", {"gain": 2.5}, [CONV]),
] + [
    ("VarianceScaling", {"scale": scale, "mode": mode, "distribution": distribution}, [DENSE, CONV, VECTOR])
    for scale, mode, distribution in [
        (1.0, "fan_in", "truncated_normal"), (2.0, "fan_out", "truncated_normal"), (0.5, "fan_avg", "truncated_normal"),
        (1.0, "fan_in", "untruncated_normal"), (3.0, "fan_out", "untruncated_normal"), (1.0, "fan_avg", "normal"),
        (1.0, "fan_in", "uniform"), (2.0, "fan_out", "uniform"), (0.7, "fan_avg", "uniform"),
    ]
]


@pytest.mark.parametrize("class_name, options, shapes", RANDOM_CASES)
def test_random_initializer_statistics_match_keras(keras, class_name, options, shapes):
    bounded = class_name not in ("RandomNormal", "Orthogonal") and options.get("distribution") != "untruncated_normal"
    for shape in shapes:
        expected = np.asarray(getattr(keras.initializers, class_name)(**options)(shape))
        actual = getattr(initializers, class_name)(**options)(shape)
        assert actual.shape == expected.shape and actual.dtype == expected.dtype == np.float32
        n = actual.size
        spread = expected.std()
        assert abs(actual.mean() - expected.mean()) < 5 * spread * math.sqrt(2 / n)
        assert abs(actual.std() / spread - 1) < 5 * math.sqrt(1 / n)
        if bounded:  # uniform and truncated draws reach nearly to their bounds; both must stop at the same place
            assert abs((actual.max() - actual.min()) / (expected.max() - expected.min()) - 1) < 0.03


def test_truncation_bound_matches_keras(keras):
    expected = np.asarray(keras.initializers.VarianceScaling(scale=2.0)(CONV))
    actual = initializers.VarianceScaling(scale=2.0)(CONV)
    bound = 2 * math.sqrt(2.0 / (9 * 64)) / 0.87962566103423978
    for values in (expected, actual):
        assert bound * 0.99 < np.abs(values).max() <= bound * (1 + 1e-6)


def test_seeded_and_unseeded_repeat_like_keras(keras):
    for seed in (None, 5):
        keras_init, init = keras.initializers.HeUniform(seed=seed), initializers.HeUniform(seed=seed)
        keras_repeats = np.array_equal(np.asarray(keras_init((4, 4))), np.asarray(keras_init((4, 4))))
        assert np.array_equal(init((4, 4)), init((4, 4))) == keras_repeats


@pytest.mark.parametrize(
    "class_name, options, shape",
    [("Zeros", {}, (3, 4)), ("Ones", {}, (2, 5)), ("Constant", {"value": -1.5}, (3, 3)),
     ("Constant", {"value": np.array([1.0, 2.0, 3.0])}, (2, 3)), ("Identity", {}, (4, 4)),
     ("Identity", {"gain": 2.0}, (3, 5)), ("Identity", {}, (5, 2))],
)
@pytest.mark.parametrize("dtype", [None, "float64"])
def test_deterministic_initializers_equal_keras(keras, class_name, options, shape, dtype):
    expected = np.asarray(getattr(keras.initializers, class_name)(**options)(shape, dtype=dtype))
    actual = getattr(initializers, class_name)(**options)(shape, dtype=dtype)
    assert actual.dtype == expected.dtype
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize(
    "class_name, options",
    [("GlorotUniform", {}), ("GlorotUniform", {"seed": 3}), ("HeNormal", {"input_axes": [0], "output_axes": [1]}),
     ("RandomNormal", {"stddev": 2.0}), ("RandomUniform", {}), ("TruncatedNormal", {"seed": 1}),
     ("VarianceScaling", {"distribution": "normal"}), ("VarianceScaling", {"scale": 2.0, "mode": "fan_avg"}),
     ("Orthogonal", {"gain": 0.5}), ("Zeros", {}), ("Ones", {}), ("Constant", {"value": 2.0}),
     ("Constant", {"value": np.array([1.0, 2.0])}), ("Identity", {"gain": 2.0})],
)
def test_serialized_config_equals_keras(keras, class_name, options):
    expected = keras.initializers.serialize(getattr(keras.initializers, class_name)(**options))
    assert initializers.serialize(getattr(initializers, class_name)(**options)) == expected


def test_every_keras_name_resolves_to_the_same_class(keras):
    from keras.src.initializers import ALL_OBJECTS_DICT

    for name, cls in ALL_OBJECTS_DICT.items():
        if "STFT" in cls.__name__ or cls.__name__ == "Initializer":
            continue
        assert type(initializers.get(name)).__name__ == cls.__name__, name


def _error_text(call):
    """The ValueError's text, with a trailing Python literal parsed: the order of a set in Keras's text
    changes with the hash seed of the process that compiled Keras, so only the members can be compared."""
    with pytest.raises(ValueError) as error:
        call()
    text = str(error.value)
    if text.endswith("}") and "{'" in text:
        start = text.index("{'")
        return text[:start], ast.literal_eval(text[start:])
    return text


@pytest.mark.parametrize(
    "make_call",
    [lambda m: lambda: m.initializers.VarianceScaling(scale=-1.0),
     lambda m: lambda: m.initializers.VarianceScaling(mode="fan"),
     lambda m: lambda: m.initializers.VarianceScaling(distribution="gamma"),
     lambda m: lambda: m.initializers.GlorotUniform(seed=1.5),
     lambda m: lambda: m.initializers.Identity()((2, 2, 2)),
     lambda m: lambda: m.initializers.Orthogonal()((3,)),
     lambda m: lambda: m.initializers.get("glorot"),
     lambda m: lambda: m.initializers.get({"class_name": "Foo", "config": {}}),
     lambda m: lambda: m.regularizers.L2(-0.1),
     lambda m: lambda: m.regularizers.get("l1_l2"),
     lambda m: lambda: m.regularizers.OrthogonalRegularizer(mode="diagonal"),
     lambda m: lambda: m.constraints.get("maxnorm")],
)
def test_error_texts_equal_keras(keras, make_call):
    import minikeras

    assert _error_text(make_call(minikeras)) == _error_text(make_call(keras))


def _weights(shape=(6, 5)):
    return np.random.default_rng(0).normal(size=shape).astype(np.float32)


@pytest.mark.parametrize(
    "class_name, options",
    [("L1", {}), ("L2", {}), ("L1L2", {"l1": 0.1, "l2": 0.3}), ("L1L2", {}), ("L1", {"l1": 0.2}),
     ("OrthogonalRegularizer", {}), ("OrthogonalRegularizer", {"factor": 0.3, "mode": "columns"})],
)
def test_regularizer_values_and_configs_equal_keras(keras, class_name, options):
    w = _weights()
    keras_regularizer = getattr(keras.regularizers, class_name)(**options)
    regularizer = getattr(regularizers, class_name)(**options)
    assert regularizer(w) == pytest.approx(float(keras_regularizer(keras.ops.convert_to_tensor(w))), rel=1e-6)
    assert regularizers.serialize(regularizer) == keras.regularizers.serialize(keras_regularizer)


@pytest.mark.parametrize(
    "class_name, options",
    [("L1", {}), ("L2", {"l2": 0.3}), ("L1L2", {"l1": 0.1, "l2": 0.3}),
     ("OrthogonalRegularizer", {}), ("OrthogonalRegularizer", {"factor": 0.3, "mode": "columns"})],
)
def test_regularizer_gradients_match_tensorflow_autodiff(keras, class_name, options):
    tf = pytest.importorskip("tensorflow")
    # Keras keeps the orthogonal factor as a float32 tensor, so that one only runs in float32
    orthogonal = class_name == "OrthogonalRegularizer"
    w = _weights().astype(np.float32 if orthogonal else np.float64)
    tensor = tf.constant(w)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        penalty = getattr(keras.regularizers, class_name)(**options)(tensor)
    expected = tape.gradient(penalty, tensor).numpy()
    actual = getattr(regularizers, class_name)(**options).gradient(w)
    np.testing.assert_allclose(actual, expected, rtol=1e-5 if orthogonal else 1e-12, atol=1e-7 if orthogonal else 0)


@pytest.mark.parametrize("name", ["l1", "l2", "l1l2", "L1L2", "orthogonal_regularizer"])
def test_regularizer_names_equal_keras(keras, name):
    assert regularizers.get(name).get_config() == keras.regularizers.get(name).get_config()


@pytest.mark.parametrize(
    "class_name, options",
    [("MaxNorm", {}), ("MaxNorm", {"max_value": 0.5, "axis": 1}), ("NonNeg", {}), ("UnitNorm", {}),
     ("UnitNorm", {"axis": 1}), ("MinMaxNorm", {}), ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.5, "rate": 0.7}),
     ("MinMaxNorm", {"min_value": 3.0, "max_value": 4.0, "axis": [0, 1]})],
)
def test_constraints_equal_keras(keras, class_name, options):
    w = _weights()
    keras_constraint = getattr(keras.constraints, class_name)(**options)
    constraint = getattr(constraints, class_name)(**options)
    actual = constraint(w)
    assert actual.dtype == np.float32
    np.testing.assert_allclose(actual, np.asarray(keras_constraint(w)), rtol=1e-6, atol=1e-7)
    assert constraints.serialize(constraint) == keras.constraints.serialize(keras_constraint)


@pytest.mark.parametrize("name", ["max_norm", "MaxNorm", "non_neg", "unit_norm", "min_max_norm", "MinMaxNorm"])
def test_constraint_names_equal_keras(keras, name):
    assert type(constraints.get(name)).__name__ == type(keras.constraints.get(name)).__name__

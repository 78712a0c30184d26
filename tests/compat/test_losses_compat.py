"""minikeras.losses against live Keras 3: values for every loss class, option, reduction and label shape,
gradients against tf.GradientTape (including the clip edges), configs, lookup and error texts."""
import numpy as np
import pytest

from minikeras import losses

RNG_SEED = 20261128
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None]


def _data(kind, rng):
    """(y_true, y_pred) float32 arrays of a kind, with edge values (0, 1, saturated) mixed in."""
    f32 = np.float32
    if kind == "real":
        return rng.normal(size=(6, 3)).astype(f32), rng.normal(size=(6, 3)).astype(f32)
    if kind == "real_column_vs_flat":
        return rng.normal(size=(6,)).astype(f32), rng.normal(size=(6, 1)).astype(f32)
    if kind == "real_flat_vs_column":
        return rng.normal(size=(6, 1)).astype(f32), rng.normal(size=(6,)).astype(f32)
    if kind == "real_broadcast":
        return rng.normal(size=(6, 3)).astype(f32), rng.normal(size=(6, 1)).astype(f32)
    if kind == "positive":
        y = rng.uniform(0, 3, size=(6, 3)).astype(f32)
        p = rng.uniform(0.1, 3, size=(6, 3)).astype(f32)
        y[0, 0], p[0, 1], p[1, 2], y[2, 1] = 0, 0, 1e-9, 1e-7
        return y, p
    if kind == "binary":
        y = rng.integers(0, 2, size=(6, 3)).astype(f32)
        p = rng.uniform(0.02, 0.98, size=(6, 3)).astype(f32)
        p[0] = [0, 1, 1e-9]
        p[1] = [1 - 1e-9, 1e-7, 1 - 1e-7]
        y[0], y[1] = [1, 0, 0], [1, 1, 0]
        return y, p
    if kind == "binary_column":
        y = rng.integers(0, 2, size=(6,)).astype(f32)
        p = rng.uniform(0.02, 0.98, size=(6, 1)).astype(f32)
        p[0, 0], p[1, 0] = 1.0, 0.0
        return y, p
    if kind == "soft_targets":
        y = rng.uniform(0, 1, size=(6, 4)).astype(f32)
        y /= y.sum(axis=-1, keepdims=True)
        p = rng.uniform(0.05, 1, size=(6, 4)).astype(f32)
        p[0] = [1, 0, 0, 0]
        p[1] = [0.5, 0.5, 1e-9, 0]
        return y, p
    if kind == "onehot":
        y = np.eye(4, dtype=f32)[rng.integers(0, 4, size=6)]
        p = rng.uniform(0.05, 1, size=(6, 4)).astype(f32)
        p[0] = y[0]
        p[1] = 1 - y[1]
        return y, p
    if kind == "logits":
        y = rng.integers(0, 2, size=(6, 3)).astype(f32)
        x = (5 * rng.normal(size=(6, 3))).astype(f32)
        x[0] = [50, -50, 0]
        return y, x
    if kind == "onehot_logits":
        y = np.eye(4, dtype=f32)[rng.integers(0, 4, size=6)]
        x = (4 * rng.normal(size=(6, 4))).astype(f32)
        x[0] = [60, -60, 0, 1]
        return y, x
    if kind == "signs":
        y = rng.choice([-1.0, 1.0], size=(6, 3)).astype(f32)
        return y, rng.normal(size=(6, 3)).astype(f32)
    if kind == "zero_one":
        y = rng.integers(0, 2, size=(6, 3)).astype(f32)
        return y, rng.normal(size=(6, 3)).astype(f32)
    if kind == "cosine":
        y, p = rng.normal(size=(6, 3)).astype(f32), rng.normal(size=(6, 3)).astype(f32)
        p[0] = 0
        return y, p
    raise AssertionError(kind)


def _sparse_data(rng, label_shape, from_logits):
    labels = rng.integers(0, 4, size=6)
    if from_logits:
        pred = (4 * rng.normal(size=(6, 4))).astype(np.float32)
        pred[0] = [60, -60, 0, 1]
    else:
        pred = rng.uniform(0.05, 1, size=(6, 4)).astype(np.float32)
        pred[0] = np.eye(4)[labels[0]]
        pred[1] = 1 - np.eye(4)[labels[1]]
    return labels.reshape(label_shape), pred


CASES = [
    ("MeanSquaredError", {}, "real"),
    ("MeanSquaredError", {}, "real_column_vs_flat"),
    ("MeanSquaredError", {}, "real_flat_vs_column"),
    ("MeanSquaredError", {}, "real_broadcast"),
    ("MeanAbsoluteError", {}, "real"),
    ("MeanAbsoluteError", {}, "real_column_vs_flat"),
    ("MeanAbsolutePercentageError", {}, "positive"),
    ("MeanAbsolutePercentageError", {}, "real"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("MeanSquaredLogarithmicError", {}, "real"),
    ("Huber", {}, "real"),
    ("Huber", {"delta": 0.5}, "real"),
    ("Huber", {"delta": 2.0}, "real_column_vs_flat"),
    ("LogCosh", {}, "real"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {}, "binary_column"),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True}, "logits"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "logits"),
    ("BinaryCrossentropy", {"axis": 0}, "binary"),
    ("CategoricalCrossentropy", {}, "onehot"),
    ("CategoricalCrossentropy", {}, "soft_targets"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "onehot"),
    ("CategoricalCrossentropy", {"from_logits": True}, "onehot_logits"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "onehot_logits"),
    ("CategoricalCrossentropy", {"axis": 0}, "soft_targets"),
    ("KLDivergence", {}, "soft_targets"),
    ("KLDivergence", {}, "real"),
    ("Poisson", {}, "positive"),
    ("Hinge", {}, "signs"),
    ("Hinge", {}, "zero_one"),
    ("SquaredHinge", {}, "signs"),
    ("SquaredHinge", {}, "zero_one"),
    ("CategoricalHinge", {}, "onehot"),
    ("CategoricalHinge", {}, "real"),
    ("CosineSimilarity", {}, "cosine"),
    ("CosineSimilarity", {"axis": 0}, "real"),
    ("CosineSimilarity", {}, "real_column_vs_flat"),
]


def _case_id(case):
    name, kwargs, kind = case
    return f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items()) or 'default'}-{kind}"


def _keras_value_and_gradient(keras, keras_loss, y_true, y_pred, sample_weight):
    import tensorflow as tf

    variable = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        value = keras_loss(y_true, variable, sample_weight=sample_weight)
    return np.asarray(value), np.asarray(tape.gradient(value, variable))


def _sample_weight(rng, y_pred, kwargs):
    axis = kwargs.get("axis", -1)
    shape = np.delete(np.array(y_pred.shape), axis) if y_pred.ndim > 1 else y_pred.shape
    return rng.uniform(0, 2, size=tuple(shape)).astype(np.float32)


def _check_against_keras(keras, case, reduction, weighted):
    name, kwargs, kind = case
    context = f"{_case_id(case)} reduction={reduction} weighted={weighted}"
    rng = np.random.default_rng(RNG_SEED)
    y_true, y_pred = _data(kind, rng)
    sample_weight = None
    if weighted:
        aligned_pred = y_pred if y_pred.ndim >= y_true.ndim else y_pred[..., None]
        sample_weight = _sample_weight(rng, aligned_pred, kwargs)
    keras_loss = getattr(keras.losses, name)(reduction=reduction, **kwargs)
    ours = getattr(losses, name)(reduction=reduction, **kwargs)

    expected_value, expected_grad = _keras_value_and_gradient(keras, keras_loss, y_true, y_pred, sample_weight)
    value = ours(y_true, y_pred, sample_weight=sample_weight)
    trained_value, grad = ours.value_and_gradient(y_true, y_pred, sample_weight=sample_weight)

    np.testing.assert_allclose(value, expected_value, rtol=1e-6, atol=1e-6, err_msg=context)
    np.testing.assert_allclose(trained_value, expected_value, rtol=1e-6, atol=1e-6, err_msg=context)
    assert grad.shape == y_pred.shape and grad.dtype == np.float32, context
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-6, err_msg=context)


# One test per class (each `keras` test pays for a clear_session); cases, reductions and weights loop inside.
@pytest.mark.parametrize("name", sorted({case[0] for case in CASES}))
def test_value_and_gradient_match_keras(keras, name):
    for case in (case for case in CASES if case[0] == name):
        for reduction in REDUCTIONS:
            for weighted in (False, True):
                _check_against_keras(keras, case, reduction, weighted)


@pytest.mark.parametrize("label_shape", [(6,), (6, 1)])
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy_matches_keras(keras, label_shape, from_logits):
    for reduction in REDUCTIONS:
        for ignore_class in (None, 2):
            _check_sparse_against_keras(keras, label_shape, from_logits, reduction, ignore_class)


def _check_sparse_against_keras(keras, label_shape, from_logits, reduction, ignore_class):
    context = f"labels {label_shape} from_logits={from_logits} reduction={reduction} ignore_class={ignore_class}"
    rng = np.random.default_rng(RNG_SEED)
    labels, y_pred = _sparse_data(rng, label_shape, from_logits)
    labels.reshape(-1)[:3] = [2, 0, 2]
    sample_weight = rng.uniform(0, 2, size=6).astype(np.float32)
    kwargs = {"from_logits": from_logits, "ignore_class": ignore_class, "reduction": reduction}
    keras_loss = keras.losses.SparseCategoricalCrossentropy(**kwargs)
    ours = losses.SparseCategoricalCrossentropy(**kwargs)
    for weights in (None, sample_weight):
        expected_value, expected_grad = _keras_value_and_gradient(keras, keras_loss, labels, y_pred, weights)
        value, grad = ours.value_and_gradient(labels, y_pred, sample_weight=weights)
        called = ours(labels, y_pred, sample_weight=weights)
        np.testing.assert_allclose(called, expected_value, rtol=1e-6, atol=1e-6, err_msg=context)
        np.testing.assert_allclose(value, expected_value, rtol=1e-6, atol=1e-6, err_msg=context)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-6, err_msg=context)


LOGITS_CASES = [
        ("BinaryCrossentropy", "sigmoid", {}, "logits"),
        ("BinaryCrossentropy", "sigmoid", {"label_smoothing": 0.1}, "logits"),
        ("BinaryCrossentropy", "sigmoid", {"from_logits": True}, "logits"),
        ("CategoricalCrossentropy", "softmax", {}, "onehot_logits"),
        ("CategoricalCrossentropy", "softmax", {"label_smoothing": 0.2}, "onehot_logits"),
        ("SparseCategoricalCrossentropy", "softmax", {}, "onehot_logits"),
]


@pytest.mark.filterwarnings("ignore:.*received `from_logits=True`")
def test_logits_path_matches_keras_inside_a_traced_function(keras):
    """Inside tf.function Keras's TF backend reads the logits under a sigmoid/softmax output (the fold),
    even with from_logits=True; value_and_gradient(..., logits=) reproduces that value and d/d(logits)."""
    for case in LOGITS_CASES:
        _check_logits_path(keras, *case)


def _check_logits_path(keras, name, activation, kwargs, kind):
    import tensorflow as tf

    rng = np.random.default_rng(RNG_SEED)
    y_true, logits = _data(kind, rng)
    if name.startswith("Sparse"):
        y_true = np.argmax(y_true, axis=-1)
    sample_weight = rng.uniform(0, 2, size=6).astype(np.float32)
    keras_loss = getattr(keras.losses, name)(**kwargs)
    tf_activation = tf.sigmoid if activation == "sigmoid" else tf.nn.softmax

    @tf.function
    def keras_value_and_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = keras_loss(y_true, tf_activation(x), sample_weight=sample_weight)
        return value, tape.gradient(value, x)

    expected_value, expected_grad = keras_value_and_gradient(tf.constant(logits))
    ours = getattr(losses, name)(**kwargs)
    probabilities = np.asarray(tf_activation(logits))
    assert ours.folds_activation == activation
    value, grad = ours.value_and_gradient(y_true, probabilities, sample_weight=sample_weight, logits=logits)
    np.testing.assert_allclose(value, expected_value.numpy(), rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(grad, expected_grad.numpy(), rtol=1e-5, atol=1e-7, err_msg=name)


FUNCTION_CASES = [
    ("mean_squared_error", {}, "real_column_vs_flat"),
    ("mean_absolute_error", {}, "real_broadcast"),
    ("mean_absolute_percentage_error", {}, "positive"),
    ("mean_squared_logarithmic_error", {}, "positive"),
    ("huber", {"delta": 0.7}, "real"),
    ("log_cosh", {}, "real_flat_vs_column"),
    ("binary_crossentropy", {"label_smoothing": 0.3}, "binary"),
    ("binary_crossentropy", {"from_logits": True}, "logits"),
    ("categorical_crossentropy", {"label_smoothing": 0.1}, "onehot"),
    ("categorical_crossentropy", {"from_logits": True}, "onehot_logits"),
    ("kl_divergence", {}, "soft_targets"),
    ("poisson", {}, "positive"),
    ("poisson", {}, "real_column_vs_flat"),
    ("hinge", {}, "zero_one"),
    ("hinge", {}, "real_column_vs_flat"),
    ("squared_hinge", {}, "signs"),
    ("categorical_hinge", {}, "onehot"),
    ("cosine_similarity", {"axis": 0}, "real"),
]


def test_per_sample_functions_match_keras(keras):
    """Including the raw functions' own shape rules (hinge/poisson do not align (N,) with (N, 1): they broadcast)."""
    for name, kwargs, kind in FUNCTION_CASES:
        y_true, y_pred = _data(kind, np.random.default_rng(RNG_SEED))
        with np.errstate(invalid="ignore"):
            expected = np.asarray(getattr(keras.losses, name)(y_true, y_pred, **kwargs))
            result = getattr(losses, name)(y_true, y_pred, **kwargs)
        assert result.shape == expected.shape, name
        np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6, err_msg=name)
    for label_shape in [(6,), (6, 1)]:
        labels, y_pred = _sparse_data(np.random.default_rng(RNG_SEED), label_shape, from_logits=False)
        expected = np.asarray(keras.losses.sparse_categorical_crossentropy(labels, y_pred))
        np.testing.assert_allclose(losses.sparse_categorical_crossentropy(labels, y_pred), expected, rtol=1e-6)


CLASS_NAMES = sorted({case[0] for case in CASES} | {"SparseCategoricalCrossentropy"})


def test_defaults_names_and_configs_match_keras(keras):
    for name in CLASS_NAMES:
        assert getattr(losses, name)().get_config() == getattr(keras.losses, name)().get_config()
        custom = {"name": "custom", "reduction": "sum"}
        ours = getattr(losses, name)(**custom)
        theirs = getattr(keras.losses, name)(**custom)
        assert ours.get_config() == theirs.get_config()
        assert losses.serialize(ours) == keras.losses.serialize(theirs)
        assert losses.deserialize(losses.serialize(ours)).get_config() == theirs.get_config()


def test_option_configs_match_keras(keras):
    options = [
        ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2, "axis": 0}),
        ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}),
        ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 3}),
        ("Huber", {"delta": 3.0}),
        ("CosineSimilarity", {"axis": 0}),
    ]
    for name, kwargs in options:
        assert getattr(losses, name)(**kwargs).get_config() == getattr(keras.losses, name)(**kwargs).get_config()


def test_base_loss_auto_names_match_keras(keras):
    class MyLoss(losses.Loss):
        pass

    class KerasMyLoss(keras.losses.Loss):
        pass

    ours = [losses.Loss().name, losses.Loss().name, MyLoss().name]
    theirs = [keras.losses.Loss().name, keras.losses.Loss().name, KerasMyLoss().name]
    assert ours == [name.replace("keras_", "") for name in theirs]


IDENTIFIERS = ["mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "kld", "KLD", "bce", "BCE",
               "log_cosh", "huber", "hinge", "poisson", "cosine_similarity", "mean_squared_error",
               "sparse_categorical_crossentropy", "categorical_hinge", "kl_divergence"]


def test_get_returns_the_same_function_as_keras(keras):
    for identifier in IDENTIFIERS:
        assert losses.get(identifier).__name__ == keras.losses.get(identifier).__name__, identifier


def test_get_rejects_what_keras_rejects(keras):
    for identifier in ["logcosh", "kullback_leibler_divergence", "huber_loss", "foo_loss", "crossentropy", 5]:
        with pytest.raises(ValueError) as theirs:
            keras.losses.get(identifier)
        with pytest.raises(ValueError) as ours:
            losses.get(identifier)
        assert str(ours.value) == str(theirs.value)


def test_get_class_names_and_dicts_like_keras(keras):
    assert losses.get("Huber").get_config() == keras.losses.get("Huber").get_config()
    config = {"class_name": "BinaryCrossentropy", "config": {"from_logits": True, "name": "b"}}
    assert losses.get(config).get_config() == keras.losses.get(config).get_config()
    assert losses.serialize(losses.mean_squared_error) == keras.losses.serialize(keras.losses.mean_squared_error)
    assert losses.deserialize("mean_squared_error") is losses.mean_squared_error


def test_invalid_reduction_message_matches_keras(keras):
    with pytest.raises(ValueError) as theirs:
        keras.losses.MeanSquaredError(reduction="auto")
    with pytest.raises(ValueError) as ours:
        losses.MeanSquaredError(reduction="auto")
    assert str(ours.value).split("Expected")[0] == str(theirs.value).split("Expected")[0]
    assert str(ours.value).endswith(str(theirs.value).split(". Received")[-1])


SHAPE_ERROR_CASES = [
    ("CategoricalCrossentropy", np.ones((4, 3)), np.ones((4, 2))),
    ("BinaryCrossentropy", np.ones((4,)), np.ones((4, 2))),
    ("BinaryCrossentropy", np.ones((4, 3)), np.full((4, 1), 0.5)),
    ("SparseCategoricalCrossentropy", np.array([0, 1]), np.ones((3, 3)) / 3),
]


def test_shape_errors_use_keras_words(keras):
    for name, y_true, y_pred in SHAPE_ERROR_CASES:
        with pytest.raises(ValueError) as theirs:
            getattr(keras.losses, name)()(y_true, y_pred)
        with pytest.raises(ValueError) as ours:
            getattr(losses, name)()(y_true, y_pred)
        assert str(ours.value) == str(theirs.value)


def test_out_of_range_sparse_label_names_the_label_like_tensorflow(keras):
    import tensorflow as tf

    labels, pred = np.array([0, 1, 3]), np.full((3, 3), 1 / 3, dtype=np.float32)
    with pytest.raises(tf.errors.InvalidArgumentError) as theirs:
        keras.losses.SparseCategoricalCrossentropy()(labels, pred)
    with pytest.raises(ValueError) as ours:
        losses.SparseCategoricalCrossentropy()(labels, pred)
    assert "Received a label value of 3 which is outside the valid range of [0, 3)" in str(theirs.value)
    assert "Received a label value of 3 which is outside the valid range of [0, 3)" in str(ours.value)


def test_incompatible_elementwise_shapes_name_both_shapes(keras):
    import tensorflow as tf

    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Incompatible shapes: \[4,3\] vs. \[4,2\]"):
        keras.losses.MeanSquaredError()(np.ones((4, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"Incompatible shapes: y_true.shape=\(4, 3\) vs. y_pred.shape=\(4, 2\)"):
        losses.MeanSquaredError()(np.ones((4, 3)), np.ones((4, 2)))

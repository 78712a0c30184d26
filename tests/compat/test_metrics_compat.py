"""minikeras metrics updated side by side with real Keras 3 on the same random batches."""
import numpy as np
import pytest

from minikeras import metrics

BATCH_SIZES = (7, 16, 5)
NUM_CLASSES = 5


def _probabilities(rng, n, classes):
    logits = rng.normal(size=(n, classes)) * 2
    return (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32)


def _binary_scores(rng, shape):
    """Uniform scores with a few exactly on 0, 0.5 and 1 (the strict `>` and bucket edges)."""
    scores = rng.random(shape).astype(np.float32)
    flat = scores.reshape(-1)
    flat[:3] = [0.0, 0.5, 1.0]
    return scores


def _threshold_grid_scores(rng, n):
    """Scores sitting exactly on AUC's default thresholds k/199 (float32), plus some outside [0, 1]."""
    scores = (rng.integers(0, 200, size=n) / np.float32(199)).astype(np.float32)
    scores[:2] = [-0.2, 1.3]
    return scores[:, None]


def _labels(rng, shape, classes=2):
    return rng.integers(0, classes, shape).astype(np.float32)


def _normal(rng, shape, scale=1.0):
    return (rng.normal(size=shape) * scale).astype(np.float32)


DATA = {
    "binary": lambda rng, n: (_labels(rng, (n, 1)), _binary_scores(rng, (n, 1))),
    "binary_flat": lambda rng, n: (rng.integers(0, 2, n), _binary_scores(rng, n)),
    "grid": lambda rng, n: (_labels(rng, (n, 1)), _threshold_grid_scores(rng, n)),
    "logits": lambda rng, n: (_labels(rng, (n, 1)), _normal(rng, (n, 1), scale=3)),
    "all_positive": lambda rng, n: (np.ones((n, 1), np.float32), _binary_scores(rng, (n, 1))),
    "all_negative": lambda rng, n: (np.zeros((n, 1), np.float32), _binary_scores(rng, (n, 1))),
    "constant_scores": lambda rng, n: (_labels(rng, (n, 1)), np.full((n, 1), 0.3, np.float32)),
    "multilabel": lambda rng, n: (_labels(rng, (n, NUM_CLASSES)), _binary_scores(rng, (n, NUM_CLASSES))),
    "categorical": lambda rng, n: (
        np.eye(NUM_CLASSES, dtype=np.float32)[rng.integers(0, NUM_CLASSES, n)],
        _probabilities(rng, n, NUM_CLASSES),
    ),
    "sparse": lambda rng, n: (rng.integers(0, NUM_CLASSES, n), _probabilities(rng, n, NUM_CLASSES)),
    "sparse_column": lambda rng, n: (rng.integers(0, NUM_CLASSES, (n, 1)), _probabilities(rng, n, NUM_CLASSES)),
    "exact": lambda rng, n: (_labels(rng, (n, 1), classes=3), _labels(rng, (n, 1), classes=3)),
    "regression": lambda rng, n: (_normal(rng, (n, 3)), _normal(rng, (n, 3))),
    "regression_column": lambda rng, n: (_normal(rng, n), _normal(rng, (n, 1))),
    "positive": lambda rng, n: (
        rng.uniform(0.1, 2, (n, 3)).astype(np.float32),
        rng.uniform(-0.5, 2, (n, 3)).astype(np.float32),
    ),
}

# (class name shared by keras.metrics and minikeras.metrics, constructor kwargs, data kind)
CASES = [
    ("Accuracy", {}, "exact"),
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.7}, "binary_flat"),
    ("CategoricalAccuracy", {}, "categorical"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("SparseCategoricalAccuracy", {}, "sparse_column"),
    ("TopKCategoricalAccuracy", {}, "categorical"),
    ("TopKCategoricalAccuracy", {"k": 2}, "categorical"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("SparseTopKCategoricalAccuracy", {}, "sparse_column"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanSquaredError", {}, "regression_column"),
    ("MeanSquaredError", {"dtype": "float64"}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression_column"),
    ("MeanAbsolutePercentageError", {}, "positive"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("BinaryCrossentropy", {}, "binary"),
    ("CategoricalCrossentropy", {}, "categorical"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.8, 0.0, 0.35, 1.0]}, "binary_flat"),
    ("Precision", {"top_k": 2}, "multilabel"),
    ("Precision", {"class_id": 3}, "multilabel"),
    ("Recall", {}, "binary"),
    ("Recall", {"thresholds": [0.25, 0.5, 0.75]}, "multilabel"),
    ("Recall", {"top_k": 3, "class_id": 1}, "multilabel"),
    ("AUC", {}, "binary"),
    ("AUC", {}, "grid"),
    ("AUC", {}, "multilabel"),
    ("AUC", {"curve": "PR"}, "binary"),
    ("AUC", {"curve": "PR"}, "grid"),
    ("AUC", {"summation_method": "minoring"}, "binary"),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, "binary_flat"),
    ("AUC", {"num_thresholds": 7}, "binary"),
    ("AUC", {"dtype": "float64", "curve": "PR"}, "grid"),
    ("AUC", {"thresholds": [0.6, 0.1, 0.3]}, "binary"),
    ("AUC", {"from_logits": True}, "logits"),
    ("AUC", {}, "all_positive"),
    ("AUC", {}, "all_negative"),
    ("AUC", {"curve": "PR"}, "all_positive"),
    ("AUC", {"curve": "PR"}, "all_negative"),
    ("AUC", {}, "constant_scores"),
    ("AUC", {"curve": "PR"}, "constant_scores"),
]


def _batches(kind, weighted, seed):
    rng = np.random.default_rng(seed)
    batches = []
    for n in BATCH_SIZES:
        y_true, y_pred = DATA[kind](rng, n)
        weights = None
        if weighted:
            weights = rng.random(n).astype(np.float32)
            weights[0] = 0.0
        batches.append((y_true, y_pred, weights))
    return batches


def _assert_same(keras_value, value, rtol, case):
    np.testing.assert_allclose(value, np.asarray(keras_value), rtol=rtol, atol=1e-7, err_msg=str(case))


def _run_side_by_side(keras, case, weighted):
    """Several update_state calls, a reset, then one more batch; results compared after each."""
    class_name, kwargs, kind = case
    keras_metric = getattr(keras.metrics, class_name)(**kwargs)
    metric = getattr(metrics, class_name)(**kwargs)
    batches = _batches(kind, weighted, seed=len(CASES) * weighted + CASES.index(case))
    for step, (y_true, y_pred, weights) in enumerate(batches):
        keras_metric.update_state(y_true, y_pred, sample_weight=weights)
        metric.update_state(y_true, y_pred, sample_weight=weights)
        _assert_same(keras_metric.result(), metric.result(), 1e-6 if step == 0 else 1e-5, (case, weighted, step))
    keras_metric.reset_state()
    metric.reset_state()
    _assert_same(keras_metric.result(), metric.result(), 0, (case, weighted, "after reset"))
    y_true, y_pred, weights = batches[1]
    keras_metric.update_state(y_true, y_pred, sample_weight=weights)
    metric.update_state(y_true, y_pred, sample_weight=weights)
    _assert_same(keras_metric.result(), metric.result(), 1e-6, (case, weighted, "batch after reset"))


# One test per class (its cases looped inside): each test pays a Keras clear_session in the shared fixture.
@pytest.mark.parametrize("class_name", sorted({case[0] for case in CASES}))
def test_metric_matches_keras_over_batches_and_reset(keras, class_name):
    for case in [case for case in CASES if case[0] == class_name]:
        for weighted in (False, True):
            _run_side_by_side(keras, case, weighted)


def test_auc_confusion_variables_match_keras(keras):
    for kind in ("binary", "grid"):
        keras_auc, auc = keras.metrics.AUC(), metrics.AUC()
        for y_true, y_pred, weights in _batches(kind, weighted=True, seed=3):
            keras_auc.update_state(y_true, y_pred, sample_weight=weights)
            auc.update_state(y_true, y_pred, sample_weight=weights)
        for keras_variable, variable in zip(keras_auc.variables, auc.variables):
            assert keras_variable.path == variable.path
            np.testing.assert_allclose(variable.numpy(), keras_variable.numpy(), rtol=1e-6, atol=1e-6)


MEAN_INPUTS = [
    ([1.0, 3.0, 5.0, 7.0], None),
    ([1.0, 3.0, 5.0, 7.0], [1.0, 1.0, 0.0, 0.5]),
    ([1.0, 3.0, 5.0, 7.0], 2.0),
    ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 0.0], [1.0, 1.0]]),
    ([[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0]),
    ([[1.0, 2.0], [3.0, 4.0]], [[1.0], [3.0]]),
    (2.5, 4),
]


@pytest.mark.parametrize("class_name", ["Mean", "Sum"])
def test_mean_and_sum_reduce_values_and_weights_like_keras(keras, class_name):
    for values, sample_weight in MEAN_INPUTS:
        keras_metric, metric = getattr(keras.metrics, class_name)(), getattr(metrics, class_name)()
        for _ in range(2):
            keras_metric.update_state(np.asarray(values, np.float32), sample_weight=sample_weight)
            metric.update_state(np.asarray(values, np.float32), sample_weight=sample_weight)
        _assert_same(keras_metric.result(), metric.result(), 1e-6, (values, sample_weight))


def test_config_and_serialization_match_keras(keras):
    for class_name, kwargs, _ in CASES + [("Mean", {}, None), ("Sum", {}, None)]:
        keras_metric = getattr(keras.metrics, class_name)(name="m", **kwargs)
        metric = getattr(metrics, class_name)(name="m", **kwargs)
        assert metric.get_config() == keras_metric.get_config(), class_name
        assert metrics.serialize(metric) == keras.metrics.serialize(keras_metric), class_name
        restored = metrics.deserialize(keras.metrics.serialize(keras_metric))
        assert restored.get_config() == keras_metric.get_config(), class_name


COMPILE_STRINGS = [
    "accuracy", "acc", "mse", "mean_squared_error", "mae", "mape", "msle", "binary_accuracy",
    "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "auc", "precision", "recall",
]
SHAPE_CASES = [((8,), (8, 1)), ((8, 1), (8, 1)), ((8,), (8, 4)), ((8, 1), (8, 4)), ((8, 4), (8, 4)), ((8, 4), (8, 1))]


def test_resolve_builds_the_metric_keras_compile_builds(keras):
    from keras.src.trainers.compile_utils import get_metric  # what compile(metrics=[...]) calls per output

    for identifier in COMPILE_STRINGS + ["Accuracy", "ACC"]:
        for true_shape, pred_shape in SHAPE_CASES:
            y_true, y_pred = np.zeros(true_shape, np.float32), np.zeros(pred_shape, np.float32)
            keras_metric = get_metric(identifier, y_true, y_pred)
            metric = metrics.resolve(identifier, y_true, y_pred)
            case = (identifier, true_shape, pred_shape)
            assert type(metric).__name__ == type(keras_metric).__name__, case
            assert metric.name == keras_metric.name == identifier, case
            assert metric.get_config() == keras_metric.get_config(), case


def test_unknown_metric_message_matches_keras(keras):
    with pytest.raises(ValueError) as keras_error:
        keras.metrics.get("foo_metric")
    with pytest.raises(ValueError) as error:
        metrics.resolve("foo_metric", np.zeros(3), np.zeros(3))
    assert str(error.value) == str(keras_error.value) == "Could not interpret metric identifier: foo_metric"


def test_accuracy_metrics_agree_with_keras_on_ties(keras):
    y_true = np.float32([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    y_pred = np.float32([[0.4, 0.4, 0.2], [0.4, 0.4, 0.2], [0.3, 0.3, 0.3]])
    for class_name, kwargs in [("CategoricalAccuracy", {}), ("TopKCategoricalAccuracy", {"k": 1})]:
        expected = getattr(keras.metrics, class_name)(**kwargs)(y_true, y_pred)
        assert getattr(metrics, class_name)(**kwargs)(y_true, y_pred) == pytest.approx(float(expected), rel=1e-6)

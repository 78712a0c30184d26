"""Unit tests of minikeras.metrics (no TensorFlow).

Literal expected values were observed with real Keras 3.15.1 (`keras.metrics.<Class>(...)` fed the same
arrays through `update_state`, then `float(result())`); each case names the Keras call it mirrors.
"""
import numpy as np
import pytest

from minikeras import metrics
from minikeras.metrics.metrics_utils import confusion_counts

F32 = np.float32


def _run(metric, *batches):
    for batch in batches:
        metric.update_state(*batch[:2], **({"sample_weight": batch[2]} if len(batch) > 2 else {}))
    return metric.result()


# (metric, batches, value observed from Keras 3.15.1 for the same metric and batches)
KERAS_OBSERVED = [
    (lambda: metrics.Mean(), [([1, 3, 5, 7],), ([2.0], [4.0])], 3.0),
    (lambda: metrics.Mean(), [(F32(2.5), 4), (F32(1.0), 2)], 2.0),
    (lambda: metrics.Sum(), [([1, 3, 5, 7], [1, 1, 0, 0])], 4.0),
    (lambda: metrics.Accuracy(), [([[1], [2], [3], [4]], [[0], [2], [3], [4]])], 0.75),
    (lambda: metrics.BinaryAccuracy(), [([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])], 0.75),
    (lambda: metrics.BinaryAccuracy(), [([0, 0], [0.5, 0.5])], 1.0),  # strict `>`: 0.5 is class 0
    (lambda: metrics.BinaryAccuracy(), [([1], [0.5])], 0.0),
    (lambda: metrics.BinaryAccuracy(), [([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], [1, 0, 0, 1])], 0.5),
    (
        lambda: metrics.CategoricalAccuracy(),
        [([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], [0.7, 0.3])],
        0.30000001192092896,
    ),
    (
        lambda: metrics.SparseCategoricalAccuracy(),
        [([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], [0.7, 0.3])],
        0.30000001192092896,
    ),
    (lambda: metrics.SparseCategoricalAccuracy(), [([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])], 0.5),
    (
        lambda: metrics.TopKCategoricalAccuracy(k=1),
        [([[0, 0, 1], [0, 1, 0]], F32([[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))],
        0.5,
    ),
    (lambda: metrics.TopKCategoricalAccuracy(k=1), [([[1, 0, 0]], F32([[0.5, 0.5, 0]]))], 1.0),
    (lambda: metrics.SparseTopKCategoricalAccuracy(k=1), [([2, 1], F32([[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))], 0.5),
    (lambda: metrics.MeanSquaredError(), [([[0, 1], [0, 0]], [[1, 1], [0, 0]])], 0.25),
    (
        lambda: metrics.RootMeanSquaredError(),
        [([[0, 1], [0, 0]], [[1, 1], [0, 0]]), ([[1, 1], [0, 0]], [[1, 1], [0, 5]], [1, 0])],
        0.40824830532073975,
    ),
    (lambda: metrics.MeanAbsoluteError(), [([[0, 1], [0, 0]], [[1, 1], [0, 0]])], 0.25),
    (lambda: metrics.MeanAbsolutePercentageError(), [(F32([[0, 1], [0, 0]]), F32([[1, 1], [0, 0]]))], 250000000.0),
    (lambda: metrics.MeanSquaredLogarithmicError(), [([[0, 1], [0, 0]], [[1, 1], [0, 0]])], 0.12011321634054184),
    (lambda: metrics.BinaryCrossentropy(), [([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])], 0.8149244785308838),
    (
        lambda: metrics.CategoricalCrossentropy(),
        [([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])],
        1.1769392490386963,
    ),
    (
        lambda: metrics.SparseCategoricalCrossentropy(),
        [(np.array([1, 2]), F32([[0.05, 0.95, 0], [0.1, 0.8, 0.1]]))],
        1.1769392490386963,
    ),
    (lambda: metrics.Precision(), [([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])], 1.0),
    (lambda: metrics.Precision(), [([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], [0, 0, 1, 0])], 0.0),
    (lambda: metrics.Recall(), [([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])], 0.5),
    (lambda: metrics.Recall(top_k=1), [([[0, 1, 1], [1, 0, 1]], [[0.3, 0.7, 0.6], [0.6, 0.4, 0.9]])], 0.5),
    (lambda: metrics.Recall(class_id=2), [([[0, 1, 1], [1, 0, 1]], [[0.3, 0.7, 0.6], [0.6, 0.4, 0.4]])], 0.5),
    (lambda: metrics.AUC(num_thresholds=3), [([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])], 0.75),
    (lambda: metrics.AUC(), [([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])], 0.75),
    (lambda: metrics.AUC(curve="PR"), [([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])], 0.7972674369812012),
    (lambda: metrics.AUC(curve="PR", num_thresholds=3), [([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], [1, 0, 0, 1])], 1.0),
    (lambda: metrics.AUC(summation_method="minoring"), [([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])], 0.75),
    (lambda: metrics.AUC(summation_method="majoring"), [([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])], 0.75),
    (lambda: metrics.AUC(), [([1, 1, 1], [0.2, 0.5, 0.9])], 0.0),
    (lambda: metrics.AUC(curve="PR"), [([1, 1, 1], [0.2, 0.5, 0.9])], 1.0),
    (lambda: metrics.AUC(), [([0, 0, 0], [0.2, 0.5, 0.9])], 0.0),
    (lambda: metrics.AUC(), [], 0.0),
]


@pytest.mark.parametrize("make_metric, batches, expected", KERAS_OBSERVED)
def test_result_matches_value_observed_from_keras(make_metric, batches, expected):
    result = _run(make_metric(), *batches)
    assert isinstance(result, float)
    assert result == pytest.approx(expected, rel=1e-6)


def test_precision_with_several_thresholds_returns_one_value_per_threshold():
    # keras.metrics.Precision(thresholds=[0.0, 0.4, 0.95]) on the same batch gave [0.6666667, 0.5, 0.0].
    result = _run(metrics.Precision(thresholds=[0.0, 0.4, 0.95]), ([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]))
    np.testing.assert_allclose(result, [0.6666666865348816, 0.5, 0.0], rtol=1e-6)


def test_auc_state_variables_hold_keras_confusion_counts():
    # keras.metrics.AUC(num_thresholds=3) after this batch: tp [2,1,0], fp [2,0,0], tn [0,2,2], fn [0,1,2].
    auc = metrics.AUC(num_thresholds=3)
    auc.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert [v.name for v in auc.variables] == ["true_positives", "false_positives", "true_negatives", "false_negatives"]
    np.testing.assert_array_equal(
        [v.numpy() for v in auc.variables], [[2, 1, 0], [2, 0, 0], [0, 2, 2], [0, 1, 2]]
    )


def test_reset_state_zeroes_every_variable_and_result():
    for metric, batch in [
        (metrics.Mean(), ([1.0, 2.0],)),
        (metrics.BinaryAccuracy(), ([1, 0], [0.9, 0.2])),
        (metrics.AUC(), ([1, 0], [0.9, 0.2])),
        (metrics.Precision(), ([1, 0], [0.9, 0.2])),
        (metrics.RootMeanSquaredError(), ([1, 0], [0.5, 0.2])),
    ]:
        _run(metric, batch)
        assert metric.result() != 0
        metric.reset_state()
        assert all(not v.value.any() for v in metric.variables)
        assert metric.result() == 0.0


def test_state_is_updated_in_place():
    mean = metrics.Mean()
    total = mean.total.value
    mean.update_state([1.0, 2.0])
    mean.reset_state()
    mean.update_state([3.0])
    assert mean.total.value is total
    assert mean.result() == 3.0


def test_mean_weights_the_batch_loss_by_batch_size_as_the_engine_uses_it():
    epoch_loss = metrics.Mean()
    for batch_loss, batch_size in [(1.0, 4), (2.0, 4), (4.0, 2)]:
        epoch_loss.update_state(batch_loss, sample_weight=batch_size)
    assert epoch_loss.result() == pytest.approx((4 + 8 + 8) / 10)


def test_metric_dtype_follows_floatx_and_argument():
    assert metrics.Mean().dtype == "float32"
    assert metrics.Mean().total.dtype == np.float32
    assert metrics.Mean(dtype="float64").count.dtype == np.float64


def test_default_names_and_unique_names():
    assert metrics.Mean().name == "mean"
    assert metrics.MeanSquaredError().name == "mean_squared_error"
    assert [metrics.AUC().name, metrics.AUC().name, metrics.Precision().name] == ["auc", "auc_1", "precision"]
    assert metrics.Mean().variables[0].path == "mean/total"


@pytest.mark.parametrize(
    "true_shape, pred_shape, expected",
    [
        ((8,), (8, 1), metrics.BinaryAccuracy),
        ((8, 1), (8, 1), metrics.BinaryAccuracy),
        ((8, 3), (8, 1), metrics.BinaryAccuracy),
        ((8,), (8, 3), metrics.SparseCategoricalAccuracy),
        ((8, 1), (8, 3), metrics.SparseCategoricalAccuracy),
        ((8, 3), (8, 3), metrics.CategoricalAccuracy),
    ],
)
@pytest.mark.parametrize("identifier", ["accuracy", "acc", "Accuracy"])
def test_resolve_accuracy_from_shapes_keeps_the_given_name(identifier, true_shape, pred_shape, expected):
    metric = metrics.resolve(identifier, np.zeros(true_shape), np.zeros(pred_shape))
    assert type(metric) is expected
    assert metric.name == identifier


def test_resolve_names_and_wrapping():
    y = np.zeros((4, 1))
    assert metrics.resolve("mse", y, y).name == "mse"
    assert type(metrics.resolve("mse", y, y)) is metrics.MeanSquaredError
    assert metrics.resolve(metrics.AUC(name="my_auc"), y, y).name == "my_auc"
    assert metrics.resolve(metrics.Recall, y, y).name == "recall"
    wrapped = metrics.resolve(metrics.binary_accuracy, y, y)
    assert type(wrapped) is metrics.MeanMetricWrapper and wrapped.name == "binary_accuracy"
    with pytest.raises(ValueError, match="Could not interpret metric identifier: foo_metric"):
        metrics.resolve("foo_metric", y, y)
    with pytest.raises(ValueError, match="Expected metric, received `None`"):
        metrics.resolve(None, y, y)


def test_get_and_serialization_round_trip():
    assert metrics.get(None) is None
    assert type(metrics.get("accuracy")) is metrics.Accuracy
    assert type(metrics.get("msle")) is metrics.MeanSquaredLogarithmicError
    with pytest.raises(ValueError, match="Could not interpret metric identifier: acc"):
        metrics.get("acc")
    with pytest.raises(ValueError, match="Could not interpret metric identifier: 3"):
        metrics.get(3)
    auc = metrics.AUC(curve="PR", num_thresholds=7, name="pr")
    restored = metrics.deserialize(metrics.serialize(auc))
    assert type(restored) is metrics.AUC and restored.get_config() == auc.get_config()
    wrapper = metrics.MeanMetricWrapper(metrics.binary_accuracy, threshold=0.3)
    restored = metrics.deserialize(metrics.serialize(wrapper))
    assert restored.get_config() == wrapper.get_config()
    assert _run(restored, ([1, 1], [0.4, 0.2])) == 0.5


def test_mismatched_sample_counts_raise_naming_both_shapes():
    for metric in [metrics.BinaryAccuracy(), metrics.MeanSquaredError(), metrics.AUC(), metrics.RootMeanSquaredError()]:
        with pytest.raises(ValueError, match=r"y_true.shape=\(4,\), y_pred.shape=\(3, 1\)"):
            metric.update_state(np.zeros(4), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"sample_weight.shape=\(3,\)"):
        metrics.Mean().update_state(np.zeros(4), sample_weight=np.ones(3))


def test_bad_arguments_raise_keras_messages():
    with pytest.raises(ValueError, match='Invalid AUC curve value: "foo"'):
        metrics.AUC(curve="foo")
    with pytest.raises(ValueError, match='Invalid AUC summation method value: "foo"'):
        metrics.AUC(summation_method="foo")
    with pytest.raises(ValueError, match=r"`num_thresholds` must be an integer > 1. Received: num_thresholds=1"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]. Received: \[1.5\]"):
        metrics.Precision(thresholds=1.5)


def test_confusion_counts_match_a_direct_comparison_at_every_threshold():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, size=(50, 3))
    y_pred = rng.random((50, 3)).astype(np.float32)
    weights = rng.random(50)
    thresholds = np.array([0.9, 0.1, 0.5, 0.3], dtype=np.float32)
    counts = confusion_counts(y_true, y_pred, thresholds, sample_weight=weights)
    above = y_pred[None] > thresholds[:, None, None]
    w = np.broadcast_to(weights[:, None], y_pred.shape)
    np.testing.assert_allclose(counts.true_positives, ((above & (y_true == 1)) * w).sum(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(counts.false_positives, ((above & (y_true == 0)) * w).sum(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(counts.true_negatives, ((~above & (y_true == 0)) * w).sum(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(counts.false_negatives, ((~above & (y_true == 1)) * w).sum(axis=(1, 2)), rtol=1e-6)


def test_auc_roc_equals_rank_statistic_when_scores_fall_in_distinct_buckets():
    # With 1001 thresholds and well-separated scores, ROC AUC is the Mann-Whitney probability.
    scores = np.array([0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95], dtype=np.float32)
    labels = np.array([0, 1, 0, 0, 1, 1, 0])
    pairs = [(p, n) for p in scores[labels == 1] for n in scores[labels == 0]]
    expected = np.mean([p > n for p, n in pairs])
    assert metrics.AUC(num_thresholds=1001)(labels, scores) == pytest.approx(expected, rel=1e-6)


def test_update_state_is_fast_enough_for_every_batch():
    import time

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, size=(4096, 1))
    y_pred = rng.random((4096, 1)).astype(np.float32)
    auc = metrics.AUC()
    start = time.perf_counter()
    for _ in range(50):
        auc.update_state(y_true, y_pred)
    assert (time.perf_counter() - start) / 50 < 0.01

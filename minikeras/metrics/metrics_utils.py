"""Sample-count checks, safe division and the weighted confusion counts shared by the metric classes."""
from collections import namedtuple

import numpy as np

from minikeras import backend
from minikeras.losses import squeeze_or_expand_to_same_rank

# Keras's stand-in for minus infinity: predictions outside the top k are pushed down to it.
NEG_INF = -1e10

ConfusionCounts = namedtuple(
    "ConfusionCounts", ["true_positives", "false_positives", "true_negatives", "false_negatives"]
)


def check_sample_counts(y_true, y_pred):
    """Raise before any work when the batch dimensions of y_true and y_pred disagree."""
    if y_true.ndim and y_pred.ndim and y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            "`y_true` and `y_pred` must contain the same number of samples. "
            f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
        )


def divide_no_nan(numerator, denominator):
    """numerator / denominator, and 0 wherever the denominator is 0."""
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    quotient = np.zeros(numerator.shape, dtype=np.result_type(numerator, denominator))
    np.divide(numerator, denominator, out=quotient, where=denominator != 0)
    return quotient


def to_python(value):
    """A metric's state-derived result: a Python float for a scalar, else the array."""
    value = np.asarray(value)
    return float(value.reshape(-1)[0]) if value.size == 1 else value


def is_evenly_distributed_thresholds(thresholds):
    """True for Keras's `i / (n - 1)` grids (n >= 3), which take the bucketing fast path."""
    count = len(thresholds)
    if count < 3:
        return False
    grid = np.arange(count, dtype=np.float32) / (count - 1)
    return bool(np.allclose(thresholds, grid, atol=backend.epsilon()))


def filter_top_k(y_pred, k):
    """Keep each row's k largest entries (ties: lowest index first) and set the rest to NEG_INF."""
    kept = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    filtered = np.full_like(y_pred, NEG_INF)
    np.put_along_axis(filtered, kept, np.take_along_axis(y_pred, kept, axis=-1), axis=-1)
    return filtered


def _align_sample_weight(sample_weight, y_true, y_pred):
    """Keras's alignment: weights per sample (or per entry) broadcast over y_pred's trailing axes."""
    sample_weight = np.asarray(sample_weight, dtype=y_pred.dtype)[..., None]
    _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if sample_weight.ndim < y_pred.ndim:
        sample_weight = sample_weight.reshape(sample_weight.shape + (1,) * (y_pred.ndim - sample_weight.ndim))
    return np.broadcast_to(sample_weight, y_pred.shape)


def _bucket_indices(y_pred, thresholds, evenly_distributed):
    """Index of the highest threshold each prediction exceeds (-1: none, also for NaN), so that
    `y_pred > thresholds[i]` exactly when the bucket is >= i."""
    if evenly_distributed:
        # Keras's fast path: clip to [0, 1], bucket = ceil(p * (n - 1)) - 1, computed in the metric dtype;
        # grids with epsilon-widened ends (AUC's) count p = 0 above the first threshold.
        intervals = y_pred.dtype.type(len(thresholds) - 1)
        buckets = np.ceil(np.clip(y_pred, 0, 1) * intervals) - 1
        if thresholds[0] < 0 or thresholds[-1] > 1:
            np.maximum(buckets, 0, out=buckets)
    else:
        buckets = np.searchsorted(thresholds, y_pred, side="left") - 1
    return np.where(np.isnan(y_pred), -1, buckets).astype(np.intp)


def confusion_counts(
    y_true, y_pred, thresholds, sample_weight=None, top_k=None, class_id=None, evenly_distributed=False
):
    """Weighted TP/FP/TN/FN of `y_pred > t` against `y_true != 0` for every threshold t (in the given order).

    All entries of y_pred count (flattened); one bincount over threshold buckets plus a reverse
    cumulative sum replaces a comparison per threshold.
    """
    y_pred = np.asarray(y_pred)
    dtype = y_pred.dtype if y_pred.dtype.kind == "f" else np.dtype("float32")
    y_pred = y_pred.astype(dtype, copy=False)
    y_true = np.asarray(y_true)
    check_sample_counts(y_true, y_pred)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = _align_sample_weight(sample_weight, y_true, y_pred)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape "
                f"(num_samples, num_classes), found shape: {y_pred.shape}"
            )
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
        if sample_weight is not None:
            sample_weight = sample_weight[..., class_id]
    is_positive = np.broadcast_to(y_true != 0, y_pred.shape).ravel()
    weights = np.ones(is_positive.shape) if sample_weight is None else sample_weight.ravel()
    thresholds = np.asarray(thresholds, dtype=dtype)
    ascending = np.argsort(thresholds, kind="stable")
    buckets = _bucket_indices(y_pred.ravel(), thresholds[ascending], evenly_distributed)
    positive_weights = np.where(is_positive, weights, 0.0)
    negative_weights = weights - positive_weights
    given_order = np.argsort(ascending)
    true_positives = _weight_above_each_threshold(buckets, positive_weights, len(thresholds))[given_order]
    false_positives = _weight_above_each_threshold(buckets, negative_weights, len(thresholds))[given_order]
    return ConfusionCounts(
        true_positives=true_positives.astype(dtype),
        false_positives=false_positives.astype(dtype),
        true_negatives=(negative_weights.sum() - false_positives).astype(dtype),
        false_negatives=(positive_weights.sum() - true_positives).astype(dtype),
    )


def _weight_above_each_threshold(buckets, weights, num_thresholds):
    """sum(weights[buckets >= i]) for every threshold index i."""
    counted = buckets >= 0
    per_bucket = np.bincount(buckets[counted], weights=weights[counted], minlength=num_thresholds)
    return np.cumsum(per_bucket[::-1])[::-1]

"""Accuracy metrics: per-sample match functions (Keras's names) and their MeanMetricWrapper classes."""
import numpy as np

from minikeras import backend
from minikeras.metrics.metrics_utils import squeeze_or_expand_to_same_rank
from minikeras.metrics.reduction_metrics import MeanMetricWrapper
from minikeras.utils.argument_validation import check_integer


def _as_float(matches):
    return matches.astype(backend.floatx())


def accuracy(y_true, y_pred):
    """1 where y_pred equals y_true exactly, else 0 (elementwise)."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true, dtype=y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return _as_float(y_true == y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where (y_pred > threshold) equals y_true (strictly greater: 0.5 counts as class 0)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(np.asarray(y_true), np.asarray(y_pred))
    return _as_float(y_true == (y_pred > threshold))


def categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_pred) equals argmax(y_true) over the last axis (ties: first index)."""
    return _as_float(np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_pred) over the last axis equals the integer label; labels (N,) or (N, 1)."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return _as_float(y_true == np.argmax(y_pred, axis=-1))


def _in_top_k(labels, scores, k):
    """TF's in_top_k: the label's score is beaten by fewer than k scores (ties all count as in);
    False for a row holding a non-finite score. Returns the labels' shape."""
    scores = scores.reshape(-1, scores.shape[-1])
    flat_labels = labels.reshape(-1, 1).astype(np.intp)
    label_scores = np.take_along_axis(scores, flat_labels, axis=-1)
    in_top = (scores > label_scores).sum(axis=-1) < k
    in_top &= np.isfinite(scores).all(axis=-1)
    return in_top.reshape(labels.shape)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the one-hot target's class is among the k highest predictions."""
    return _as_float(_in_top_k(np.argmax(y_true, axis=-1), np.asarray(y_pred), k))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the integer target is among the k highest predictions."""
    return _as_float(_in_top_k(np.asarray(y_true), np.asarray(y_pred), k))


class Accuracy(MeanMetricWrapper):
    """Mean of `accuracy`: how often y_pred equals y_true exactly."""

    _direction = "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """Mean of `binary_accuracy`: how often (y_pred > threshold) matches the 0/1 label."""

    _direction = "up"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """Mean of `categorical_accuracy`: how often the argmax matches the one-hot label."""

    _direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """Mean of `sparse_categorical_accuracy`: how often the argmax matches the integer label."""

    _direction = "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """Mean of `top_k_categorical_accuracy`: how often the one-hot target is in the top k."""

    _direction = "up"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        check_integer(k, "k", minimum=1)
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """Mean of `sparse_top_k_categorical_accuracy`: how often the integer target is in the top k."""

    _direction = "up"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        check_integer(k, "k", minimum=1)
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

"""Metrics built on weighted confusion counts at thresholds: Precision, Recall, AUC."""
import numpy as np

from minikeras import backend
from minikeras.metrics.metric import Metric
from minikeras.metrics.metrics_utils import (
    NEG_INF,
    confusion_counts,
    divide_no_nan,
    is_evenly_distributed_thresholds,
    to_python,
)

_AUC_CURVES = {"roc": "ROC", "pr": "PR"}
_AUC_SUMMATION_METHODS = ("interpolation", "majoring", "minoring")


def _parse_thresholds(thresholds, default):
    """A list of thresholds, each checked to lie in [0, 1] (Keras's words)."""
    if thresholds is None:
        return [default]
    thresholds = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    invalid = [t for t in thresholds if t is None or t < 0 or t > 1]
    if invalid:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
    return thresholds


class _ThresholdedRatio(Metric):
    """tp / (tp + other) at each threshold, a prediction counting as positive when y_pred > threshold;
    `other` is the false-positive (Precision) or false-negative (Recall) weight, accumulated over batches.

    With `top_k`, only each row's k largest predictions count; with `class_id`, only that column.
    """

    _direction = "up"

    other_count = None

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _parse_thresholds(thresholds, default=0.5 if top_k is None else NEG_INF)
        self._evenly_distributed = is_evenly_distributed_thresholds(self.thresholds)
        self.true_positives = self.add_variable((len(self.thresholds),), "true_positives")
        setattr(self, self.other_count, self.add_variable((len(self.thresholds),), self.other_count))

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(
            y_true,
            np.asarray(y_pred, dtype=self.dtype),
            self.thresholds,
            sample_weight=sample_weight,
            top_k=self.top_k,
            class_id=self.class_id,
            evenly_distributed=self._evenly_distributed,
        )
        self.true_positives.value += counts.true_positives
        getattr(self, self.other_count).value += getattr(counts, self.other_count)

    def result(self):
        true_positives = self.true_positives.value
        return to_python(divide_no_nan(true_positives, true_positives + getattr(self, self.other_count).value))

    def get_config(self):
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_ThresholdedRatio):
    """tp / (tp + fp): the weighted fraction of positive predictions that are truly positive."""

    other_count = "false_positives"


class Recall(_ThresholdedRatio):
    """tp / (tp + fn): the weighted fraction of true positives that are predicted positive."""

    other_count = "false_negatives"


class AUC(Metric):
    """Area under the ROC or PR curve, approximated from confusion counts at fixed thresholds.

    Thresholds: 0 - epsilon, then i / (num_thresholds - 1), then 1 + epsilon (or the given ones
    between the two ends). Area: sum over adjacent thresholds of dx * height, the height being the
    mean (interpolation), min (minoring) or max (majoring) of the two y values; PR with
    interpolation uses Davis & Goadrich's interpolation of precision between the points.
    """

    _direction = "up"

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        if str(curve).lower() not in _AUC_CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC"]')
        if str(summation_method).lower() not in _AUC_SUMMATION_METHODS:
            raise ValueError(
                f'Invalid AUC summation method value: "{summation_method}". '
                'Expected values are ["interpolation", "majoring", "minoring"]'
            )
        if multi_label or num_labels is not None or label_weights is not None:
            raise NotImplementedError("minikeras's AUC supports only multi_label=False without label_weights.")
        if thresholds is not None:
            inner = sorted(thresholds)
            self.num_thresholds = len(inner) + 2
            self._evenly_distributed = is_evenly_distributed_thresholds([0.0] + inner + [1.0])
        else:
            if num_thresholds <= 1:
                raise ValueError(
                    f"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds={num_thresholds}"
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly_distributed = True
        self._init_from_thresholds = thresholds is not None
        self._thresholds = np.array([0.0 - backend.epsilon()] + inner + [1.0 + backend.epsilon()])
        self.curve = _AUC_CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        self._from_logits = from_logits
        super().__init__(name=name, dtype=dtype)
        shape = (self.num_thresholds,)
        self.true_positives = self.add_variable(shape, "true_positives")
        self.false_positives = self.add_variable(shape, "false_positives")
        self.true_negatives = self.add_variable(shape, "true_negatives")
        self.false_negatives = self.add_variable(shape, "false_negatives")

    @property
    def thresholds(self):
        return list(self._thresholds)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred, dtype=self.dtype)
        if self._from_logits:
            y_pred = 1 / (1 + np.exp(-y_pred))
        counts = confusion_counts(
            y_true, y_pred, self._thresholds, sample_weight=sample_weight, evenly_distributed=self._evenly_distributed
        )
        self.true_positives.value += counts.true_positives
        self.false_positives.value += counts.false_positives
        self.true_negatives.value += counts.true_negatives
        self.false_negatives.value += counts.false_negatives

    def result(self):
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        if self.curve == "PR" and self.summation_method == "interpolation":
            return float(self._interpolated_pr_auc(tp, fp, fn))
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))

    @staticmethod
    def _interpolated_pr_auc(tp, fp, fn):
        """Davis & Goadrich (2006): between adjacent thresholds, precision is interpolated along
        tp = slope * p + intercept (p = tp + fp), which integrates to a log term."""
        predicted_positive = tp + fp
        d_tp = tp[:-1] - tp[1:]
        d_p = predicted_positive[:-1] - predicted_positive[1:]
        slope = divide_no_nan(d_tp, np.maximum(d_p, 0))
        intercept = tp[1:] - slope * predicted_positive[1:]
        both_positive = (predicted_positive[:-1] > 0) & (predicted_positive[1:] > 0)
        p_ratio = np.where(
            both_positive, divide_no_nan(predicted_positive[:-1], np.maximum(predicted_positive[1:], 0)), 1
        ).astype(tp.dtype)
        increments = divide_no_nan(slope * (d_tp + intercept * np.log(p_ratio)), np.maximum(tp[1:] + fn[1:], 0))
        return np.sum(increments)

    def get_config(self):
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": False,
            "num_labels": None,
            "label_weights": None,
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config

"""Sum, Mean and MeanMetricWrapper: (weighted) reductions of per-sample values over batches."""
import numpy as np

from minikeras.metrics.metric import Metric
from minikeras.metrics.metrics_utils import check_sample_counts, squeeze_or_expand_to_same_rank


def _reduce_from_axis(x, reduce_fn, first_axis):
    return reduce_fn(x, axis=tuple(range(first_axis, x.ndim))) if x.ndim > first_axis else x


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Keras's reduction of `values` (and weights) to one entry per sample, weights applied.

    Axes of `values` beyond the weights' rank are reduced first, then values *= weights, then
    both are reduced over every axis but the first. Returns (values, weights or None).
    """
    try:
        values = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"`values` must be numbers. Received: values={values!r}") from None
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        if values.ndim and sample_weight.ndim and values.shape[0] != sample_weight.shape[0] != 1:
            raise ValueError(
                "`sample_weight` must contain one weight per sample. "
                f"Received: values.shape={values.shape}, sample_weight.shape={sample_weight.shape}"
            )
        values = _reduce_from_axis(values, reduce_fn, sample_weight.ndim)
        sample_weight = np.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        sample_weight = _reduce_from_axis(sample_weight, reduce_fn, 1)
    return _reduce_from_axis(values, reduce_fn, 1), sample_weight


class Sum(Metric):
    """Weighted sum of all values seen: total += sum(values * sample_weight)."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise_values(values, sample_weight, np.sum, self.dtype)
        self.total.value += values.sum()

    def result(self):
        return float(self.total.value)


class Mean(Metric):
    """Weighted mean of all values seen: total += sum(v * w), count += sum(w); result total / count.

    Without weights every sample counts once; the engine feeds it the batch loss with
    `sample_weight=batch_size` to get the batch-size-weighted epoch loss.
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "total")
        self.count = self.add_variable((), "count")

    def update_state(self, values, sample_weight=None):
        if isinstance(values, float) and isinstance(sample_weight, int):
            # The engine's per-batch loss: the same float32 arithmetic as below, without its array calls.
            dtype = self.total.value.dtype.type
            self.total.value += dtype(values) * dtype(sample_weight)
            self.count.value += dtype(sample_weight)
            return
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, np.mean, self.dtype)
        self.total.value += values.sum()
        if sample_weight is not None:
            self.count.value += sample_weight.sum()
        else:
            self.count.value += values.shape[0] if values.ndim else 1

    def result(self):
        count = self.count.value  # a scalar: plain division, the same float32 quotient as divide_no_nan's
        return float(self.total.value / count) if count != 0 else 0.0


class MeanMetricWrapper(Mean):
    """Mean over batches of a stateless per-sample function: values = fn(y_true, y_pred, **kwargs)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        check_sample_counts(y_true, y_pred)
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight=sample_weight)

    def get_config(self):
        config = {**super().get_config(), **self._fn_kwargs}
        if type(self) is MeanMetricWrapper:
            from minikeras.metrics import serialize  # the function registry lives in the package

            config["fn"] = serialize(self._fn)
        return config

    @classmethod
    def from_config(cls, config):
        if "fn" in config:
            from minikeras.metrics import deserialize  # the function registry lives in the package

            config = {**config, "fn": deserialize(config["fn"])}
        return cls(**config)

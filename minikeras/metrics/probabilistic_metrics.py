"""Crossentropy metrics: means over batches of the per-sample crossentropies of `minikeras.losses`."""
from minikeras import losses
from minikeras.metrics.reduction_metrics import MeanMetricWrapper


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean over samples of -mean(y log p + (1 - y) log(1 - p)) over the last axis (p clipped to [eps, 1-eps])."""

    _direction = "down"

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(
            losses.binary_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean over samples of -sum(y log p) over the class axis (p renormalised, then clipped)."""

    _direction = "down"

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(
            losses.categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean over samples of -log p[label] (p renormalised, then clipped); labels (N,) or (N, 1)."""

    _direction = "down"

    def __init__(
        self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None, axis=-1
    ):
        if ignore_class is not None:
            # Keras also drops the ignored samples from the count (through a mask minikeras does not carry).
            raise NotImplementedError("minikeras's SparseCategoricalCrossentropy metric does not support ignore_class.")
        super().__init__(
            losses.sparse_categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
            axis=axis,
        )

"""MonitorCallback: shared logic of callbacks that watch one logged quantity for improvement."""
import operator
import warnings

import numpy as np

from minikeras.callbacks.callback import Callback
from minikeras.utils.argument_validation import check_number


class MonitorCallback(Callback):
    """Tracks whether `monitor` improves: in min mode v improves on ref when v + min_delta < ref,
    in max mode when v - min_delta > ref (ref None always improves).

    Mode 'auto' minimises `loss`/`val_loss`, otherwise follows the `_direction` ('up'/'down') of the
    model's metric of that name, and raises if none tells. Like Keras, both sides compare as float32.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(f"`monitor` must be the name of a logged quantity (a str). Received: monitor={monitor!r}")
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                stacklevel=3,
            )
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(check_number(min_delta, "min_delta"))
        self.monitor_op = None

    def _set_monitor_op(self):
        """Chooses the comparison on the first epoch end, once the model's metrics exist."""
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            self.monitor_op = self._inferred_monitor_op()
        if self.monitor_op is operator.lt:
            self.min_delta *= -1

    def _inferred_monitor_op(self):
        metric_name = self.monitor.removeprefix("val_")
        monitor_op = operator.lt if metric_name == "loss" else None
        for metric in self._model_metrics():
            if metric.name == metric_name and getattr(metric, "_direction", None):
                monitor_op = operator.gt if metric._direction == "up" else operator.lt
        if monitor_op is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor}, but Keras isn't able "
                "to automatically determine whether that metric should be maximized or minimized. "
                "Pass `mode='max'` in order to monitor based on the highest metric value, or pass "
                "`mode='min'` in order to use the lowest value."
            )
        return monitor_op

    def _model_metrics(self):
        """The model's metrics, with containers (objects holding a `metrics` list) opened one level."""
        found = []
        for metric in getattr(self.model, "metrics", None) or []:
            found.extend(getattr(metric, "metrics", None) or [metric])
        return found

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        return bool(self.monitor_op(np.float32(monitor_value - self.min_delta), np.float32(reference_value)))

"""Metrics: stateful Metric classes, their per-sample functions, and Keras's lookup by name."""
import inspect

from minikeras.backend import to_snake_case
from minikeras.metrics.accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from minikeras.metrics.confusion_metrics import AUC, Precision, Recall
from minikeras.metrics.metric import Metric
from minikeras.metrics.probabilistic_metrics import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
from minikeras.metrics.reduction_metrics import Mean, MeanMetricWrapper, Sum
from minikeras.metrics.regression_metrics import (
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    RootMeanSquaredError,
)
from minikeras.saving.serialization_lib import by_name, get_object, serialize_function, serialize_keras_object

_CLASSES = (
    Metric,
    Mean,
    Sum,
    MeanMetricWrapper,
    MeanSquaredError,
    RootMeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    AUC,
    Precision,
    Recall,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
)
# As in Keras, a string names a class (by its name or snake_case name, or an alias), never a function.
_OBJECTS_BY_NAME = {
    **by_name(_CLASSES),
    "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
}
_FUNCTIONS = {
    fn.__name__: fn
    for fn in (
        accuracy,
        binary_accuracy,
        categorical_accuracy,
        sparse_categorical_accuracy,
        top_k_categorical_accuracy,
        sparse_top_k_categorical_accuracy,
    )
}
_ACCURACY_ALIASES = ("accuracy", "acc")


def serialize(metric):
    """Keras's config dict of a Metric instance or a metric function."""
    if isinstance(metric, Metric):
        return serialize_keras_object(metric, "keras.metrics")
    if inspect.isfunction(metric):
        return serialize_function(metric)
    raise TypeError(f"Expected a Metric instance or a metric function. Received: metric={metric!r}")


def deserialize(config, custom_objects=None):
    """A Metric (or metric function) from `serialize`'s dict, or a Metric from a class name/alias."""
    custom_objects = custom_objects or {}
    if isinstance(config, dict) and config.get("class_name") == "function":
        return _lookup({**_FUNCTIONS, **custom_objects}, config.get("config"), config)
    if isinstance(config, dict):
        cls = _lookup({**_OBJECTS_BY_NAME, **custom_objects}, config.get("class_name"), config)
        return cls.from_config(config.get("config") or {})
    found = _lookup({**_OBJECTS_BY_NAME, **custom_objects}, config, config)
    return found() if inspect.isclass(found) else found


def _lookup(table, key, identifier):
    if not isinstance(key, str) or key not in table:
        raise ValueError(f"Could not interpret metric identifier: {identifier}")
    return table[key]


def get(identifier):
    """Keras's `metrics.get`: None, a class name/alias string, a config dict, a class, an instance or a function."""
    return get_object(identifier, _OBJECTS_BY_NAME, "metric", deserialize)


def _accuracy_class_for(y_true, y_pred):
    """Keras's choice for 'accuracy'/'acc', from shapes alone: one output unit -> binary;
    labels of lower rank than the predictions, or ending in 1 -> sparse; else categorical."""
    true_shape, pred_shape = _shape(y_true), _shape(y_pred)
    if pred_shape[-1] == 1:
        return BinaryAccuracy
    if len(true_shape) < len(pred_shape) or true_shape[-1] == 1:
        return SparseCategoricalAccuracy
    return CategoricalAccuracy


def _shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else tuple(x)


def resolve(identifier, y_true, y_pred):
    """The Metric that `compile(metrics=[identifier])` uses for this output, as Keras builds it.

    `y_true`/`y_pred` are the first batch's arrays (or their shapes). A string keeps its exact text as
    the metric's name (the History key); a function is wrapped in MeanMetricWrapper and named after it.
    """
    if identifier is None:
        raise ValueError("Expected metric, received `None`")
    if str(identifier).lower() in _ACCURACY_ALIASES:
        metric = _accuracy_class_for(y_true, y_pred)(name=str(identifier))
    else:
        metric = get(identifier)
    if isinstance(identifier, str):
        name = identifier
    elif hasattr(metric, "name"):
        name = metric.name
    else:
        name = to_snake_case(metric.__name__)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric)
    metric.name = name
    return metric


__all__ = [
    "AUC",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "Precision",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "Sum",
    "TopKCategoricalAccuracy",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "deserialize",
    "get",
    "resolve",
    "serialize",
    "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]

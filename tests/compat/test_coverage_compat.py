"""Every loss, metric, activation and optimizer minikeras has, on small random problems drawn by hypothesis,
against real Keras: options the hand-picked cases of the other compat files leave at their defaults
(random Huber deltas, label smoothing, ignore_class, thresholds, k, axes, activation options, optimizer
hyperparameters with clipping, EMA and weight decay), data with repeated values, exact 0 and 1
probabilities, ties and kinks, and random shapes.

Each test loops over its family's names and runs one hypothesis search per name, so every name is
searched and real Keras's clear_session is paid once per family. The differences the searches found
that are Keras's (TensorFlow's) own choices at single points are pinned by the tests at the end.
"""
import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minikeras import activations, losses, metrics, optimizers
from tests.compat.test_optimizers_compat import assert_same_state, run_both

SEARCH = settings(max_examples=25, deadline=None, database=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow])
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None]


def _floats(low, high):
    """float32 values in [low, high], none within 1e-6 of zero but zero itself: TensorFlow rounds
    exp(x) - 1 to 0 for |x| < 1e-16 (selu's gradient at x = -1e-28 takes its x >= 0 branch there) and
    flushes subnormals to zero, differences no network meets."""
    floats = st.floats(float(np.float32(low)), float(np.float32(high)), width=32, allow_subnormal=False)
    return floats.map(lambda value: 0.0 if abs(value) < 1e-6 else value)


def _array(draw, shape, low, high):
    return draw(hnp.arrays(np.float32, shape, elements=_floats(low, high)))


def _labels(draw, shape, classes):
    return draw(hnp.arrays(np.int64, shape, elements=st.integers(0, classes - 1)))


def _one_hot(labels, classes):
    return np.eye(classes, dtype=np.float32)[labels]


def _distribution(draw, shape):
    """Rows of non-negative weights summing to 1 (a row of zeros stays zeros: an edge Keras handles too)."""
    weights = _array(draw, shape, 0, 1)
    totals = weights.sum(axis=-1, keepdims=True)
    return np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)


# Data kinds: (y_true, y_pred) pairs of one shape (batch, classes).
def _pair(draw, kind, shape):
    classes = shape[-1]
    if kind == "real":
        return _array(draw, shape, -10, 10), _array(draw, shape, -10, 10)
    if kind == "positive":
        return _array(draw, shape, 0, 5), _array(draw, shape, 0, 5)
    if kind == "binary":
        return _labels(draw, shape, 2).astype(np.float32), _array(draw, shape, 0, 1)
    if kind == "binary_logits":
        return _labels(draw, shape, 2).astype(np.float32), _array(draw, shape, -20, 20)
    if kind == "signs":
        labels = _labels(draw, shape, 2).astype(np.float32)
        return (2 * labels - 1 if draw(st.booleans()) else labels), _array(draw, shape, -3, 3)
    if kind == "onehot":
        return _one_hot(_labels(draw, shape[:1], classes), classes), _distribution(draw, shape)
    if kind == "onehot_logits":
        return _one_hot(_labels(draw, shape[:1], classes), classes), _array(draw, shape, -20, 20)
    if kind == "soft":
        return _distribution(draw, shape), _array(draw, shape, 0, 1)
    raise AssertionError(kind)


def _shape(draw, min_classes=1):
    return draw(st.integers(1, 4)), draw(st.integers(min_classes, 4))


def _sample_weight(draw, length):
    return _array(draw, (length,), 0, 2) if draw(st.booleans()) else None


def _with_data_kind(options, kind):
    """(options, kind of data): logits instead of probabilities when the options say from_logits."""
    return options, f"{kind}_logits" if options["from_logits"] else kind


def _search(check, *args):
    """One hypothesis search over check(draw, *args)."""
    @SEARCH
    @given(st.data())
    def search(data):
        check(data.draw, *args)

    search()


def _public_classes(module, base):
    """The concrete classes a user can name: every public subclass of `base` but the base classes."""
    abstract = {"Loss", "LossFunctionWrapper", "Metric", "MeanMetricWrapper", "Optimizer"}
    return {name for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, base) and name not in abstract and name[0] != "_"}


# ---------------------------------------------------------------------------------------------- losses
def _cross_entropy_options(draw, axes=(-1,)):
    return {"from_logits": draw(st.booleans()), "label_smoothing": draw(st.sampled_from([0.0, 0.1, 0.5])),
            "axis": draw(st.sampled_from(axes))}


LOSSES = {
    # name: draw (options, data kind)
    "MeanSquaredError": lambda draw: ({}, "real"),
    "MeanAbsoluteError": lambda draw: ({}, "real"),
    "MeanAbsolutePercentageError": lambda draw: ({}, "real"),
    "MeanSquaredLogarithmicError": lambda draw: ({}, "positive"),
    "Huber": lambda draw: ({"delta": draw(_floats(0.05, 5))}, "real"),
    "LogCosh": lambda draw: ({}, "real"),
    "KLDivergence": lambda draw: ({}, "soft"),
    "Poisson": lambda draw: ({}, "positive"),
    "Hinge": lambda draw: ({}, "signs"),
    "SquaredHinge": lambda draw: ({}, "signs"),
    "CategoricalHinge": lambda draw: ({}, "onehot"),
    "CosineSimilarity": lambda draw: ({"axis": draw(st.sampled_from([-1, 0]))}, "real"),
    "BinaryCrossentropy": lambda draw: _with_data_kind(_cross_entropy_options(draw), "binary"),
    "CategoricalCrossentropy": lambda draw: _with_data_kind(_cross_entropy_options(draw, axes=(-1, 0)), "onehot"),
}


def _keras_loss_value_and_gradient(keras_loss, y_true, y_pred, sample_weight):
    import tensorflow as tf

    variable = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        value = keras_loss(y_true, variable, sample_weight=sample_weight)
    return np.asarray(value), np.asarray(tape.gradient(value, variable))


def _compare_loss(keras, name, options, y_true, y_pred, sample_weight):
    label = f"{name}({options}) y_true={y_true!r} y_pred={y_pred!r} sample_weight={sample_weight!r}"
    expected, expected_grad = _keras_loss_value_and_gradient(getattr(keras.losses, name)(**options),
                                                             y_true, y_pred, sample_weight)
    value, grad = getattr(losses, name)(**options).value_and_gradient(y_true, y_pred, sample_weight=sample_weight)
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6, err_msg=label)
    # float32 rounding scales with the largest gradient entry (cosine similarity of tiny vectors
    # reaches thousands): an entry that is 0 in exact arithmetic may round to +-1e-7 of that scale
    scale = max(1.0, float(np.max(np.abs(expected_grad))))
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-6 * scale, err_msg=label)


def _check_loss(draw, keras, name, draw_options):
    options, kind = draw_options(draw)
    options["reduction"] = draw(st.sampled_from(REDUCTIONS))
    shape = _shape(draw, min_classes=2 if kind.startswith("onehot") else 1)
    y_true, y_pred = _pair(draw, kind, shape)
    if options.get("axis") == 0:  # the class axis first: one-hot columns instead of rows
        if options.get("from_logits"):  # Keras smooths over the last axis: rows no longer sum to 1
            options["label_smoothing"] = 0.0
        y_true, y_pred, shape = y_true.T.copy(), y_pred.T.copy(), shape[::-1]
    samples = shape[1] if options.get("axis") == 0 else shape[0]
    _compare_loss(keras, name, options, y_true, y_pred, _sample_weight(draw, samples))


def _check_sparse_loss(draw, keras):
    batch, classes = _shape(draw, min_classes=2)
    options = {"from_logits": draw(st.booleans()), "reduction": draw(st.sampled_from(REDUCTIONS)),
               "ignore_class": draw(st.sampled_from([None, 0, classes - 1]))}
    labels = _labels(draw, draw(st.sampled_from([(batch,), (batch, 1)])), classes)
    y_pred = (_array(draw, (batch, classes), -20, 20) if options["from_logits"]
              else _distribution(draw, (batch, classes)))
    _compare_loss(keras, "SparseCategoricalCrossentropy", options, labels, y_pred, _sample_weight(draw, batch))


def test_every_loss_on_random_problems(keras):
    assert set(LOSSES) | {"SparseCategoricalCrossentropy"} == _public_classes(losses, losses.Loss)
    for name, draw_options in LOSSES.items():
        _search(_check_loss, keras, name, draw_options)
    _search(_check_sparse_loss, keras)


def test_cross_entropy_from_logits_gradient_with_label_rows_not_summing_to_one(keras):
    y_true = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]], np.float32)
    logits = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -1.0]], np.float32)
    _compare_loss(keras, "CategoricalCrossentropy", {"from_logits": True}, y_true, logits, None)


# ---------------------------------------------------------------------------------------------- metrics
def _confusion_options(draw):
    options = draw(st.sampled_from([
        {}, {"thresholds": draw(st.lists(_floats(0, 1), min_size=1, max_size=4))},
        {"top_k": draw(st.integers(1, 2))}, {"class_id": draw(st.integers(0, 1))},
        {"thresholds": draw(_floats(0, 1)), "class_id": 1},
    ]))
    return options, "binary"


METRICS = {
    # name: draw (options, data kind)
    "Accuracy": lambda draw: ({}, "exact"),
    "BinaryAccuracy": lambda draw: ({"threshold": draw(_floats(0, 1))}, "binary"),
    "CategoricalAccuracy": lambda draw: ({}, "onehot"),
    "SparseCategoricalAccuracy": lambda draw: ({}, "sparse"),
    "TopKCategoricalAccuracy": lambda draw: ({"k": draw(st.integers(1, 4))}, "onehot"),
    "SparseTopKCategoricalAccuracy": lambda draw: ({"k": draw(st.integers(1, 4))}, "sparse"),
    "MeanSquaredError": lambda draw: ({}, "real"),
    "MeanAbsoluteError": lambda draw: ({}, "real"),
    "RootMeanSquaredError": lambda draw: ({}, "real"),
    "MeanAbsolutePercentageError": lambda draw: ({}, "real"),
    "MeanSquaredLogarithmicError": lambda draw: ({}, "positive"),
    "BinaryCrossentropy": lambda draw: _with_data_kind(
        {"from_logits": draw(st.booleans()), "label_smoothing": draw(st.sampled_from([0, 0.2]))}, "binary"),
    "CategoricalCrossentropy": lambda draw: _with_data_kind(
        {"from_logits": draw(st.booleans()), "label_smoothing": draw(st.sampled_from([0, 0.2]))}, "onehot"),
    "SparseCategoricalCrossentropy": lambda draw: _with_data_kind({"from_logits": draw(st.booleans())}, "sparse"),
    "Precision": _confusion_options,
    "Recall": _confusion_options,
    "AUC": lambda draw: ({"num_thresholds": draw(st.integers(3, 50)), "curve": draw(st.sampled_from(["ROC", "PR"])),
                          "summation_method": draw(st.sampled_from(["interpolation", "minoring", "majoring"]))},
                         "binary"),
    "Mean": lambda draw: ({}, "values"),
    "Sum": lambda draw: ({}, "values"),
}

METRIC_FUNCTIONS = {
    "accuracy": lambda draw: ({}, "exact"),
    "binary_accuracy": lambda draw: ({"threshold": draw(_floats(0, 1))}, "binary"),
    "categorical_accuracy": lambda draw: ({}, "onehot"),
    "sparse_categorical_accuracy": lambda draw: ({}, "sparse"),
    "top_k_categorical_accuracy": lambda draw: ({"k": draw(st.integers(1, 4))}, "onehot"),
    "sparse_top_k_categorical_accuracy": lambda draw: ({"k": draw(st.integers(1, 4))}, "sparse"),
}


def _metric_batch(draw, kind, batch):
    classes = draw(st.integers(2, 4))
    if kind == "exact":
        return _labels(draw, (batch, 1), 3), _labels(draw, (batch, 1), 3)
    if kind in ("sparse", "sparse_logits"):
        y_pred = _distribution(draw, (batch, classes)) if kind == "sparse" else _array(draw, (batch, classes), -9, 9)
        return _labels(draw, (batch,), classes), y_pred
    if kind == "values":
        return None, _array(draw, (batch,), -10, 10)
    return _pair(draw, kind, (batch, 2 if kind == "binary" else classes))


def _check_metric(draw, keras, name, draw_options):
    """Up to three batches, optionally weighted, with the results compared after each."""
    options, kind = draw_options(draw)
    keras_metric, metric = getattr(keras.metrics, name)(**options), getattr(metrics, name)(**options)
    for _ in range(draw(st.integers(1, 3))):
        batch = draw(st.integers(1, 5))
        y_true, y_pred = _metric_batch(draw, kind, batch)
        sample_weight = _sample_weight(draw, batch)
        arguments = (y_pred,) if y_true is None else (y_true, y_pred)
        keras_metric.update_state(*arguments, sample_weight=sample_weight)
        metric.update_state(*arguments, sample_weight=sample_weight)
        np.testing.assert_allclose(metric.result(), np.asarray(keras_metric.result()), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}({options}) y_true={y_true!r} y_pred={y_pred!r} "
                                           f"sample_weight={sample_weight!r}")


def _keras_metric_function(keras, name):
    # Keras 3 keeps `accuracy` in its accuracy module without exporting it as keras.metrics.accuracy
    from keras.src.metrics import accuracy_metrics

    return getattr(keras.metrics, name, None) or getattr(accuracy_metrics, name)


def _check_metric_function(draw, keras, name, draw_options):
    options, kind = draw_options(draw)
    y_true, y_pred = _metric_batch(draw, kind, draw(st.integers(1, 5)))
    expected = np.asarray(_keras_metric_function(keras, name)(y_true, y_pred, **options))
    actual = getattr(metrics, name)(y_true, y_pred, **options)
    label = f"{name}({options}) y_true={y_true!r} y_pred={y_pred!r}"
    assert np.shape(actual) == expected.shape, label
    np.testing.assert_array_equal(actual, expected, err_msg=label)


def test_every_metric_on_random_batches(keras):
    assert set(METRICS) == _public_classes(metrics, metrics.Metric)
    for name, draw_options in METRICS.items():
        _search(_check_metric, keras, name, draw_options)


def test_every_metric_function_per_sample(keras):
    for name, draw_options in METRIC_FUNCTIONS.items():
        _search(_check_metric_function, keras, name, draw_options)


# ---------------------------------------------------------------------------------------------- activations
ACTIVATION_OPTIONS = {
    "relu": lambda draw: {"negative_slope": draw(st.sampled_from([0.0, draw(_floats(0, 1))])),
                          "max_value": draw(st.none() | _floats(0.5, 10)),
                          "threshold": draw(st.sampled_from([0.0, draw(_floats(-2, 2))]))},
    "elu": lambda draw: {"alpha": draw(_floats(0.1, 3))},
    "celu": lambda draw: {"alpha": draw(_floats(0.1, 3))},
    "leaky_relu": lambda draw: {"negative_slope": draw(_floats(0, 1))},
    "gelu": lambda draw: {"approximate": draw(st.booleans())},
    "softmax": lambda draw: {"axis": draw(st.sampled_from([-1, 0]))},
    "log_softmax": lambda draw: {"axis": draw(st.sampled_from([-1, 0]))},
    "glu": lambda draw: {"axis": draw(st.sampled_from([-1, 0]))},
    "hard_shrink": lambda draw: {"threshold": draw(_floats(0, 2))},
    "soft_shrink": lambda draw: {"threshold": draw(_floats(0, 2))},
    # b = 0 is relu with a 0/0 derivative at x = 0 (NaN in Keras too)
    "squareplus": lambda draw: {"b": draw(_floats(0.01, 8))},
    "threshold": lambda draw: {"threshold": draw(_floats(-2, 2)), "default_value": draw(_floats(-3, 3))},
}

# Points where minikeras's derivative takes another one-sided value than TensorFlow's autodiff
# (test_gradient_at_kinks_like_tensorflow below); the search steps off them to look for anything else.
KNOWN_KINKS = {
    "celu": lambda options: [0.0],
    # relu: its threshold, 0 (where Keras's clip to [0, max_value] starts) and max_value
    "relu": lambda options: [options.get("threshold", 0.0), 0.0] + [options.get("max_value")] * (
        options.get("max_value") is not None),
}


def _off_known_kinks(name, options, x):
    for kink in KNOWN_KINKS.get(name, lambda options: [])(options):
        x = np.where(x == kink, np.nextafter(np.float32(kink), np.float32(np.inf)), x)
    return x


def _tensorflow_gradient(keras, name, options, x, grad_y):
    import tensorflow as tf

    tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        weighted = tf.reduce_sum(getattr(keras.activations, name)(tensor, **options) * grad_y)
    return tape.gradient(weighted, tensor).numpy()


def _check_activation(draw, keras, name):
    """Values in float32; gradients in float64 against TensorFlow's autodiff."""
    options = ACTIVATION_OPTIONS.get(name, lambda draw: {})(draw)
    even = 2 * draw(st.integers(1, 2))  # glu halves its axis
    x = _array(draw, (even, even), -30, 30)
    label = f"{name}({options}) x={x!r}"
    expected = np.asarray(getattr(keras.activations, name)(x, **options))
    actual = getattr(activations, name)(x, **options)
    # float32 kernels that subtract nearly equal numbers are good to a few ulps of their operands
    slack = 8 * np.finfo(np.float32).eps * np.maximum(np.abs(x).max(), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=slack, err_msg=label)

    x64 = _off_known_kinks(name, options, x).astype(np.float64)
    fn = functools.partial(getattr(activations, name), **options)
    grad_y = _array(draw, fn(x64).shape, -2, 2).astype(np.float64)
    np.testing.assert_allclose(activations.gradient(fn)(x64, fn(x64), grad_y),
                               _tensorflow_gradient(keras, name, options, x64, grad_y),
                               rtol=1e-6, atol=1e-12, err_msg=f"gradient of {label} grad_y={grad_y!r}")


def test_every_activation_on_random_arrays(keras):
    for name in sorted(activations._BY_NAME):
        _search(_check_activation, keras, name)


@pytest.mark.parametrize("name, options, kink", [("celu", {}, 0.0), ("relu", {"max_value": 1.0}, 1.0),
                                                 ("relu", {"negative_slope": 1.0}, 0.0),
                                                 ("relu", {"negative_slope": 0.3}, 0.0),
                                                 ("relu", {"max_value": 6.0}, 6.0), ("relu", {"max_value": 6.0}, 0.0),
                                                 ("relu", {"threshold": -1.0, "max_value": 1.0}, 0.0),
                                                 ("relu", {"threshold": 0.5}, 0.5),
                                                 ("relu", {"threshold": 0.5, "negative_slope": 0.2}, 0.5)])
def test_gradient_at_kinks_like_tensorflow(keras, name, options, kink):
    x, grad_y = np.array([kink]), np.ones(1)
    fn = functools.partial(getattr(activations, name), **options)
    np.testing.assert_allclose(activations.gradient(fn)(x, fn(x), grad_y),
                               _tensorflow_gradient(keras, name, options, x, grad_y), rtol=1e-6)


# ---------------------------------------------------------------------------------------------- optimizers
def _rate(draw, low=1e-4, high=0.5):
    return draw(st.floats(low, high))


OPTIMIZER_OPTIONS = {
    "SGD": lambda draw: {"learning_rate": _rate(draw), "momentum": draw(st.sampled_from([0.0, _rate(draw, 0, 0.99)])),
                         "nesterov": draw(st.booleans())},
    "Adam": lambda draw: {"learning_rate": _rate(draw), "beta_1": _rate(draw, 0, 0.99),
                          "beta_2": _rate(draw, 0.5, 0.9999), "epsilon": _rate(draw, 1e-8, 1e-2),
                          "amsgrad": draw(st.booleans())},
    "AdamW": lambda draw: {"learning_rate": _rate(draw), "weight_decay": _rate(draw, 0, 0.2),
                           "beta_1": _rate(draw, 0, 0.99), "beta_2": _rate(draw, 0.5, 0.9999),
                           "amsgrad": draw(st.booleans())},
    "RMSprop": lambda draw: {"learning_rate": _rate(draw, 1e-4, 0.05), "rho": _rate(draw, 0.1, 0.99),
                             "momentum": draw(st.sampled_from([0.0, _rate(draw, 0, 0.9)])),
                             "epsilon": _rate(draw, 1e-8, 1e-2), "centered": draw(st.booleans())},
    "Adagrad": lambda draw: {"learning_rate": _rate(draw), "initial_accumulator_value": _rate(draw, 0, 1),
                             "epsilon": _rate(draw, 1e-8, 1e-2)},
    "Adadelta": lambda draw: {"learning_rate": _rate(draw, 1e-3, 2), "rho": _rate(draw, 0.1, 0.99),
                              "epsilon": _rate(draw, 1e-8, 1e-2)},
    "Adamax": lambda draw: {"learning_rate": _rate(draw), "beta_1": _rate(draw, 0, 0.99),
                            "beta_2": _rate(draw, 0.5, 0.9999), "epsilon": _rate(draw, 1e-8, 1e-2)},
    "Nadam": lambda draw: {"learning_rate": _rate(draw), "beta_1": _rate(draw, 0, 0.99),
                           "beta_2": _rate(draw, 0.5, 0.9999), "epsilon": _rate(draw, 1e-8, 1e-2)},
}

# Options every optimizer takes (gradient_accumulation_steps is left out: minikeras rejects it)
COMMON_OPTIONS = st.sampled_from([{}, {"clipnorm": 0.5}, {"clipvalue": 0.2}, {"global_clipnorm": 0.7},
                                  {"use_ema": True, "ema_momentum": 0.9}, {"clipnorm": 1.0, "use_ema": True}])


def _check_optimizer(draw, keras, class_name):
    """Seven steps of the same gradients from the same values; variables, slots and config compared."""
    options = {**OPTIMIZER_OPTIONS[class_name](draw), **draw(COMMON_OPTIONS), "name": "searched"}
    if "weight_decay" not in options and draw(st.booleans()):
        options["weight_decay"] = _rate(draw, 0, 0.2)
    states = run_both(keras, lambda: getattr(keras.optimizers, class_name)(**options),
                      lambda: getattr(optimizers, class_name)(**options))
    assert_same_state(*states, rtol=1e-5, atol=1e-6, label=f"{class_name}({options})")


def test_every_optimizer_with_random_hyperparameters(keras):
    assert set(OPTIMIZER_OPTIONS) == _public_classes(optimizers, optimizers.Optimizer)
    for class_name in OPTIMIZER_OPTIONS:
        _search(_check_optimizer, keras, class_name)

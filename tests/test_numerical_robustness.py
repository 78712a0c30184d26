"""Numerical robustness: extreme inputs to every activation and loss, and NaN/Inf in the training data.

Extremes are float32's: 0, +-1e30, +-float32 max, the smallest normal and subnormal numbers, and the
points where exp overflows (88.7, 89) or underflows (-104). Wherever the true value and slope are
representable, minikeras must return finite ones (`tests/compat/test_numerical_robustness_compat.py`
holds the side-by-side comparison with Keras, which is not finite everywhere minikeras is).
"""
import functools
import warnings

import numpy as np
import pytest

import minikeras as keras
from minikeras import activations, losses

F32 = np.finfo(np.float32)
EXTREMES = np.array([0.0, 1.0, -1.0, 1e-45, -1e-45, F32.tiny, -F32.tiny, 88.7, 89.0, -89.0, -104.0, 1e4, -1e4,
                     1e19, -1e19, 1e30, -1e30, F32.max, -F32.max], np.float32)

ACTIVATION_CASES = [(name, {}) for name in sorted(activations._BY_NAME) if name != "threshold"] + [
    ("threshold", {"threshold": 0.3, "default_value": -2.0}),
    ("gelu", {"approximate": True}),
    ("relu", {"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5}),
    ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.0}),
    ("squareplus", {"b": 1}),
]

# Where the true result is not a float32 number (exp(89) overflows, selu(max) = 1.05 max), or where
# minikeras keeps Keras's formula and its overflow because a guard would cost a pass over the data in
# every step (squareplus's x^2 beyond 1.8e19; gelu(approximate)'s slope 0 * inf beyond 1e19): Keras
# gives the same inf/nan there.
OVERFLOWS = {
    "exponential": lambda x: x >= 89.0,
    "selu": lambda x: x == F32.max,
    "squareplus": lambda x: np.abs(x) >= 1e30,
}
SLOPE_OVERFLOWS = {
    "exponential": lambda x: x >= 89.0,
    "gelu": lambda x: np.abs(x) >= 1e30,
}


def _activation_and_slope(name, options, x):
    function = functools.partial(getattr(activations, name), **options) if options else getattr(activations, name)
    with np.errstate(over="ignore", invalid="ignore"):
        y = function(x)
        return y, activations.gradient(function)(x, y, np.ones_like(y))


@pytest.mark.parametrize("name, options", ACTIVATION_CASES)
def test_activations_are_finite_at_float32_extremes(name, options):
    x = np.stack([EXTREMES, EXTREMES[::-1]], axis=-1) if name in ("softmax", "log_softmax", "glu") else EXTREMES
    y, slope = _activation_and_slope(name, options, x)
    assert y.dtype == slope.dtype == np.float32
    inputs = x if y.shape == x.shape else x[..., :1]
    value_overflows = OVERFLOWS[name](inputs) if name in OVERFLOWS else np.zeros(inputs.shape, bool)
    # only the tanh form of gelu has the x^3 whose slope overflows
    slope_overflows = (SLOPE_OVERFLOWS[name](x) if name in SLOPE_OVERFLOWS and (name != "gelu" or options)
                       else np.zeros(x.shape, bool))
    assert np.isfinite(y[~value_overflows]).all(), inputs[~np.isfinite(y)]
    assert np.isfinite(slope[~slope_overflows]).all(), x[~np.isfinite(slope)]


@np.errstate(over="ignore")
def test_overflowing_activations_give_keras_infinities_with_the_right_sign():
    x = np.array([89.0, 1e30, F32.max, -1e30, -F32.max], np.float32)
    assert np.array_equal(activations.exponential(x), [np.inf, np.inf, np.inf, 0.0, 0.0])
    assert activations.selu(np.float32(F32.max)) == np.inf
    assert np.array_equal(activations.squareplus(x[1:]), [np.inf] * 4)


def test_squareplus_slope_is_exact_where_its_square_overflows():
    x = np.array([1e20, 1e30, F32.max, -1e20, -1e30, -F32.max], np.float32)
    _, slope = _activation_and_slope("squareplus", {}, x)
    np.testing.assert_array_equal(slope, [1, 1, 1, 0, 0, 0])


@np.errstate(over="ignore")
def test_saturated_activations_have_their_limits():
    big = np.array([1e30, F32.max], np.float32)
    for name, limit in [("sigmoid", 1.0), ("tanh", 1.0), ("hard_sigmoid", 1.0), ("softsign", 1.0),
                        ("sparse_sigmoid", 1.0)]:
        np.testing.assert_array_equal(getattr(activations, name)(big), limit, err_msg=name)
        np.testing.assert_array_equal(getattr(activations, name)(-big), -limit if name in ("tanh", "softsign")
                                      else 0.0, err_msg=name)
    for name in ("relu", "softplus", "silu", "gelu", "mish", "elu", "linear", "leaky_relu", "hard_silu"):
        np.testing.assert_array_equal(getattr(activations, name)(big), big, err_msg=name)
    np.testing.assert_array_equal(activations.log_sigmoid(-big), -big)
    np.testing.assert_array_equal(activations.softmax(np.array([[F32.max, -F32.max, 0.0]], np.float32)),
                                  [[1, 0, 0]])


# ---------------------------------------------------------------------------------------- losses
PROBABILITIES = np.array([0.0, 1e-45, F32.tiny, 1e-30, 1e-7, 0.5, 1 - 1e-7, 1.0], np.float32)
LOGITS = np.array([0.0, 1.0, -1.0, 88.7, -88.7, 104.0, -104.0, 1e19, -1e19, 1e30, -1e30], np.float32)
REGRESSION = np.array([0.0, 1.0, -1.0, 1e-45, 1e4, -1e4, 1e15, -1e15, 1e19, -1e19], np.float32)
# losses whose value and gradient grow at most linearly: finite up to the float32 limits
LINEAR_GROWTH = np.array([1e30, -1e30, F32.max / 4, -F32.max / 4], np.float32)


def _binary_rows(values):
    """y_pred of shape (N, 2): every value next to 0.3, and the matching labels 0 and 1 in turn."""
    y_pred = np.stack([values, np.full_like(values, 0.3)], axis=-1)
    y_true = (np.arange(values.size * 2).reshape(-1, 2) % 2).astype(np.float32)
    return np.concatenate([y_true, 1 - y_true]), np.concatenate([y_pred, y_pred])


def _probability_rows(values):
    """Rows (p, 1 - p) of a two-class probability, with one-hot labels of either class."""
    y_pred = np.stack([values, 1 - values], axis=-1)
    y_true = np.eye(2, dtype=np.float32)[np.arange(values.size) % 2]
    return np.concatenate([y_true, 1 - y_true]), np.concatenate([y_pred, y_pred])


def _logit_rows(values):
    """Rows (x, -x, 0) of logits, with one-hot labels of each class."""
    y_pred = np.repeat(np.stack([values, -values, np.zeros_like(values)], axis=-1), 3, axis=0)
    y_true = np.tile(np.eye(3, dtype=np.float32), (values.size, 1))
    return y_true, y_pred


def _labels_of(one_hot):
    return np.argmax(one_hot, axis=-1)


LOSS_CASES = [
    # (loss, rows builder, values): value and gradient must be finite
    (losses.BinaryCrossentropy(), _binary_rows, PROBABILITIES),
    (losses.BinaryCrossentropy(label_smoothing=0.1), _binary_rows, PROBABILITIES),
    (losses.BinaryCrossentropy(from_logits=True), _binary_rows, np.append(LOGITS, [F32.max, -F32.max])),
    (losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), _binary_rows, LOGITS),
    (losses.CategoricalCrossentropy(), _probability_rows, PROBABILITIES),
    (losses.CategoricalCrossentropy(label_smoothing=0.1), _probability_rows, PROBABILITIES),
    (losses.CategoricalCrossentropy(from_logits=True), _logit_rows, LOGITS),
    (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), _logit_rows, LOGITS),
    (losses.SparseCategoricalCrossentropy(), _probability_rows, PROBABILITIES),
    (losses.SparseCategoricalCrossentropy(from_logits=True), _logit_rows, LOGITS),
    (losses.KLDivergence(), _probability_rows, PROBABILITIES),
    (losses.Poisson(), _binary_rows, np.append(PROBABILITIES, [1e15, 1e30])),
    (losses.MeanSquaredLogarithmicError(), _probability_rows, np.append(PROBABILITIES, [1e30, F32.max])),
    (losses.MeanSquaredError(), _binary_rows, REGRESSION),
    (losses.MeanAbsoluteError(), _binary_rows, np.append(REGRESSION, LINEAR_GROWTH)),
    (losses.MeanAbsolutePercentageError(), _binary_rows, REGRESSION),
    (losses.Huber(), _binary_rows, np.append(REGRESSION, LINEAR_GROWTH)),
    (losses.Huber(delta=0.01), _binary_rows, np.append(REGRESSION, LINEAR_GROWTH)),
    (losses.LogCosh(), _binary_rows, np.append(REGRESSION, LINEAR_GROWTH)),
    (losses.CosineSimilarity(), _binary_rows, np.append(REGRESSION, [1e30, -1e30, F32.max, -F32.max])),
    (losses.Hinge(), _binary_rows, np.append(REGRESSION, LINEAR_GROWTH)),
    (losses.SquaredHinge(), _binary_rows, REGRESSION),
    (losses.CategoricalHinge(), _probability_rows, np.append(REGRESSION, LINEAR_GROWTH)),
]


@pytest.mark.parametrize("loss, rows, values", LOSS_CASES,
                         ids=[f"{case[0].name}-{case[0].get_config()}" for case in LOSS_CASES])
def test_losses_and_gradients_are_finite_at_extremes(loss, rows, values):
    y_true, y_pred = rows(values.astype(np.float32))
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        y_true = _labels_of(y_true)
    unreduced = type(loss).from_config({**loss.get_config(), "reduction": None})
    with np.errstate(over="ignore"):  # e.g. Huber's unused quadratic branch for a huge error
        sample_losses = unreduced(y_true, y_pred)
        _, gradient = unreduced.value_and_gradient(y_true, y_pred)
    assert sample_losses.dtype == gradient.dtype == np.float32
    assert np.isfinite(sample_losses).all(), y_pred[~np.isfinite(sample_losses)]
    assert np.isfinite(gradient).all(), y_pred[~np.isfinite(gradient).any(axis=-1)]
    with np.errstate(over="ignore"):
        value, _ = loss.value_and_gradient(y_true, y_pred)
    assert np.isfinite(value)


def test_crossentropy_from_logits_equals_the_probability_form_where_both_are_exact():
    logits = np.array([[30.0, -30.0], [-30.0, 30.0], [1e30, -1e30]], np.float32)
    y_true = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], np.float32)
    values = losses.categorical_crossentropy(y_true, logits, from_logits=True)
    np.testing.assert_allclose(values, [0.0, 60.0, 2e30], rtol=1e-6)
    binary = losses.binary_crossentropy(np.array([[0.0], [1.0]], np.float32),
                                        np.array([[1e30], [-1e30]], np.float32), from_logits=True)
    np.testing.assert_allclose(binary, [1e30, 1e30], rtol=1e-6)


# ----------------------------------------------------------------------------- NaN/Inf in the data
def _regression_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _data_with(row, column, value, target=False):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 3)).astype(np.float32), rng.normal(size=(20, 1)).astype(np.float32)
    (y if target else x)[row, column] = value
    return x, y


@pytest.mark.parametrize("row, batch", [(0, 0), (9, 2), (19, 4)])
def test_terminate_on_nan_stops_at_the_batch_holding_the_nan(capsys, row, batch):
    x, y = _data_with(row, 1, np.nan)
    model = _regression_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                            callbacks=[keras.callbacks.TerminateOnNaN()])
    assert capsys.readouterr().out == f"Batch {batch}: Invalid loss, terminating training\n"
    assert len(history.history["loss"]) == 1
    assert np.isnan(history.history["loss"][0])


# the NumPy warning an inf target raises is test_an_infinite_target_raises_no_numpy_warning's subject
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_reports_an_infinite_target_and_can_raise(capsys):
    x, y = _data_with(5, 0, np.inf, target=True)
    history = _regression_model().fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
                                      callbacks=[keras.callbacks.TerminateOnNaN()])
    assert capsys.readouterr().out == "Batch 1: Invalid loss, terminating training\n"
    assert history.history["loss"] == [np.inf]
    with pytest.raises(RuntimeError) as excinfo:
        _regression_model().fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
                                callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True)])
    assert str(excinfo.value) == ("NaN or Inf loss encountered at batch 1. Loss value: inf. Terminating "
                                  "training immediately.")


def test_nan_in_the_data_without_the_callback_trains_on_as_keras_does():
    """Keras neither stops nor raises: every epoch runs, the loss and then the weights become NaN."""
    x, y = _data_with(9, 1, np.nan)
    model = _regression_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        predictions = model.predict(x[:3], verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.isnan(history.history["loss"]).all()
    assert all(np.isnan(weight).all() for weight in model.get_weights())
    assert predictions.shape == (3, 1) and np.isnan(predictions).all()


def test_nan_only_in_validation_data_leaves_training_finite():
    x, y = _data_with(0, 0, 0.0)
    x_val = x.copy()
    x_val[0, 0] = np.nan
    history = _regression_model().fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
                                      validation_data=(x_val, y), callbacks=[keras.callbacks.TerminateOnNaN()])
    assert np.isfinite(history.history["loss"]).all()
    assert np.isnan(history.history["val_loss"]).all()


def test_an_infinite_target_raises_no_numpy_warning():
    x, y = _data_with(5, 0, np.inf, target=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _regression_model().fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)


def test_nan_in_the_inputs_raises_no_numpy_warning():
    x, y = _data_with(9, 1, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _regression_model().fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_sparse_label_is_named_before_training(bad):
    """Keras casts the label to an integer and reports that (-2147483648); minikeras names the NaN/inf."""
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 1, 0, bad, 1, 2], np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    with pytest.raises(ValueError, match=rf"label value of {bad} which is outside the valid range of \[0, 3\)"):
        model.fit(x, y, batch_size=4, verbose=0)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)

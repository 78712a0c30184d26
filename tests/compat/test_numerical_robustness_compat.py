"""Extreme inputs to every activation and loss, and NaN/Inf in the training data, side by side with Keras.

Where Keras's value or gradient (tf.GradientTape, float32) is finite, minikeras's must be finite and equal
to within float32 rounding. Where Keras's is inf or nan, minikeras must give the same or a finite number:
the cases where it does better are listed (KERAS_NOT_FINITE), so a change on either side shows up.
TensorFlow flushes subnormal float32 numbers to zero, so inputs in the subnormal range (and the smallest
normal number, whose neighbours are subnormal) are checked for finiteness only.
"""
import functools
import warnings

import numpy as np
import pytest

import minikeras
from minikeras import activations, losses
from tests.test_numerical_robustness import (
    ACTIVATION_CASES,
    EXTREMES,
    LOSS_CASES,
    _data_with,
)

NEAR_SUBNORMAL = np.abs(EXTREMES) <= np.finfo(np.float32).tiny

# (function, value or gradient, inputs) where Keras is not finite and minikeras is: the squareplus slope
# for |x| where x^2 overflows (minikeras uses hypot), and the losses below.
KERAS_NOT_FINITE = {
    ("squareplus{}", "gradient"): [3.4028235e38, -3.4028235e38],
    ("squareplus{'b': 1}", "gradient"): [3.4028235e38, -3.4028235e38],
}
# losses: Keras's CosineSimilarity gradient is nan at +-float32 max (its squared norm overflows and
# TensorFlow's rsqrt(max(inf, eps)) gradient is inf * 0); minikeras's is the exact 0
KERAS_NOT_FINITE_LOSSES = {"cosine_similarity": "gradient"}
# Where Keras's gradient is finite but wrong because x^2 overflowed inside it: squareplus's slope is 1/2
# there (x / inf = 0) instead of 1 for x -> +inf and 0 for x -> -inf, which minikeras gives.
KERAS_OVERFLOWED_SLOPE = {"squareplus": lambda x: np.abs(x) >= 1e30}


def _keras_value_and_gradient(tf, function, x):
    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = function(variable)
        total = tf.reduce_sum(y)
    return np.asarray(y), np.asarray(tape.gradient(total, variable))


def _compare(ours, theirs, exact, rtol, atol):
    """Indices where Keras is not finite but minikeras is; asserts everything else."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    keras_finite, ours_finite = np.isfinite(theirs), np.isfinite(ours)
    assert (ours_finite | ~keras_finite).all(), f"minikeras not finite where Keras is: {ours[~ours_finite]}"
    both_not_finite = ~keras_finite & ~ours_finite
    same = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))
    assert same[both_not_finite].all(), f"different infinities: {ours[both_not_finite]} vs {theirs[both_not_finite]}"
    compared = keras_finite & exact
    with np.errstate(invalid="ignore"):
        close = np.abs(ours - theirs) <= atol + rtol * np.abs(theirs)
    assert close[compared].all(), f"minikeras {ours[compared & ~close]} vs Keras {theirs[compared & ~close]}"
    return ~keras_finite & ours_finite


@pytest.mark.parametrize("name, options", ACTIVATION_CASES)
def test_activations_at_extremes_against_keras(keras, name, options):
    import tensorflow as tf

    x, exact = EXTREMES, ~NEAR_SUBNORMAL
    if name in ("softmax", "log_softmax", "glu"):
        x = np.stack([EXTREMES, EXTREMES[::-1]], axis=-1)
        exact = np.broadcast_to(~NEAR_SUBNORMAL[:, None] & ~NEAR_SUBNORMAL[::-1, None], x.shape)
    keras_y, keras_slope = _keras_value_and_gradient(tf, lambda v: getattr(keras.activations, name)(v, **options), x)
    function = functools.partial(getattr(activations, name), **options) if options else getattr(activations, name)
    with np.errstate(over="ignore", invalid="ignore"):
        y = function(x)
        slope = activations.gradient(function)(x, y, np.ones_like(y))
    inputs_y, exact_y = (x, exact) if y.shape == x.shape else (x[:, :1], exact[:, :1])
    better_y = _compare(y, keras_y, exact_y, rtol=1e-5, atol=1e-30)
    # 1e-7: softmax's slope is y (1 - sum y) = 0 mathematically, Keras's kernel leaves ~3e-8 of rounding
    overflowed = KERAS_OVERFLOWED_SLOPE.get(name, lambda v: np.zeros(v.shape, bool))(x)
    better_slope = _compare(slope, keras_slope, exact & ~overflowed, rtol=1e-5, atol=1e-7)
    key = f"{name}{options}"
    assert list(inputs_y[better_y]) == KERAS_NOT_FINITE.get((key, "value"), [])
    assert list(x[better_slope]) == KERAS_NOT_FINITE.get((key, "gradient"), [])


@pytest.mark.parametrize("loss, rows, values", LOSS_CASES,
                         ids=[f"{case[0].name}-{case[0].get_config()}" for case in LOSS_CASES])
def test_losses_at_extremes_against_keras(keras, loss, rows, values):
    import tensorflow as tf

    y_true, y_pred = rows(values.astype(np.float32))
    near_subnormal = (np.abs(y_pred) <= np.finfo(np.float32).tiny) & (y_pred != 0)
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        y_true = np.argmax(y_true, axis=-1)
    config = {**loss.get_config(), "reduction": None}
    theirs = getattr(keras.losses, type(loss).__name__).from_config(config)
    ours = type(loss).from_config(config)
    keras_losses, keras_gradient = _keras_value_and_gradient(tf, lambda v: theirs(y_true, v), y_pred)
    with np.errstate(over="ignore", invalid="ignore"):
        sample_losses = ours(y_true, y_pred)
        _, gradient = ours.value_and_gradient(y_true, y_pred)
    exact_rows = ~near_subnormal.any(axis=-1)
    better_value = _compare(sample_losses, keras_losses, exact_rows, rtol=1e-4, atol=1e-6)
    better_gradient = _compare(gradient, keras_gradient, exact_rows[:, None], rtol=1e-4, atol=1e-6)
    expected = KERAS_NOT_FINITE_LOSSES.get(loss.name)
    assert better_value.any() == (expected == "value")
    assert better_gradient.any() == (expected == "gradient")


# ----------------------------------------------------------------------------- NaN/Inf in the data
def _fit(library, x, y, **options):
    library.utils.set_random_seed(0)
    # equal initial weights, so an inf input meets the same signs (inf - inf = nan, or inf) on both sides
    model = library.Sequential([library.Input((3,)), library.layers.Dense(2, kernel_initializer="ones"),
                                library.layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(x, y, batch_size=4, shuffle=False, verbose=0, **options)
    return history.history, model


@pytest.mark.parametrize("row, column, value, target", [(9, 1, np.nan, False), (0, 2, -np.inf, False),
                                                        (5, 0, np.inf, True), (17, 0, np.nan, True)])
def test_terminate_on_nan_says_the_batch_as_keras_does(keras, capsys, row, column, value, target):
    x, y = _data_with(row, column, value, target)
    keras_history, _ = _fit(keras, x, y, epochs=3, callbacks=[keras.callbacks.TerminateOnNaN()])
    keras_output = capsys.readouterr().out
    history, _ = _fit(minikeras, x, y, epochs=3, callbacks=[minikeras.callbacks.TerminateOnNaN()])
    assert capsys.readouterr().out == keras_output == f"Batch {row // 4}: Invalid loss, terminating training\n"
    assert len(history["loss"]) == len(keras_history["loss"]) == 1
    assert np.isnan(history["loss"][0]) == np.isnan(keras_history["loss"][0])

    messages = []
    for library in (keras, minikeras):
        with pytest.raises(RuntimeError) as excinfo:
            _fit(library, x, y, epochs=1, callbacks=[library.callbacks.TerminateOnNaN(raise_error=True)])
        messages.append(str(excinfo.value))
    assert messages[0] == messages[1]


def test_nan_in_the_data_without_the_callback_as_keras(keras):
    x, y = _data_with(9, 1, np.nan)
    results = [_fit(library, x, y, epochs=2) for library in (keras, minikeras)]
    (keras_history, keras_model), (history, model) = results
    assert len(history["loss"]) == len(keras_history["loss"]) == 2
    assert np.isnan(history["loss"]).all() and np.isnan(keras_history["loss"]).all()
    for ours, theirs in zip(model.get_weights(), keras_model.get_weights()):
        assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    assert np.isnan(model.predict(x[:2], verbose=0)).all()
    assert np.isnan(keras_model.predict(x[:2], verbose=0)).all()


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_a_nan_sparse_label_against_keras(keras):
    """Keras trains on the batches before the NaN label, then fails with TensorFlow's error naming the
    integer NaN was cast to; minikeras refuses before any update and names the NaN."""
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 1, 0, np.nan, 1, 2], np.float32)
    errors, changed = [], []
    for library in (keras, minikeras):
        model = library.Sequential([library.Input((3,)), library.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        before = model.get_weights()
        with pytest.raises(Exception) as excinfo:
            model.fit(x, y, batch_size=4, shuffle=False, verbose=0)
        errors.append(excinfo.value)
        changed.append(any(not np.array_equal(old, new) for old, new in zip(before, model.get_weights())))
    assert type(errors[0]).__name__ == "InvalidArgumentError"
    assert "Received a label value of -9223372036854775808 which is outside the valid range of [0, 3)" in str(errors[0])
    assert type(errors[1]) is ValueError
    assert "Received a label value of nan which is outside the valid range of [0, 3)" in str(errors[1])
    assert changed == [True, False]

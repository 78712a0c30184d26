"""Every fit/evaluate/predict feature of issue 2, run side by side in real Keras and in minikeras.

Each case is written once against the Keras API (`K` is `keras` or `minikeras`); minikeras starts from
Keras's initial weights and batches come in a fixed order, so History, weights and texts must agree.
"""
import re

import numpy as np
import pytest

import minikeras
from tests.compat.test_training_compat import TRAINED_RTOL, assert_same_history, assert_same_weights, twin


# ---------------------------------------------------------------------------------------------- helpers
def mlp(units=1, activation="sigmoid", features=4, hidden=8):
    return lambda K: K.Sequential([K.layers.Input((features,)), K.layers.Dense(hidden, activation="relu"),
                                   K.layers.Dense(units, activation=activation)])


def binary_data(n=96, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = (np.sin(3 * x[:, 0]) + x[:, 1] + 0.7 * rng.standard_normal(n) > 0).astype(np.float32)
    return x, y


def fit_both(keras, build, compile_kwargs, callbacks=lambda K: [], **fit_kwargs):
    """Fit the twins with the same arguments; returns (reference, ours, keras history, our history)."""
    reference, ours = twin(keras, build, compile_kwargs)
    x, y = fit_kwargs.pop("data", None) or binary_data()
    fit_kwargs = {"batch_size": 16, "shuffle": False, "verbose": 0, **fit_kwargs}
    expected = reference.fit(x, y, callbacks=callbacks(keras), **fit_kwargs)
    actual = ours.fit(x, y, callbacks=callbacks(minikeras), **fit_kwargs)
    return reference, ours, expected, actual


def noisy_validation():
    x, y = binary_data(40, seed=5)
    return x, 1 - y


# ---------------------------------------------------------------------------------------------- callbacks
CALLBACK_CASES = {  # verbose=1 everywhere: the messages they print must match too
    "early_stopping_patience": lambda K: [K.callbacks.EarlyStopping(monitor="val_loss", patience=1, verbose=1)],
    "early_stopping_restore_best": lambda K: [K.callbacks.EarlyStopping(patience=2, restore_best_weights=True,
                                                                        verbose=1)],
    "early_stopping_never_triggered": lambda K: [K.callbacks.EarlyStopping(patience=20, restore_best_weights=True,
                                                                           verbose=1)],
    "early_stopping_baseline": lambda K: [K.callbacks.EarlyStopping(monitor="val_loss", baseline=0.5, patience=2,
                                                                    verbose=1)],
    "early_stopping_start_from_epoch": lambda K: [K.callbacks.EarlyStopping(patience=0, start_from_epoch=3,
                                                                            restore_best_weights=True, verbose=1)],
    "early_stopping_val_accuracy_auto": lambda K: [K.callbacks.EarlyStopping(monitor="val_accuracy", patience=1,
                                                                             mode="auto", min_delta=0.01, verbose=1)],
    "reduce_lr_on_plateau": lambda K: [K.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=0,
                                                                     min_lr=0.02, min_delta=0.01, verbose=1)],
    "learning_rate_scheduler": lambda K: [K.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 + 0.01 * epoch,
                                                                            verbose=1)],
    "scheduler_and_plateau": lambda K: [K.callbacks.LearningRateScheduler(lambda epoch: 0.2 / (epoch + 1)),
                                        K.callbacks.ReduceLROnPlateau(patience=0, factor=0.9, min_delta=0.05,
                                                                      verbose=1)],
}


@pytest.mark.parametrize("case", sorted(CALLBACK_CASES))
def test_callbacks_inside_fit_match(keras, case, capsys):
    printed = []

    def callbacks(K):
        printed.append(capsys.readouterr().out)
        return CALLBACK_CASES[case](K)

    reference, ours, expected, actual = fit_both(
        keras, mlp(), lambda K: {"loss": "binary_crossentropy", "optimizer": K.optimizers.SGD(0.2),
                                 "metrics": ["accuracy"]},
        callbacks=callbacks, epochs=8, validation_data=noisy_validation())
    keras_text, our_text = printed[1], capsys.readouterr().out
    assert our_text == keras_text and ("Epoch" in keras_text or case in ("scheduler_and_plateau",
                                                                         "early_stopping_never_triggered"))
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    assert float(ours.optimizer.learning_rate) == pytest.approx(float(reference.optimizer.learning_rate), rel=1e-6)


def test_csv_logger_file_matches(keras, tmp_path):
    fit_both(keras, mlp(), lambda K: {"loss": "binary_crossentropy", "optimizer": K.optimizers.SGD(0.1),
                                      "metrics": ["accuracy"]},
             callbacks=lambda K: [K.callbacks.CSVLogger(str(tmp_path / f"{K.__name__}.csv"))], epochs=3,
             validation_split=0.25)
    texts = [(tmp_path / f"{name}.csv").read_text() for name in ("keras", "minikeras")]
    expected, actual = ([line.split(",") for line in text.splitlines()] for text in texts)
    assert actual[0] == expected[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    np.testing.assert_allclose(np.array(actual[1:], float), np.array(expected[1:], float), rtol=TRAINED_RTOL)
    assert texts[1].count("\r\n") == texts[0].count("\r\n") and texts[1].count("\n") == texts[0].count("\n")


def test_lambda_callback_sees_the_same_logs(keras):
    seen = {}

    def callbacks(K):
        seen[K.__name__] = []
        record = seen[K.__name__]
        return [K.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: record.append(("epoch_begin", epoch, logs)),
            on_epoch_end=lambda epoch, logs: record.append(("epoch_end", epoch, dict(logs))),
            on_batch_end=lambda batch, logs: record.append(("batch_end", batch, sorted(logs))),
            on_train_end=lambda logs: record.append(("train_end", sorted(logs))))]

    fit_both(keras, mlp(), lambda K: {"loss": "binary_crossentropy", "optimizer": "adam", "metrics": ["accuracy"]},
             callbacks=callbacks, epochs=2, validation_split=0.2)
    expected, actual = seen["keras"], seen["minikeras"]
    assert [entry[:2] for entry in actual] == [entry[:2] for entry in expected]
    for want, got in zip(expected, actual):
        if want[0] == "epoch_end":
            assert list(got[2]) == list(want[2])
            np.testing.assert_allclose(list(got[2].values()), list(want[2].values()), rtol=TRAINED_RTOL)
        else:
            assert got[2:] == want[2:]


def test_terminate_on_nan_stops_at_the_batch_where_keras_stops(keras, capsys):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 4)).astype(np.float32) * 10
    y = x.sum(axis=1, keepdims=True) ** 3
    with np.errstate(all="ignore"):
        reference, ours, expected, actual = fit_both(
            keras, mlp(1, None), lambda K: {"loss": "mse", "optimizer": K.optimizers.SGD(1.0)},
            callbacks=lambda K: [K.callbacks.TerminateOnNaN()], epochs=5, data=(x, y))
    assert not np.isfinite(expected.history["loss"][-1])
    assert_same_history(expected, actual)
    assert ours.stop_training is reference.stop_training is True
    assert ours.optimizer.iterations == int(reference.optimizer.iterations) < 4
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and printed[0] == printed[1] and "Invalid loss, terminating training" in printed[0]


HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin",
         "on_test_batch_end", "on_predict_begin", "on_predict_end", "on_predict_batch_begin",
         "on_predict_batch_end"]


def hook_recorder(K, calls):
    """A Callback subclass overriding every hook, recording (hook, epoch/batch, log keys in order)."""
    def hook(name):
        def record(self, *args, **kwargs):
            logs = kwargs.get("logs", args[-1] if len(args) == (2 if "batch" in name or "epoch" in name else 1)
                              else None)
            index = args[0] if "batch" in name or "epoch" in name else None
            calls.append((name, index, None if logs is None else list(logs)))
        return record

    return type("Recorder", (K.callbacks.Callback,), {name: hook(name) for name in HOOKS})()


def test_every_hook_called_in_keras_order_with_keras_logs(keras):
    x, y = binary_data(40)
    calls = {}
    for K in (keras, minikeras):
        calls[K.__name__] = []
        model = mlp()(K)
        model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
        recorder = hook_recorder(K, calls[K.__name__])
        model.fit(x, y, batch_size=16, epochs=2, validation_data=(x[:20], y[:20]), callbacks=[recorder], verbose=0)
        model.fit(x, y, epochs=0, validation_split=0.5, callbacks=[recorder], verbose=0)
        model.fit(x, y, batch_size=32, epochs=2, validation_split=0.5, validation_freq=2, callbacks=[recorder],
                  verbose=0)
        model.evaluate(x, y, batch_size=16, callbacks=[recorder], verbose=0)
        model.predict(x, batch_size=16, callbacks=[recorder], verbose=0)
    assert calls["minikeras"] == calls["keras"]


def test_stop_training_set_by_a_callback_mid_epoch(keras):
    def callbacks(K):
        class StopAtBatch(K.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch

            def on_train_batch_end(self, batch, logs=None):
                if self.epoch == 1 and batch == 2:
                    self.model.stop_training = True
        return [StopAtBatch()]

    reference, ours, expected, actual = fit_both(
        keras, mlp(), lambda K: {"loss": "binary_crossentropy", "optimizer": "adam"}, callbacks=callbacks, epochs=4)
    assert expected.epoch == [0, 1]
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    assert ours.optimizer.iterations == int(reference.optimizer.iterations)


# ---------------------------------------------------------------------------------------------- fit arguments
def weighted_validation():
    x, y = noisy_validation()
    return x, y, np.linspace(0.1, 2.0, len(x)).astype(np.float32)


FIT_ARGUMENT_CASES = {
    "validation_freq_2": dict(epochs=5, validation_data=noisy_validation(), validation_freq=2),
    "validation_freq_list": dict(epochs=4, validation_split=0.25, validation_freq=[1, 4]),
    "validation_batch_size": dict(epochs=2, validation_data=noisy_validation(), validation_batch_size=7),
    "validation_sample_weight": dict(epochs=2, validation_data=weighted_validation()),
    "initial_epoch": dict(epochs=5, initial_epoch=3, validation_split=0.2),
    "zero_epochs": dict(epochs=0, validation_split=0.2),
    "batch_larger_than_data": dict(epochs=2, batch_size=500),
}


@pytest.mark.parametrize("case", sorted(FIT_ARGUMENT_CASES))
def test_fit_arguments_match(keras, case):
    reference, ours, expected, actual = fit_both(
        keras, mlp(), lambda K: {"loss": "binary_crossentropy", "optimizer": K.optimizers.Adam(0.01),
                                 "metrics": ["accuracy"], "weighted_metrics": ["mse"]},
        **FIT_ARGUMENT_CASES[case])
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    assert actual.params == expected.params
    assert ours.history is actual and reference.history is expected
    assert ours.optimizer.iterations == int(reference.optimizer.iterations)


# ---------------------------------------------------------------------------------------------- optimizers
OPTIMIZER_CASES = {  # gradient clipping and learning-rate schedules ride along with some of them
    "sgd_clipnorm": lambda K: K.optimizers.SGD(0.5, clipnorm=0.1),
    "sgd_momentum_piecewise_schedule": lambda K: K.optimizers.SGD(
        K.optimizers.schedules.PiecewiseConstantDecay([4, 10], [0.2, 0.1, 0.01]), momentum=0.9),
    "sgd_nesterov": lambda K: K.optimizers.SGD(0.05, momentum=0.8, nesterov=True),
    "adam_global_clipnorm": lambda K: K.optimizers.Adam(0.05, global_clipnorm=0.2),
    "adam_amsgrad": lambda K: K.optimizers.Adam(0.01, beta_1=0.8, amsgrad=True),
    "adamw": lambda K: K.optimizers.AdamW(0.01, weight_decay=0.05),
    "rmsprop_centered_momentum_clipvalue": lambda K: K.optimizers.RMSprop(0.005, momentum=0.5, centered=True,
                                                                          clipvalue=0.01),
    "adagrad": lambda K: K.optimizers.Adagrad(0.1),
    "adadelta": lambda K: K.optimizers.Adadelta(1.0),
    "adamax": lambda K: K.optimizers.Adamax(0.02),
    "nadam_exponential_decay": lambda K: K.optimizers.Nadam(
        K.optimizers.schedules.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.5)),
}


@pytest.mark.parametrize("case", sorted(OPTIMIZER_CASES))
def test_every_optimizer_in_fit_matches(keras, case):
    reference, ours, expected, actual = fit_both(
        keras, mlp(3, "softmax"),
        lambda K: {"loss": "sparse_categorical_crossentropy", "optimizer": OPTIMIZER_CASES[case](K),
                   "metrics": ["accuracy"]},
        epochs=3, data=(binary_data()[0], np.argmax(binary_data()[0][:, :3], axis=1)))
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    assert ours.optimizer.iterations == int(reference.optimizer.iterations) == 18
    assert float(ours.optimizer.learning_rate) == pytest.approx(float(reference.optimizer.learning_rate), rel=1e-6)


# ---------------------------------------------------------------------------------------------- losses, metrics
def one_hot(y, classes=3):
    return np.eye(classes, dtype=np.float32)[y.astype(int)]


LOSS_CASES = {
    "bce_label_smoothing": (1, "sigmoid", lambda K: K.losses.BinaryCrossentropy(label_smoothing=0.2), "binary"),
    "cce_from_logits_linear": (3, None, lambda K: K.losses.CategoricalCrossentropy(from_logits=True), "onehot"),
    "scce_from_logits": (3, None, lambda K: K.losses.SparseCategoricalCrossentropy(from_logits=True), "sparse"),
    "huber": (1, None, lambda K: K.losses.Huber(delta=0.5), "binary"),
    "mse_sum_reduction": (1, "sigmoid", lambda K: K.losses.MeanSquaredError(reduction="sum"), "binary"),
}


@pytest.mark.parametrize("case", sorted(LOSS_CASES))
def test_loss_objects_with_options_in_fit(keras, case):
    units, activation, loss, encoding = LOSS_CASES[case]
    x, labels = binary_data()
    if units == 3:
        labels = np.argmax(x[:, :3], axis=1)
    y = {"binary": labels, "sparse": labels, "onehot": one_hot(labels)}[encoding]
    weights = np.linspace(0.5, 1.5, len(x)).astype(np.float32)
    reference, ours, expected, actual = fit_both(
        keras, mlp(units, activation), lambda K: {"loss": loss(K), "optimizer": K.optimizers.SGD(0.05),
                                                  "metrics": ["accuracy" if encoding == "sparse" else "mae"],
                                                  "weighted_metrics": ["accuracy"]},
        epochs=3, data=(x, y), sample_weight=weights, validation_split=0.25)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    np.testing.assert_allclose(ours.evaluate(x, y, sample_weight=weights, verbose=0),
                               reference.evaluate(x, y, sample_weight=weights, verbose=0), rtol=TRAINED_RTOL)
    if encoding != "onehot" and case != "mse_sum_reduction":  # evaluate averages per-batch sums: not one sum
        assert_same_loss_on_a_column_target(keras, loss(keras), reference, ours, x, y)


def assert_same_loss_on_a_column_target(keras, loss, reference, ours, x, y):
    """Our evaluate on y of shape (N, 1) against Keras's loss applied eagerly to Keras's prediction.

    (A compiled Keras model cannot be run again on a y of another rank than the one it was fit on.)
    """
    loss = keras.losses.get(loss) if isinstance(loss, str) else loss
    expected = float(np.mean(loss(y[:, None], reference.predict(x, verbose=0))))
    assert ours.evaluate(x, y[:, None], verbose=0)[0] == pytest.approx(expected, rel=TRAINED_RTOL)


def test_metric_instances_and_history_key_order(keras):
    x, y = binary_data(120)
    reference, ours, expected, actual = fit_both(
        keras, mlp(), lambda K: {"loss": "binary_crossentropy", "optimizer": K.optimizers.Adam(0.02),
                                 "metrics": [K.metrics.AUC(), K.metrics.Precision(), "accuracy",
                                             K.metrics.BinaryAccuracy(threshold=0.3)],
                                 "weighted_metrics": [K.metrics.Recall(name="rec"), "accuracy"]},
        epochs=3, data=(x, y), sample_weight=np.where(y > 0, 2.0, 0.5), validation_split=0.2)
    assert "val_weighted_accuracy" in expected.history
    assert_same_history(expected, actual)
    expected_eval = reference.evaluate(x, y, verbose=0, return_dict=True)
    actual_eval = ours.evaluate(x, y, verbose=0, return_dict=True)
    assert list(actual_eval) == list(expected_eval)
    np.testing.assert_allclose(list(actual_eval.values()), list(expected_eval.values()), rtol=TRAINED_RTOL)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), reference.evaluate(x, y, verbose=0), rtol=TRAINED_RTOL)


# ---------------------------------------------------------------------------------------------- text
def mask_timings(text):
    text = re.sub(r"\d+(ms|us|s)/step", "T/step", text)
    text = re.sub(r"(\x1b\[1m)?\d+s(\x1b\[0m)?( |$)", "Ts ", text)
    text = re.sub(r"ETA: [\d:]+", "ETA: T", text)
    # How much of the previous line is erased or blanked out depends on the times printed there.
    text = re.sub("\x08+", "<erase the previous line>", text)
    text = re.sub(r" +(\n|<erase)", r"\1", text)
    return re.sub(r" - \d+s - ", " - Ts - ", text)


def test_verbose_1_progress_bytes_summary_and_params_match(keras, capsys):
    x, y = binary_data(70)
    reference, ours = twin(keras, mlp(), lambda K: {"loss": "binary_crossentropy", "optimizer": K.optimizers.Adam(),
                                                    "metrics": ["accuracy", K.metrics.AUC()]})
    texts, histories = [], []
    for model in (reference, ours):
        capsys.readouterr()
        histories.append(model.fit(x, y, epochs=2, batch_size=16, validation_split=0.2, shuffle=False, verbose=1))
        model.evaluate(x, y, verbose=1)
        model.predict(x, verbose=1)
        model.predict(x[:5], batch_size=2, verbose=1)
        model.summary()
        texts.append(mask_timings(capsys.readouterr().out))
    assert "Optimizer params" in texts[0] and "<erase the previous line>" in texts[0]
    assert texts[1] == texts[0]
    assert histories[1].params == histories[0].params == {"verbose": 1, "epochs": 2, "steps": 4}
    assert ours.history is histories[1]


# ---------------------------------------------------------------------------------------------- randomness
def dropout_statistics(K, rate, features=2000, n=64):
    """Fraction kept and kept value of Dropout in training, and the fit loss that its variance predicts.

    x = 1 through Dropout then a frozen Dense averaging the features: the output's mean is 1 and its
    variance rate / ((1 - rate) * features), which is the mse against y = 1.
    """
    dropout = K.layers.Dropout(rate)
    model = K.Sequential([K.layers.Input((features,)), dropout,
                          K.layers.Dense(1, use_bias=False, kernel_initializer="ones", trainable=False)])
    model.layers[-1].set_weights([np.full((features, 1), 1 / features, np.float32)])
    model.compile(loss="mse", optimizer="sgd")
    x = np.ones((n, features), np.float32)
    dropped = np.asarray(dropout(x, training=True))
    loss = model.fit(x, np.ones(n), epochs=3, batch_size=16, verbose=0).history["loss"]
    return (dropped != 0).mean(), np.unique(dropped[dropped != 0]), np.mean(loss), model.predict(x[:4], verbose=0)


@pytest.mark.parametrize("rate", [0.3])
def test_dropout_in_fit_keeps_and_scales_like_keras(keras, rate):
    expected, actual = dropout_statistics(keras, rate), dropout_statistics(minikeras, rate)
    assert actual[0] == pytest.approx(expected[0], abs=0.01) and actual[0] == pytest.approx(1 - rate, abs=0.01)
    np.testing.assert_allclose(actual[1], expected[1], rtol=1e-6)
    theory = rate / ((1 - rate) * 2000)
    assert actual[2] == pytest.approx(theory, rel=0.25) and expected[2] == pytest.approx(theory, rel=0.25)
    np.testing.assert_allclose(actual[3], expected[3], rtol=1e-6)


def batch_orders(K, epochs=3, n=12, seed=None):
    """The sample order of each epoch with shuffle=True, read back from the per-batch loss logs.

    With SGD(0), a zero output and y = sample index, a batch of one sample has loss index**2; the
    logged loss is the running mean, so each batch's own loss is recovered from consecutive means.
    """
    if seed is not None:
        K.utils.set_random_seed(seed)
    model = K.Sequential([K.layers.Input((1,)), K.layers.Dense(1, kernel_initializer="zeros", use_bias=False)])
    model.compile(loss="mse", optimizer=K.optimizers.SGD(0.0))
    running_means = []
    record = K.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: running_means.append(logs["loss"]))
    model.fit(np.zeros((n, 1)), np.arange(n, dtype=float), batch_size=1, epochs=epochs, verbose=0,
              callbacks=[record])
    sums = np.array(running_means).reshape(epochs, n) * np.arange(1, n + 1)
    batch_losses = np.diff(sums, axis=1, prepend=0.0)
    return np.rint(np.sqrt(np.abs(batch_losses))).astype(int)


def test_shuffle_is_a_fresh_permutation_each_epoch_and_fixed_by_the_seed(keras, monkeypatch):
    monkeypatch.setattr(minikeras.backend, "_global_seed", None)  # as if set_random_seed was never called
    for K in (keras, minikeras):
        orders = batch_orders(K)
        assert all(sorted(order) == list(range(12)) for order in orders), K.__name__
        assert len({tuple(order) for order in orders} | {tuple(range(12))}) == 4, K.__name__
        # After set_random_seed, Keras's TensorFlow backend draws the same permutation every epoch.
        seeded = batch_orders(K, seed=3)
        assert (seeded == seeded[0]).all() and (seeded == batch_orders(K, seed=3)).all(), K.__name__


def test_set_random_seed_makes_two_runs_bit_identical():
    def run():
        minikeras.utils.set_random_seed(11)
        model = minikeras.Sequential([minikeras.layers.Input((4,)), minikeras.layers.Dense(16, activation="relu"),
                                      minikeras.layers.Dropout(0.4), minikeras.layers.Dense(1, activation="sigmoid")])
        model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
        history = model.fit(*binary_data(), epochs=3, batch_size=16, validation_split=0.2, verbose=0)
        return history.history, model.get_weights()

    (first_history, first_weights), (second_history, second_weights) = run(), run()
    assert first_history == second_history
    assert all(np.array_equal(a, b) for a, b in zip(first_weights, second_weights))


# ---------------------------------------------------------------------------------------------- input kinds
def course_inputs():
    pandas = pytest.importorskip("pandas")
    x, y = binary_data(48, features=3)
    frame = pandas.DataFrame(x, columns=["age", "hours", "gain"])
    return {
        "dataframe_and_series": (frame, pandas.Series(y)),
        # Float and bool columns (as pd.get_dummies makes them) share no NumPy dtype but an object one.
        # (float64, as read_csv gives: Keras fails on float32 and bool columns mixed.)
        "mixed_dtype_frame_and_one_column_frame": (frame.astype(np.float64).assign(gain=frame["gain"] > 0),
                                                   pandas.DataFrame({"label": y})),
        "python_lists": (x.tolist(), y.tolist()),
        "bool_x_and_bool_y": (x > 0, y.astype(bool)),
        "int_x_and_int_y": ((x * 3).astype(np.int64), y.astype(np.int32)),
        "float64_x_y_column": (x.astype(np.float64), y[:, None].astype(np.float64)),
    }


@pytest.mark.parametrize("case", ["dataframe_and_series", "mixed_dtype_frame_and_one_column_frame", "python_lists",
                                  "bool_x_and_bool_y", "int_x_and_int_y", "float64_x_y_column"])
def test_input_kinds_in_fit_and_predict(keras, case):
    x, y = course_inputs()[case]
    # Keras 3 rejects nested Python lists ("Unrecognized data type"); minikeras takes them as Keras 2 did.
    keras_x, keras_y = (np.asarray(x), np.asarray(y)) if case == "python_lists" else (x, y)
    reference, ours = twin(keras, mlp(features=3), lambda K: {"loss": "binary_crossentropy", "metrics": ["accuracy"],
                                                              "optimizer": K.optimizers.SGD(0.1)})
    kwargs = dict(epochs=2, batch_size=16, shuffle=False, verbose=0, validation_split=0.25)
    assert_same_history(reference.fit(keras_x, keras_y, **kwargs), ours.fit(x, y, **kwargs))
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(keras_x, verbose=0), rtol=TRAINED_RTOL)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), reference.evaluate(keras_x, keras_y, verbose=0),
                               rtol=TRAINED_RTOL)


def test_one_dimensional_x_for_a_one_feature_model(keras):
    x = np.linspace(-1, 1, 40)
    reference, ours, expected, actual = fit_both(
        keras, lambda K: K.Sequential([K.layers.Input((1,)), K.layers.Dense(1)]),
        lambda K: {"loss": "mse", "optimizer": "sgd"}, epochs=2, data=(x, 3 * x))
    assert_same_history(expected, actual)
    assert ours.predict(x, verbose=0).shape == reference.predict(x, verbose=0).shape == (40, 1)
    assert ours.predict(x.tolist(), verbose=0).shape == (40, 1)


TARGET_SHAPE_CASES = {  # loss: (output units, activation, labels)
    "mse": (1, None, "binary"), "binary_crossentropy": (1, "sigmoid", "binary"),
    "hinge": (1, "tanh", "binary"), "sparse_categorical_crossentropy": (3, "softmax", "sparse"),
    "poisson": (1, "softplus", "binary"), "log_cosh": (1, None, "binary"),
}


@pytest.mark.parametrize("loss", sorted(TARGET_SHAPE_CASES))
def test_targets_of_shape_n_and_n_by_1_for_each_loss(keras, loss):
    """Fit on y of shape (N,), then evaluate on (N,) and (N, 1) (Huber and the loss classes: see above)."""
    units, activation, labels = TARGET_SHAPE_CASES[loss]
    x, y = binary_data(40)
    if labels == "sparse":
        y = np.argmax(x[:, :3], axis=1)
    reference, ours, expected, actual = fit_both(
        keras, mlp(units, activation), lambda K: {"loss": loss, "optimizer": "sgd", "metrics": ["accuracy"]},
        epochs=1, data=(x, y))
    assert_same_history(expected, actual)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), reference.evaluate(x, y, verbose=0), rtol=TRAINED_RTOL)
    assert_same_loss_on_a_column_target(keras, loss, reference, ours, x, y)

"""Every fit/evaluate/predict feature of issue 2, run side by side in real Keras and in minikeras.

Each case is written once against the Keras API (`K` is `keras` or `minikeras`); minikeras starts from
Keras's initial weights and batches come in a fixed order, so History, weights and texts must agree.
"""
import re

import numpy as np
import pytest

import minikeras

TRAINED_RTOL = 1e-4


# ---------------------------------------------------------------------------------------------- helpers
def twin(keras, build, compile_kwargs):
    """The same architecture in both libraries, minikeras starting from Keras's initial weights."""
    reference = build(keras)
    reference.compile(**compile_kwargs(keras))
    ours = build(minikeras)
    ours.compile(**compile_kwargs(minikeras))
    ours.set_weights(reference.get_weights())
    return reference, ours


def assert_same_history(expected, actual, rtol=TRAINED_RTOL):
    assert list(actual.history) == list(expected.history)
    assert actual.epoch == expected.epoch
    for key in expected.history:
        np.testing.assert_allclose(actual.history[key], expected.history[key], rtol=rtol, atol=1e-6, err_msg=key)


def assert_same_weights(reference, ours, rtol=TRAINED_RTOL):
    for expected, actual in zip(reference.get_weights(), ours.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-6)


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
CALLBACK_CASES = {
    "early_stopping_patience": lambda K: [K.callbacks.EarlyStopping(monitor="val_loss", patience=1)],
    "early_stopping_restore_best": lambda K: [K.callbacks.EarlyStopping(patience=2, restore_best_weights=True)],
    "early_stopping_baseline": lambda K: [K.callbacks.EarlyStopping(monitor="val_loss", baseline=0.5, patience=2)],
    "early_stopping_start_from_epoch": lambda K: [K.callbacks.EarlyStopping(patience=0, start_from_epoch=3,
                                                                            restore_best_weights=True)],
    "early_stopping_val_accuracy_auto": lambda K: [K.callbacks.EarlyStopping(monitor="val_accuracy", patience=1,
                                                                             mode="auto", min_delta=0.01)],
    "reduce_lr_on_plateau": lambda K: [K.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=0,
                                                                     min_lr=0.02, min_delta=0.01)],
    "learning_rate_scheduler": lambda K: [K.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 + 0.01 * epoch)],
    "scheduler_and_plateau": lambda K: [K.callbacks.LearningRateScheduler(lambda epoch: 0.2 / (epoch + 1)),
                                        K.callbacks.ReduceLROnPlateau(patience=0, factor=0.9, min_delta=0.05)],
}


@pytest.mark.parametrize("case", sorted(CALLBACK_CASES))
def test_callbacks_inside_fit_match(keras, case):
    reference, ours, expected, actual = fit_both(
        keras, mlp(), lambda K: {"loss": "binary_crossentropy", "optimizer": K.optimizers.SGD(0.2),
                                 "metrics": ["accuracy"]},
        callbacks=CALLBACK_CASES[case], epochs=8, validation_data=noisy_validation())
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


def test_terminate_on_nan_stops_where_keras_stops(keras):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 4)).astype(np.float32) * 10
    y = x.sum(axis=1, keepdims=True) ** 3
    reference, ours, expected, actual = fit_both(
        keras, mlp(1, None), lambda K: {"loss": "mse", "optimizer": K.optimizers.SGD(1.0)},
        callbacks=lambda K: [K.callbacks.TerminateOnNaN()], epochs=5, data=(x, y))
    assert not np.isfinite(expected.history["loss"][-1])
    assert list(actual.history) == list(expected.history) and actual.epoch == expected.epoch
    assert ours.stop_training is reference.stop_training is True


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
OPTIMIZER_CASES = {
    "sgd": lambda K: K.optimizers.SGD(0.1),
    "sgd_momentum": lambda K: K.optimizers.SGD(0.05, momentum=0.9),
    "sgd_nesterov": lambda K: K.optimizers.SGD(0.05, momentum=0.8, nesterov=True),
    "adam": lambda K: K.optimizers.Adam(0.01),
    "adam_amsgrad": lambda K: K.optimizers.Adam(0.01, beta_1=0.8, amsgrad=True),
    "adamw": lambda K: K.optimizers.AdamW(0.01, weight_decay=0.05),
    "rmsprop_centered_momentum": lambda K: K.optimizers.RMSprop(0.005, momentum=0.5, centered=True),
    "adagrad": lambda K: K.optimizers.Adagrad(0.1),
    "adadelta": lambda K: K.optimizers.Adadelta(1.0),
    "adamax": lambda K: K.optimizers.Adamax(0.02),
    "nadam": lambda K: K.optimizers.Nadam(0.01),
    "exponential_decay_schedule": lambda K: K.optimizers.Adam(
        K.optimizers.schedules.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.5)),
    "piecewise_schedule_sgd": lambda K: K.optimizers.SGD(
        K.optimizers.schedules.PiecewiseConstantDecay([4, 10], [0.2, 0.1, 0.01]), momentum=0.5),
    "clipnorm": lambda K: K.optimizers.SGD(0.5, clipnorm=0.1),
    "global_clipnorm": lambda K: K.optimizers.Adam(0.05, global_clipnorm=0.2),
    "clipvalue": lambda K: K.optimizers.RMSprop(0.01, clipvalue=0.01),
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
    "bce_from_logits": (1, None, lambda K: K.losses.BinaryCrossentropy(from_logits=True), "binary"),
    "cce_from_logits_linear": (3, None, lambda K: K.losses.CategoricalCrossentropy(from_logits=True), "onehot"),
    "cce_label_smoothing": (3, "softmax", lambda K: K.losses.CategoricalCrossentropy(label_smoothing=0.1), "onehot"),
    "scce_from_logits": (3, None, lambda K: K.losses.SparseCategoricalCrossentropy(from_logits=True), "sparse"),
    "huber": (1, None, lambda K: K.losses.Huber(delta=0.5), "binary"),
    "mse_sum_reduction": (1, "sigmoid", lambda K: K.losses.MeanSquaredError(reduction="sum"), "binary"),
    "mae_function": (1, None, lambda K: K.losses.mean_absolute_error, "binary"),
    "hinge_string": (1, "tanh", lambda K: "hinge", "binary"),
    "kld_string": (3, "softmax", lambda K: "kld", "onehot"),
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
                                                  "metrics": ["mae"], "weighted_metrics": ["mse"]},
        epochs=3, data=(x, y), sample_weight=weights, validation_split=0.25)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    np.testing.assert_allclose(ours.evaluate(x, y, sample_weight=weights, verbose=0),
                               reference.evaluate(x, y, sample_weight=weights, verbose=0), rtol=TRAINED_RTOL)


def test_metric_instances_and_history_key_order(keras):
    x, y = binary_data(120)
    reference, ours, expected, actual = fit_both(
        keras, mlp(), lambda K: {"loss": "binary_crossentropy", "optimizer": K.optimizers.Adam(0.02),
                                 "metrics": [K.metrics.AUC(), K.metrics.Precision(), K.metrics.Recall(name="rec"),
                                             "accuracy", K.metrics.BinaryAccuracy(threshold=0.3)],
                                 "weighted_metrics": [K.metrics.AUC(name="wauc"), "accuracy"]},
        epochs=3, data=(x, y), sample_weight=np.where(y > 0, 2.0, 0.5), validation_split=0.2)
    assert "val_wauc" in expected.history
    assert_same_history(expected, actual)
    expected_eval = reference.evaluate(x, y, verbose=0, return_dict=True)
    actual_eval = ours.evaluate(x, y, verbose=0, return_dict=True)
    assert list(actual_eval) == list(expected_eval)
    np.testing.assert_allclose(list(actual_eval.values()), list(expected_eval.values()), rtol=TRAINED_RTOL)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), reference.evaluate(x, y, verbose=0), rtol=TRAINED_RTOL)
    assert [m.name for m in ours.metrics] == [m.name for m in reference.metrics]
    assert ours.metrics_names == reference.metrics_names

"""Callbacks driven through CallbackList with hand-made logs; expected values observed with Keras 3.15."""
import sys
import time
import types
import warnings

import numpy as np
import pytest

from minikeras.callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from minikeras.callbacks.callback_list import pythonify_logs


class FakeOptimizer:
    """Holds the learning rate as float32, as Keras's optimizer variable does."""

    def __init__(self, learning_rate=0.1):
        self._learning_rate = np.float32(learning_rate)

    @property
    def learning_rate(self):
        return float(self._learning_rate)

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = np.float32(value)


class FakeMetric:
    def __init__(self, name, direction):
        self.name = name
        self._direction = direction


class FakeModel:
    """The model interface callbacks rely on: stop_training, optimizer, get/set_weights, metrics."""

    def __init__(self, learning_rate=0.1, metrics=()):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self.metrics = list(metrics)
        self._weights = [np.zeros((1, 1), np.float32), np.zeros((1,), np.float32)]

    def get_weights(self):
        return [w.copy() for w in self._weights]

    def set_weights(self, weights):
        self._weights = [np.array(w) for w in weights]


def drive(callback_list_class, callbacks, model, epoch_logs):
    """Calls the hooks as fit does, one batch per epoch; after epoch e every weight equals e.

    Works with minikeras's and Keras's CallbackList (the compat tests reuse it). Returns model.history.
    """
    callback_list = callback_list_class(
        callbacks, add_history=True, model=model, verbose=0, epochs=len(epoch_logs), steps=1
    )
    model.stop_training = False
    callback_list.on_train_begin()
    logs = None
    for epoch, logs in enumerate(epoch_logs):
        callback_list.on_epoch_begin(epoch)
        callback_list.on_train_batch_begin(0)
        callback_list.on_train_batch_end(0, {"loss": logs.get("loss", 0.0)})
        model.set_weights([np.full(w.shape, epoch, np.float32) for w in model.get_weights()])
        callback_list.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    callback_list.on_train_end(logs)
    return model.history


def fit_logs(callbacks, epoch_logs, model=None):
    model = model or FakeModel()
    return model, drive(CallbackList, callbacks, model, epoch_logs)


def series(name, values, **constant):
    return [{name: value, **constant} for value in values]


# Scenarios shared with tests/compat/test_callbacks_compat.py: (callback factory, logs, epochs run).
EARLY_STOPPING_SCENARIOS = {
    "patience": (
        lambda ES: ES(patience=2, verbose=1, restore_best_weights=True),
        series("val_loss", [1.0, 0.5, 0.6, 0.7, 0.4, 0.45], loss=1.0),
        [0, 1, 2, 3],
    ),
    "min_delta": (lambda ES: ES(monitor="loss", min_delta=0.15), series("loss", [1.0, 0.9, 0.7]), [0, 1]),
    "max_mode": (
        lambda ES: ES(monitor="val_auc", mode="max", patience=1),
        series("val_auc", [0.5, 0.6, 0.6, 0.7]),
        [0, 1, 2],
    ),
    "baseline": (
        lambda ES: ES(monitor="loss", baseline=0.5, patience=2),
        series("loss", [1.0, 0.9, 0.95, 0.8]),
        [0, 1, 2],
    ),
    "no_baseline": (lambda ES: ES(monitor="loss", patience=2), series("loss", [1.0, 0.9, 0.95, 0.8]), [0, 1, 2, 3]),
    "start_from_epoch": (
        lambda ES: ES(start_from_epoch=2),
        series("val_loss", [1.0, 2.0, 3.0, 4.0, 5.0]),
        [0, 1, 2, 3],
    ),
    "restore_without_stop": (
        lambda ES: ES(patience=5, verbose=1, restore_best_weights=True),
        series("val_loss", [0.3, 0.5, 0.4]),
        [0, 1, 2],
    ),
    # 0.5 - 1e-9 equals 0.5 in float32, the precision Keras compares in: no improvement.
    "float32_compare": (lambda ES: ES(), series("val_loss", [0.5, 0.5 - 1e-9, 0.1]), [0, 1]),
}

REDUCE_LR_SCENARIOS = {
    "cooldown_min_lr": (
        lambda R: R(monitor="loss", patience=1, verbose=1, factor=0.5, cooldown=1, min_lr=0.02),
        series("loss", [1.0] * 7),
    ),
    "min_delta": (lambda R: R(monitor="loss", patience=1, verbose=1), series("loss", [1.0, 0.99995, 0.9998, 0.5, 0.6])),
    "max_mode": (
        lambda R: R(monitor="val_acc", mode="max", patience=2, verbose=1),
        series("val_acc", [0.1, 0.2, 0.2, 0.2, 0.3, 0.25, 0.3], loss=1.0),
    ),
}

SCHEDULES = {
    "epoch_and_lr": lambda epoch, lr: lr * 0.5 if epoch > 0 else lr,
    "epoch_only": lambda epoch: 0.3 / (epoch + 1),
}

CSV_SCENARIOS = {
    "mixed_values": (
        {},
        [
            {"loss": np.float32(0.123456789), "mae": 1, "acc": np.float64(1 / 3)},
            {"loss": float("nan"), "mae": float("inf")},
            {"loss": 1e-20, "mae": 123456789.0, "acc": np.array(2.5), "zz": 3},
        ],
    ),
    "with_validation": ({"separator": ";"}, [{"val_loss": 0.5, "loss": 0.25}, {"val_loss": 0.4}]),
    "list_and_string_values": ({}, [{"loss": [1.0, 2.0]}, {"loss": "x"}]),
}

CSV_EXPECTED = {
    "mixed_values": (
        b"epoch,acc,loss,mae,val_acc,val_loss,val_mae\r\n"
        b"0,0.3333333333333333,0.12345679104328156,1.0,NA,NA,NA\r\n"
        b"1,NA,nan,inf,NA,NA,NA\r\n"
        b"2,2.5,1e-20,123456789.0,NA,NA,NA\r\n"
    ),
    "with_validation": b"epoch;loss;val_loss\r\n0;0.25;0.5\r\n1;NA;0.4\r\n",
    "list_and_string_values": b'epoch,loss,val_loss\r\n0,"""[1.0, 2.0]""",NA\r\n1,x,NA\r\n',
}


class Recorder(Callback):
    """Records every hook call it overrides."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("on_epoch_end", epoch, logs))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("on_train_batch_end", batch, logs))


class LegacyBatchEnd(Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_batch_end(self, batch, logs=None):
        self.batches.append((batch, logs))


# ---------------------------------------------------------------- Callback and CallbackList


def test_callback_starts_without_model_or_params_and_model_is_read_only():
    callback = Callback()
    assert callback.model is None and callback.params is None
    callback.set_model("m")
    callback.set_params({"epochs": 2})
    assert callback.model == "m" and callback.params == {"epochs": 2}
    with pytest.raises(AttributeError):
        callback.model = "other"


def test_base_train_batch_hooks_forward_to_legacy_aliases():
    callback = LegacyBatchEnd()
    callback.on_train_batch_end(3, logs={"loss": 1.0})
    callback.on_test_batch_end(4, logs={"loss": 2.0})
    assert callback.batches == [(3, {"loss": 1.0})]


def test_callback_list_order_params_and_model_history():
    model = FakeModel()
    user = Recorder()
    callback_list = CallbackList([user], add_history=True, model=model, verbose=0, epochs=3, steps=2)
    assert [type(cb) for cb in callback_list.callbacks] == [Recorder, History]
    assert model.history is callback_list.callbacks[1]
    assert user.params == {"verbose": 0, "epochs": 3, "steps": 2} and user.model is model
    assert model.history.params is user.params


def test_callback_list_reuses_a_given_history_and_flattens_nested_lists():
    history = History()
    model = FakeModel()
    callback_list = CallbackList([[Recorder()], (history,)], add_history=True, model=model)
    assert [type(cb) for cb in callback_list.callbacks] == [Recorder, History]
    assert model.history is history
    assert callback_list.params == {} and history.params is None


def test_callback_list_appends_progbar_last(monkeypatch):
    stub = types.ModuleType("minikeras.callbacks.progbar_logger")
    stub.ProgbarLogger = type("ProgbarLogger", (Callback,), {})
    monkeypatch.setitem(sys.modules, "minikeras.callbacks.progbar_logger", stub)
    callback_list = CallbackList([EarlyStopping()], add_history=True, add_progbar=True, model=FakeModel(), verbose=1)
    assert [type(cb).__name__ for cb in callback_list.callbacks] == ["EarlyStopping", "History", "ProgbarLogger"]
    given = stub.ProgbarLogger()
    assert CallbackList([given], add_progbar=True).callbacks == [given]


def test_callback_list_rejects_non_callbacks():
    with pytest.raises(TypeError, match="Callback"):
        CallbackList([print])


def test_pythonify_logs_sorts_flattens_and_converts():
    logs = {"z": np.float32(1.5), "b": {"y": 2, "a": 3}, "s": "str", "n": np.array(4)}
    result = pythonify_logs(logs)
    assert result == {"a": 3.0, "y": 2.0, "n": 4.0, "s": "str", "z": 1.5}
    assert list(result) == ["a", "y", "n", "s", "z"]
    assert all(type(v) is float for k, v in result.items() if k != "s")
    assert pythonify_logs(None) == {}


def test_batch_hooks_reach_only_overriding_callbacks():
    recorder, legacy, history = Recorder(), LegacyBatchEnd(), History()
    callback_list = CallbackList([recorder, legacy, history], model=FakeModel())
    callback_list.on_train_begin()
    assert callback_list._batch_listeners["on_train_batch_end"] == (recorder, legacy)
    assert callback_list._batch_listeners["on_train_batch_begin"] == ()
    assert callback_list._batch_listeners["on_batch_end"] == (legacy,)
    callback_list.on_train_batch_end(0, {"loss": np.float32(0.5)})
    callback_list.on_test_batch_end(0, {"loss": 9.0})
    assert recorder.calls == [("on_train_batch_end", 0, {"loss": 0.5})]
    assert legacy.batches == [(0, {"loss": 0.5})]


def test_callbacks_appended_before_train_begin_are_listened_to():
    callback_list = CallbackList([], model=FakeModel())
    late = Recorder()
    callback_list.callbacks.append(late)
    callback_list.on_train_begin()
    callback_list.on_train_batch_end(1, None)
    assert late.calls == [("on_train_batch_end", 1, {})]


def test_batch_hook_overhead_is_microseconds():
    callback_list = CallbackList([EarlyStopping(), History()], model=FakeModel())
    callback_list.on_train_begin()
    logs = {"loss": 0.5}
    calls = 20000
    start = time.perf_counter()
    for batch in range(calls):
        callback_list.on_train_batch_begin(batch)
        callback_list.on_train_batch_end(batch, logs)
    per_batch = (time.perf_counter() - start) / calls
    assert per_batch < 5e-6


def test_logs_mutated_by_a_callback_are_seen_by_later_callbacks_only():
    recorder = Recorder()
    logs = {"loss": 1.0}
    callback_list = CallbackList(
        [LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(extra=2.0)), recorder], model=FakeModel()
    )
    callback_list.on_epoch_end(0, logs)
    assert recorder.calls == [("on_epoch_end", 0, {"loss": 1.0, "extra": 2.0})]
    assert logs == {"loss": 1.0}


# ---------------------------------------------------------------- History


def test_history_records_sorted_python_floats_per_epoch():
    model, history = fit_logs([], [{"val_loss": np.float32(0.5), "loss": 1, "acc": 0.25}] * 2)
    assert history.epoch == [0, 1]
    assert list(history.history) == ["acc", "loss", "val_loss"]
    assert history.history == {"acc": [0.25, 0.25], "loss": [1.0, 1.0], "val_loss": [0.5, 0.5]}
    assert all(type(v) is float for values in history.history.values() for v in values)
    assert history.params == {"verbose": 0, "epochs": 2, "steps": 1}
    assert history.model is model and model.history is history


def test_history_gets_learning_rate_only_from_callbacks_placed_before_it():
    _, history = fit_logs([ReduceLROnPlateau(monitor="loss")], series("loss", [1.0], val_loss=2.0))
    assert list(history.history) == ["loss", "val_loss", "learning_rate"]
    assert history.history["learning_rate"] == [0.10000000149011612]
    own_history = History()
    fit_logs([own_history, ReduceLROnPlateau(monitor="loss")], series("loss", [1.0]))
    assert list(own_history.history) == ["loss"]


# ---------------------------------------------------------------- EarlyStopping


@pytest.mark.parametrize("name", sorted(EARLY_STOPPING_SCENARIOS))
def test_early_stopping_stop_epoch(name):
    make, logs, expected_epochs = EARLY_STOPPING_SCENARIOS[name]
    callback = make(EarlyStopping)
    model, history = fit_logs([callback], logs)
    assert history.epoch == expected_epochs
    assert model.stop_training == (len(expected_epochs) < len(logs))
    assert callback.stopped_epoch == (expected_epochs[-1] if model.stop_training else 0)


def test_early_stopping_messages_and_restored_weights(capsys):
    make, logs, _ = EARLY_STOPPING_SCENARIOS["patience"]
    callback = make(EarlyStopping)
    model, _ = fit_logs([callback], logs)
    assert capsys.readouterr().out == (
        "Epoch 4: early stopping\nRestoring model weights from the end of the best epoch: 2.\n"
    )
    assert callback.best == 0.5 and callback.best_epoch == 1
    np.testing.assert_array_equal(model.get_weights()[0], [[1.0]])


def test_early_stopping_restores_best_weights_without_stopping(capsys):
    make, logs, _ = EARLY_STOPPING_SCENARIOS["restore_without_stop"]
    model, _ = fit_logs([make(EarlyStopping)], logs)
    assert capsys.readouterr().out == "Restoring model weights from the end of the best epoch: 1.\n"
    np.testing.assert_array_equal(model.get_weights()[0], [[0.0]])


def test_early_stopping_is_silent_by_default(capsys):
    fit_logs([EarlyStopping(restore_best_weights=True)], series("val_loss", [1.0, 2.0]))
    assert capsys.readouterr().out == ""


def test_early_stopping_state_resets_between_fits():
    callback = EarlyStopping(monitor="loss")
    fit_logs([callback], series("loss", [0.1, 0.2]))
    _, history = fit_logs([callback], series("loss", [5.0, 4.0, 3.0]))
    assert history.epoch == [0, 1, 2] and callback.best == 3.0


def test_early_stopping_auto_mode_follows_metric_direction():
    accuracy = FakeMetric("acc", "up")
    container = types.SimpleNamespace(name="compile_metrics", metrics=[accuracy])
    model = FakeModel(metrics=[container])
    _, history = fit_logs([EarlyStopping(monitor="val_acc")], series("val_acc", [0.5, 0.6, 0.7]), model)
    assert history.epoch == [0, 1, 2]
    model = FakeModel(metrics=[FakeMetric("mse", "down")])
    _, history = fit_logs([EarlyStopping(monitor="val_mse")], series("val_mse", [0.5, 0.6]), model)
    assert history.epoch == [0, 1]


def test_early_stopping_auto_mode_unknown_metric_raises():
    message = (
        "EarlyStopping callback received monitor=val_accuracy, but Keras isn't able to automatically "
        "determine whether that metric should be maximized or minimized. Pass `mode='max'` in order to "
        "monitor based on the highest metric value, or pass `mode='min'` in order to use the lowest value."
    )
    with pytest.raises(ValueError) as info:
        fit_logs([EarlyStopping(monitor="val_accuracy")], series("val_accuracy", [0.5]))
    assert str(info.value) == message


def test_early_stopping_warns_when_monitor_missing():
    with pytest.warns(UserWarning) as record:
        _, history = fit_logs([EarlyStopping(monitor="val_foo", mode="min")], [{"loss": 1.0, "val_loss": 2.0}] * 2)
    assert [str(w.message) for w in record] == [
        "Early stopping conditioned on metric `val_foo` which is not available. Available metrics are: loss,val_loss"
    ] * 2
    assert history.epoch == [0, 1]


def test_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning) as record:
        callback = EarlyStopping(mode="foo")
    assert str(record[0].message) == "EarlyStopping mode 'foo' is unknown, fallback to auto mode."
    assert callback.mode == "auto"
    with pytest.warns(UserWarning, match="^ReduceLROnPlateau mode 'up' is unknown, fallback to auto mode.$"):
        ReduceLROnPlateau(mode="up")


# ---------------------------------------------------------------- ReduceLROnPlateau


def test_reduce_lr_with_cooldown_and_min_lr(capsys):
    make, logs = REDUCE_LR_SCENARIOS["cooldown_min_lr"]
    model, history = fit_logs([make(ReduceLROnPlateau)], logs)
    assert history.history["learning_rate"] == [
        0.10000000149011612,
        0.10000000149011612,
        0.05000000074505806,
        0.02500000037252903,
        0.019999999552965164,
        0.019999999552965164,
        0.019999999552965164,
    ]
    assert capsys.readouterr().out == (
        "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.05000000074505806.\n"
        "\nEpoch 3: ReduceLROnPlateau reducing learning rate to 0.02500000037252903.\n"
        "\nEpoch 4: ReduceLROnPlateau reducing learning rate to 0.02.\n"
    )
    assert model.optimizer.learning_rate == 0.019999999552965164


def test_reduce_lr_needs_more_than_min_delta_to_improve(capsys):
    make, logs = REDUCE_LR_SCENARIOS["min_delta"]
    _, history = fit_logs([make(ReduceLROnPlateau)], logs)
    assert history.history["learning_rate"] == [0.10000000149011612] * 2 + [0.009999999776482582] * 3
    assert capsys.readouterr().out == (
        "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.010000000149011612.\n"
        "\nEpoch 5: ReduceLROnPlateau reducing learning rate to 0.0009999999776482583.\n"
    )


def test_reduce_lr_max_mode_waits_for_patience():
    make, logs = REDUCE_LR_SCENARIOS["max_mode"]
    callback = make(ReduceLROnPlateau)
    _, history = fit_logs([callback], logs)
    assert history.history["learning_rate"] == [0.10000000149011612] * 4 + [0.009999999776482582] * 3
    assert callback.wait == 0 and callback.best == 0.3


def test_reduce_lr_rejects_factor_of_one():
    with pytest.raises(ValueError, match=r"^ReduceLROnPlateau does not support a factor >= 1.0. Received factor=1.0$"):
        ReduceLROnPlateau(factor=1.0)


def test_reduce_lr_warns_when_monitor_missing():
    with pytest.warns(UserWarning) as record:
        _, history = fit_logs([ReduceLROnPlateau(monitor="val_x", mode="min", patience=0)], series("loss", [1.0, 1.0]))
    assert str(record[0].message) == (
        "Learning rate reduction is conditioned on metric `val_x` which is not available. "
        "Available metrics are: loss,learning_rate."
    )
    assert history.history["learning_rate"] == [0.10000000149011612] * 2


# ---------------------------------------------------------------- LearningRateScheduler


def test_scheduler_with_epoch_and_lr(capsys):
    model, history = fit_logs([LearningRateScheduler(SCHEDULES["epoch_and_lr"], verbose=1)], series("loss", [1.0] * 3))
    assert history.history["learning_rate"] == [0.10000000149011612, 0.05000000074505806, 0.02500000037252903]
    assert capsys.readouterr().out == (
        "\nEpoch 1: LearningRateScheduler setting learning rate to 0.10000000149011612.\n"
        "\nEpoch 2: LearningRateScheduler setting learning rate to 0.05000000074505806.\n"
        "\nEpoch 3: LearningRateScheduler setting learning rate to 0.02500000037252903.\n"
    )


def test_scheduler_with_epoch_only(capsys):
    _, history = fit_logs([LearningRateScheduler(SCHEDULES["epoch_only"], verbose=1)], series("loss", [1.0] * 2))
    assert history.history["learning_rate"] == [0.30000001192092896, 0.15000000596046448]
    assert capsys.readouterr().out == (
        "\nEpoch 1: LearningRateScheduler setting learning rate to 0.3.\n"
        "\nEpoch 2: LearningRateScheduler setting learning rate to 0.15.\n"
    )


def test_scheduler_rejects_non_float_output_and_non_callable():
    with pytest.raises(ValueError, match=r"^The output of the `schedule` function should be a float. Got: 1$"):
        fit_logs([LearningRateScheduler(lambda epoch: 1)], series("loss", [1.0]))
    with pytest.raises(TypeError, match="schedule=0.1"):
        LearningRateScheduler(0.1)


# ---------------------------------------------------------------- CSVLogger


@pytest.mark.parametrize("name", sorted(CSV_SCENARIOS))
def test_csv_logger_writes_keras_format(tmp_path, name):
    options, logs = CSV_SCENARIOS[name]
    path = tmp_path / "log.csv"
    fit_logs([CSVLogger(path, **options)], logs)
    assert path.read_bytes() == CSV_EXPECTED[name]


def test_csv_logger_append_skips_header_of_nonempty_file(tmp_path):
    path = tmp_path / "log.csv"
    fit_logs([CSVLogger(str(path))], [{"loss": 0.5}])
    fit_logs([CSVLogger(str(path), append=True)], [{"val_loss": 0.5, "loss": 0.25}])
    assert path.read_bytes() == b"epoch,loss,val_loss\r\n0,0.5,NA\r\n0,0.25,0.5\r\n"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    fit_logs([CSVLogger(empty, append=True)], [{"loss": 0.5}])
    assert empty.read_bytes() == b"epoch,loss,val_loss\r\n0,0.5,NA\r\n"


def test_csv_logger_sees_learning_rate_from_earlier_callbacks_and_closes(tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    fit_logs([ReduceLROnPlateau(monitor="loss"), logger], [{"loss": 0.5, "val_loss": 0.25}])
    assert path.read_bytes() == b"epoch,learning_rate,loss,val_loss\r\n0,0.10000000149011612,0.5,0.25\r\n"
    assert logger.csv_file.closed


def test_csv_logger_rejects_long_separator(tmp_path):
    with pytest.raises(TypeError, match="separator"):
        CSVLogger(tmp_path / "x.csv", separator=", ")


# ---------------------------------------------------------------- LambdaCallback and TerminateOnNaN


def test_lambda_callback_hooks_and_extra_keywords():
    seen = []
    callback = LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(("epoch_end", epoch, logs)),
        on_train_batch_end=lambda batch, logs: seen.append(("batch_end", batch, logs)),
        on_test_begin=lambda logs: seen.append(("test_begin", logs)),
        on_predict_batch_end=lambda batch, logs: seen.append(("predict_batch_end", batch, logs)),
    )
    callback_list = CallbackList([callback], model=FakeModel())
    callback_list.on_train_begin()
    callback_list.on_train_batch_end(3, {"loss": np.float32(1)})
    callback_list.on_epoch_end(1, {"b": 1, "a": np.float32(2)})
    callback_list.on_test_begin()
    callback_list.on_predict_batch_end(7, {"outputs": "y"})
    callback_list.on_train_end()
    assert seen == [
        ("batch_end", 3, {"loss": 1.0}),
        ("epoch_end", 1, {"a": 2.0, "b": 1.0}),
        ("test_begin", {}),
        ("predict_batch_end", 7, {"outputs": "y"}),
    ]
    assert list(seen[1][2]) == ["a", "b"]


def test_terminate_on_nan_stops_after_train_batch_only(capsys):
    model = FakeModel()
    callback_list = CallbackList([TerminateOnNaN()], model=model)
    callback_list.on_test_batch_end(2, {"loss": float("inf")})
    assert not model.stop_training
    callback_list.on_train_batch_end(3, {"loss": np.float32("nan")})
    assert model.stop_training
    assert capsys.readouterr().out == "Batch 3: Invalid loss, terminating training\n"


def test_terminate_on_nan_raise_error_and_finite_loss():
    callback = TerminateOnNaN(raise_error=True)
    callback.set_model(FakeModel())
    callback.on_batch_end(0, {"loss": 1.0})
    callback.on_batch_end(1, {})
    with pytest.raises(RuntimeError) as info:
        callback.on_batch_end(2, {"loss": float("-inf")})
    assert str(info.value) == (
        "NaN or Inf loss encountered at batch 2. Loss value: -inf. Terminating training immediately."
    )


def test_no_warnings_from_a_clean_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, history = fit_logs(
            [EarlyStopping(), ReduceLROnPlateau(), TerminateOnNaN()], series("val_loss", [1.0, 0.5], loss=0.1)
        )
    assert history.epoch == [0, 1]

"""Keras's callbacks and minikeras's driven with the same logs: same epochs, weights, lr, prints, files."""
import sys
import types
import warnings

import pytest

import minikeras.callbacks as mk_callbacks
from tests.test_callbacks import (
    CSV_SCENARIOS,
    EARLY_STOPPING_SCENARIOS,
    REDUCE_LR_SCENARIOS,
    SCHEDULES,
    FakeModel,
    drive,
    series,
)


def keras_model(keras):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def observe(callback_module, model, make_callbacks, logs, capsys):
    """Everything a run of the callbacks leaves behind, in comparable form."""
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = drive(callback_module.CallbackList, make_callbacks(callback_module), model, logs)
    return {
        "epoch": history.epoch,
        "history": history.history,
        "history_keys": list(history.history),
        "weights": [w.tolist() for w in model.get_weights()],
        "learning_rate": float(model.optimizer.learning_rate),
        "stop_training": bool(model.stop_training),
        "stdout": capsys.readouterr().out,
        "warnings": [str(w.message) for w in caught if w.category is UserWarning],
    }


def assert_same_run(keras, make_callbacks, logs, capsys):
    theirs = observe(keras.callbacks, keras_model(keras), make_callbacks, logs, capsys)
    ours = observe(mk_callbacks, FakeModel(), make_callbacks, logs, capsys)
    assert ours == theirs
    return ours


@pytest.mark.parametrize("name", sorted(EARLY_STOPPING_SCENARIOS))
def test_early_stopping_matches_keras(keras, capsys, name):
    make, logs, expected_epochs = EARLY_STOPPING_SCENARIOS[name]
    run = assert_same_run(keras, lambda module: [make(module.EarlyStopping)], logs, capsys)
    assert run["epoch"] == expected_epochs


@pytest.mark.parametrize("name", sorted(REDUCE_LR_SCENARIOS))
def test_reduce_lr_on_plateau_matches_keras(keras, capsys, name):
    make, logs = REDUCE_LR_SCENARIOS[name]
    run = assert_same_run(keras, lambda module: [make(module.ReduceLROnPlateau)], logs, capsys)
    assert run["learning_rate"] < 0.1


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_learning_rate_scheduler_matches_keras(keras, capsys, name):
    def make(module):
        return [module.LearningRateScheduler(SCHEDULES[name], verbose=1)]

    run = assert_same_run(keras, make, series("loss", [1.0, 2.0, 3.0]), capsys)
    assert len(set(run["history"]["learning_rate"])) > 1


@pytest.mark.parametrize("name", sorted(CSV_SCENARIOS))
def test_csv_logger_matches_keras(keras, capsys, tmp_path, name):
    options, logs = CSV_SCENARIOS[name]

    def make(module):
        return [module.ReduceLROnPlateau(), module.CSVLogger(tmp_path / module.__name__, **options)]

    assert_same_run(keras, make, logs, capsys)
    written = (tmp_path / keras.callbacks.__name__).read_bytes()
    assert (tmp_path / mk_callbacks.__name__).read_bytes() == written
    assert written.startswith(b"epoch")


def test_csv_logger_append_matches_keras(keras, capsys, tmp_path):
    files = {}
    for module, model_factory in ((keras.callbacks, lambda: keras_model(keras)), (mk_callbacks, FakeModel)):
        path = tmp_path / module.__name__
        drive(module.CallbackList, [module.CSVLogger(path)], model_factory(), [{"loss": 0.5}])
        drive(module.CallbackList, [module.CSVLogger(path, append=True)], model_factory(), [{"val_loss": 0.5}])
        files[module] = path.read_bytes()
    assert files[mk_callbacks] == files[keras.callbacks]


def test_missing_monitor_warnings_match_keras(keras, capsys):
    def make(module):
        return [
            module.EarlyStopping(monitor="val_x", mode="min"),
            module.ReduceLROnPlateau(monitor="val_y", mode="max"),
        ]

    run = assert_same_run(keras, make, series("loss", [1.0, 0.5]), capsys)
    assert len(run["warnings"]) == 4


@pytest.mark.parametrize("class_name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_unknown_mode_warning_matches_keras(keras, class_name):
    messages = {}
    for module in (keras.callbacks, mk_callbacks):
        with pytest.warns(UserWarning) as record:
            getattr(module, class_name)(mode="upward")
        messages[module] = [str(w.message) for w in record]
    assert messages[mk_callbacks] == messages[keras.callbacks]


def test_auto_mode_error_matches_keras(keras):
    errors = {}
    for module, model in ((keras.callbacks, keras_model(keras)), (mk_callbacks, FakeModel())):
        with pytest.raises(ValueError) as info:
            callbacks = [module.ReduceLROnPlateau(monitor="val_accuracy")]
            drive(module.CallbackList, callbacks, model, series("val_accuracy", [1.0]))
        errors[module] = str(info.value)
    assert errors[mk_callbacks] == errors[keras.callbacks]


def test_factor_error_and_schedule_output_error_match_keras(keras):
    errors = {}
    for module, model in ((keras.callbacks, keras_model(keras)), (mk_callbacks, FakeModel())):
        with pytest.raises(ValueError) as factor_error:
            module.ReduceLROnPlateau(factor=1.5)
        with pytest.raises(ValueError) as schedule_error:
            drive(module.CallbackList, [module.LearningRateScheduler(lambda epoch: 2)], model, series("loss", [1.0]))
        errors[module] = (str(factor_error.value), str(schedule_error.value))
    assert errors[mk_callbacks] == errors[keras.callbacks]


def test_terminate_on_nan_matches_keras(keras, capsys):
    runs = {}
    for module, model in ((keras.callbacks, keras_model(keras)), (mk_callbacks, FakeModel())):
        callback_list = module.CallbackList([module.TerminateOnNaN()], model=model)
        model.stop_training = False
        callback_list.on_test_batch_end(0, {"loss": float("nan")})
        stopped_by_test_batch = model.stop_training
        callback_list.on_train_batch_end(5, {"loss": float("inf")})
        runs[module] = (stopped_by_test_batch, model.stop_training, capsys.readouterr().out)
    assert runs[mk_callbacks] == runs[keras.callbacks]
    assert runs[mk_callbacks][1] is True


def test_default_callback_order_matches_keras(keras, monkeypatch):
    stub = types.ModuleType("minikeras.callbacks.progbar_logger")
    stub.ProgbarLogger = type("ProgbarLogger", (mk_callbacks.Callback,), {})
    monkeypatch.setitem(sys.modules, "minikeras.callbacks.progbar_logger", stub)
    orders = {}
    for module, model in ((keras.callbacks, keras_model(keras)), (mk_callbacks, FakeModel())):
        callback_list = module.CallbackList(
            [module.TerminateOnNaN()], add_history=True, add_progbar=True, model=model, verbose=1, epochs=2, steps=3
        )
        orders[module] = ([type(cb).__name__ for cb in callback_list.callbacks], callback_list.callbacks[1].params)
    assert orders[mk_callbacks] == orders[keras.callbacks]

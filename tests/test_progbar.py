"""Progbar and ProgbarLogger print exactly what Keras 3.15 prints.

Every expected string below was captured from real Keras (keras.src.utils.progbar with the same
fake clock and the same update sequence); the clock is patched so timing fields are exact.
"""
import io
import sys
import types

import numpy as np
import pytest

from minikeras.callbacks.progbar_logger import ProgbarLogger
from minikeras.utils import progbar as progbar_module
from minikeras.utils.progbar import Progbar

DYNAMIC_BAR = (
    "\r\x1b[1m1/4\x1b[0m \x1b[32m━━━━━\x1b[0m\x1b[37m━━━━━━━━━━━━━━━\x1b[0m \x1b[1m0s\x1b[0m 300ms/step - loss: 2.5000"
    + "\b" * 53
    + "\r\x1b[1m3/4\x1b[0m \x1b[32m━━━━━━━━━━━━━━━\x1b[0m\x1b[37m━━━━━\x1b[0m \x1b[1m0s\x1b[0m 55ms/step - loss: 1.5000 "
    + "\b" * 52
    + "\r\x1b[1m4/4\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m1s\x1b[0m 70ms/step - loss: -1.0000\n"
)
VERBOSE2 = (
    "4/4 - 0s - 37ms/step - loss: -1.0000e+00 - acc: 0.5000\n"
)
UNKNOWN_TARGET = (
    "\r      1/Unknown \x1b[1m0s\x1b[0m 300ms/step - loss: 2.5000"
    + "\b" * 44
    + "\r     50/Unknown \x1b[1m100s\x1b[0m 2s/step - loss: 2.0100 "
    + "\b" * 43
    + "\r     60/Unknown \x1b[1m100s\x1b[0m 2s/step - loss: 2.0100\n"
)
LONG_ETA = (
    "\r\x1b[1m   1/1000\x1b[0m \x1b[37m━━━━━━━━━━━━━━━━━━━━\x1b[0m \x1b[1m33:18\x1b[0m 2s/step - loss: 2.5000"
    + "\b" * 59
    + "\r\x1b[1m   3/1000\x1b[0m \x1b[37m━━━━━━━━━━━━━━━━━━━━\x1b[0m \x1b[1m276:56:40\x1b[0m 1000s/step - loss: 2.0000"
    + "\b" * 66
    + "\r\x1b[1m   5/1000\x1b[0m \x1b[37m━━━━━━━━━━━━━━━━━━━━\x1b[0m \x1b[1m143:01:52\x1b[0m 518s/step - loss: 2.0000 "
    + "\b" * 65
    + "\r\x1b[1m 999/1000\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m━\x1b[0m \x1b[1m7s\x1b[0m 7s/step - loss: 2.0000 - x: 0.0000e+00"
    + "\b" * 72
    + "\r\x1b[1m1000/1000\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m7077s\x1b[0m 7s/step - loss: -1.0000 - x: 0.0000e+00\n"
)
AVERAGING = (
    "\r\x1b[1m 1/12\x1b[0m \x1b[32m━\x1b[0m\x1b[37m━━━━━━━━━━━━━━━━━━━\x1b[0m \x1b[1m0s\x1b[0m 100us/step - loss: 2.5000 - acc: 0.1000"
    + "\b" * 69
    + "\r\x1b[1m 6/12\x1b[0m \x1b[32m━━━━━━━━━━\x1b[0m\x1b[37m━━━━━━━━━━\x1b[0m \x1b[1m0s\x1b[0m 40ms/step - loss: 1.9167 - acc: 0.2000 "
    + "\b" * 68
    + "\r\x1b[1m12/12\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 36ms/step - loss: -1.0000 - acc: 0.2000\n"
)
ADD = (
    "3/3 - 1s - 250ms/step - loss: 4.0000\n"
)
NOT_DYNAMIC = (
    "\n\x1b[1m1/2\x1b[0m \x1b[32m━━━━━━━━━━\x1b[0m\x1b[37m━━━━━━━━━━\x1b[0m \x1b[1m0s\x1b[0m 100ms/step - loss: 1.0000\n\x1b[1m2/2\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 100ms/step - loss: 0.5000\n"
)
FIT_V1 = (
    "Epoch 1/2\n\r\x1b[1m1/3\x1b[0m \x1b[32m━━━━━━\x1b[0m\x1b[37m━━━━━━━━━━━━━━\x1b[0m \x1b[1m0s\x1b[0m 40ms/step - loss: 1.0000 - mae: 0.0000e+00"
    + "\b" * 70
    + "\r\x1b[1m3/3\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 40ms/step - loss: 0.3333 - mae: 0.0000e+00"
    + "\b" * 70
    + "\r\x1b[1m3/3\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 40ms/step - loss: 0.5000 - mae: 0.0000e+00 - val_loss: 3.0000\nEpoch 2/2\n\r\x1b[1m1/3\x1b[0m \x1b[32m━━━━━━\x1b[0m\x1b[37m━━━━━━━━━━━━━━\x1b[0m \x1b[1m0s\x1b[0m 40ms/step - loss: 1.0000 - mae: 0.0000e+00"
    + "\b" * 70
    + "\r\x1b[1m3/3\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 40ms/step - loss: 0.3333 - mae: 0.0000e+00"
    + "\b" * 70
    + "\r\x1b[1m3/3\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 40ms/step - loss: 0.5000 - mae: 0.0000e+00 - val_loss: 3.0000\n"
)
FIT_V2 = (
    "Epoch 1/2\n3/3 - 0s - 40ms/step - loss: 0.5000 - mae: 0.0000e+00 - val_loss: 3.0000\nEpoch 2/2\n3/3 - 0s - 40ms/step - loss: 0.5000 - mae: 0.0000e+00 - val_loss: 3.0000\n"
)
FIT_AUTO_ONE_EPOCH = (
    "\r\x1b[1m1/3\x1b[0m \x1b[32m━━━━━━\x1b[0m\x1b[37m━━━━━━━━━━━━━━\x1b[0m \x1b[1m0s\x1b[0m 40ms/step - loss: 1.0000 - mae: 0.0000e+00"
    + "\b" * 70
    + "\r\x1b[1m3/3\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 40ms/step - loss: 0.3333 - mae: 0.0000e+00"
    + "\b" * 70
    + "\r\x1b[1m3/3\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 40ms/step - loss: 0.5000 - mae: 0.0000e+00 - val_loss: 3.0000\n"
)
FIT_UNKNOWN_STEPS = (
    "\r      1/Unknown \x1b[1m0s\x1b[0m 40ms/step - loss: 1.0000 - mae: 0.0000e+00"
    + "\b" * 61
    + "\r      3/Unknown \x1b[1m0s\x1b[0m 40ms/step - loss: 0.3333 - mae: 0.0000e+00"
    + "\b" * 61
    + "\r\x1b[1m3/3\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 40ms/step - loss: 0.5000 - mae: 0.0000e+00 - val_loss: 3.0000\n"
)
FIT_V0 = ""
EVALUATE_V1 = (
    "\r\x1b[1m1/2\x1b[0m \x1b[32m━━━━━━━━━━\x1b[0m\x1b[37m━━━━━━━━━━\x1b[0m \x1b[1m0s\x1b[0m 100ms/step - loss: 3.0000"
    + "\b" * 53
    + "\r\x1b[1m2/2\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 100ms/step - loss: 2.0000"
    + "\b" * 53
    + "\r\x1b[1m2/2\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 100ms/step - loss: 2.5000\n"
)
EVALUATE_V2 = (
    "2/2 - 0s - 100ms/step - loss: 2.5000\n"
)
PREDICT_V1 = (
    "\r\x1b[1m1/1\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 39ms/step"
    + "\b" * 37
    + "\r\x1b[1m1/1\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 39ms/step\n"
)
PREDICT_V2 = (
    "1/1 - 0s - 39ms/step\n"
)


@pytest.fixture
def clock(monkeypatch):
    """A settable clock that Progbar reads instead of time.time(); starts at 1000 s."""
    now = [1000.0]
    monkeypatch.setattr(progbar_module, "time", types.SimpleNamespace(time=lambda: now[0]))
    return now


def play(clock, progbar, steps):
    """Advance the clock by dt, then call update(current, values, **kwargs), for each step."""
    for dt, current, values, kwargs in steps:
        clock[0] += dt
        progbar.update(current, values, **kwargs)


def test_dynamic_bar_redraws_in_place_with_throttle_padding_and_eta(clock, capsys):
    play(clock, Progbar(4), [
        (0.3, 1, [("loss", 2.5)], {}),
        (0.01, 2, [("loss", 2.0)], {}),  # within 0.05 s of the last redraw: not shown
        (0.1, 3, [("loss", 1e-4)], {}),
        (0.1, 4, [("loss", -1.0)], {}),
    ])
    assert capsys.readouterr().out == DYNAMIC_BAR


def test_verbose_2_prints_one_line_at_the_end_with_signed_format_quirk(clock, capsys):
    play(clock, Progbar(4, verbose=2), [
        (0.3, 1, [("loss", 2.5)], {}),
        (0.01, 2, [("loss", 2.0)], {}),
        (0.1, 4, [("loss", -1.0), ("acc", np.float32(0.5))], {}),
    ])
    assert capsys.readouterr().out == VERBOSE2


def test_unknown_target_counts_steps_and_shows_elapsed_time(clock, capsys):
    play(clock, Progbar(None), [
        (0.3, 1, [("loss", 2.5)], {}),
        (100, 50, [("loss", 2.0)], {}),
        (0.1, 60, None, {"finalize": True}),
    ])
    assert capsys.readouterr().out == UNKNOWN_TARGET


def test_eta_in_hours_and_minutes_and_seconds_per_step(clock, capsys):
    play(clock, Progbar(1000, stateful_metrics=["loss"]), [
        (2, 1, [("loss", 2.5)], {}),
        (2000, 3, [("loss", 2.0)], {}),
        (70, 5, [], {}),
        (5000, 999, [("x", 0)], {}),
        (5, 1000, [("loss", -1.0)], {}),
    ])
    assert capsys.readouterr().out == LONG_ETA


def test_stateless_values_are_averaged_over_steps_and_stateful_shown_as_is(clock, capsys):
    play(clock, Progbar(12, stateful_metrics=["acc"]), [
        (0.0001, 1, [("loss", 2.5), ("acc", 0.1)], {}),
        (0.00002, 5, [("loss", 2.0), ("acc", 0.2)], {}),
        (0.2, 6, [("loss", 1.0)], {}),
        (0.2, 12, [("loss", -1.0)], {}),
    ])
    assert capsys.readouterr().out == AVERAGING


def test_add_advances_from_the_steps_seen(clock, capsys):
    progbar = Progbar(3, verbose=2)
    clock[0] += 0.5
    progbar.add(1, [("loss", 1.0)])
    clock[0] += 0.5
    progbar.add(2, [("loss", 4.0)])
    assert capsys.readouterr().out == ADD


def test_without_dynamic_display_each_update_starts_a_new_line(clock, capsys):
    progbar = Progbar(2)
    progbar._dynamic_display = False
    play(clock, progbar, [(0.1, 1, [("loss", 1.0)], {}), (0.1, 2, [("loss", 0.5)], {})])
    assert capsys.readouterr().out == NOT_DYNAMIC


def test_verbose_0_prints_nothing(clock, capsys):
    play(clock, Progbar(2, verbose=0), [(0.1, 1, [("loss", 1.0)], {}), (0.1, 2, [("loss", 0.5)], {})])
    assert capsys.readouterr().out == ""


def test_dynamic_display_decision(monkeypatch):
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert progbar_module.stdout_is_dynamic()  # Linux: "posix" is in sys.modules
    monkeypatch.delitem(sys.modules, "posix")
    monkeypatch.delenv("PYCHARM_HOSTED", raising=False)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert not progbar_module.stdout_is_dynamic()
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert progbar_module.stdout_is_dynamic()


def test_stdout_that_cannot_encode_the_bar_gets_equals_signs(clock, monkeypatch):
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii"))
    play(clock, Progbar(2, width=4), [(0.1, 2, [("loss", 1.0)], {})])
    sys.stdout.flush()
    assert raw.getvalue() == b"\r\x1b[1m2/2\x1b[0m \x1b[32m====\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 50ms/step - loss: 1.0000\n"


def test_stateful_and_stateless_lists_are_exclusive():
    with pytest.raises(ValueError) as error:
        Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])
    assert str(error.value) == (
        "Only one of `stateful_metrics` or `stateless_metrics` can be provided. `stateful_metrics` is used "
        "to make metrics stateless by default (with an exclusion list), while `stateless_metrics` is used "
        "to make metrics stateful by default (with an exclusion list)."
    )


def run_fit(clock, params):
    """The hook sequence of Keras's fit: 3 training batches 40 ms apart, a silent validation pass."""
    logger = ProgbarLogger()
    logger.set_params(params)
    logger.on_train_begin()
    for epoch in range(params["epochs"]):
        logger.on_epoch_begin(epoch)
        for batch in range(3):
            clock[0] += 0.04
            logger.on_train_batch_begin(batch)
            logger.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1), "mae": 0.0})
        logger.on_test_begin()
        logger.on_test_batch_end(0, {"loss": 3.0})
        logger.on_test_end({"loss": 3.0})
        logger.on_epoch_end(epoch, {"loss": 0.5, "mae": 0.0, "val_loss": 3.0})
    logger.on_train_end()
    return logger


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"verbose": 1, "epochs": 2, "steps": 3}, FIT_V1),
        ({"verbose": 2, "epochs": 2, "steps": 3}, FIT_V2),
        ({"verbose": "auto", "epochs": 1, "steps": 3}, FIT_AUTO_ONE_EPOCH),
        ({"verbose": 1, "epochs": 1, "steps": None}, FIT_UNKNOWN_STEPS),
        ({"verbose": 0, "epochs": 2, "steps": 3}, FIT_V0),
    ],
)
def test_progbar_logger_in_fit(clock, capsys, params, expected):
    logger = run_fit(clock, params)
    assert capsys.readouterr().out == expected
    assert logger.params == params


@pytest.mark.parametrize("verbose, expected", [(1, EVALUATE_V1), (2, EVALUATE_V2)])
def test_progbar_logger_in_evaluate(clock, capsys, verbose, expected):
    logger = ProgbarLogger()
    logger.set_params({"verbose": verbose, "epochs": 1, "steps": 2})
    logger.on_test_begin()
    for batch in range(2):
        clock[0] += 0.1
        logger.on_test_batch_begin(batch)
        logger.on_test_batch_end(batch, {"loss": 3.0 - batch})
    logger.on_test_end({"loss": 2.5})
    assert capsys.readouterr().out == expected


@pytest.mark.parametrize("verbose, expected", [(1, PREDICT_V1), (2, PREDICT_V2)])
def test_progbar_logger_in_predict_shows_no_values(clock, capsys, verbose, expected):
    logger = ProgbarLogger()
    logger.set_params({"verbose": verbose, "epochs": 1, "steps": 1})
    logger.on_predict_begin()
    clock[0] += 0.039
    logger.on_predict_batch_end(0, {"outputs": np.zeros(2)})
    logger.on_predict_end()
    assert capsys.readouterr().out == expected

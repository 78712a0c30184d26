"""Ctrl-C during fit: never a half-updated model; History keeps the finished epochs (issue 8)."""
import signal
import threading

import numpy as np
import pytest

import minikeras
from minikeras import layers
from minikeras.optimizers.adam import Adam


@pytest.fixture(autouse=True)
def default_sigint_handler():
    """Python's own Ctrl-C handler, whatever the test runner installed."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((48, 6)).astype(np.float32), np.eye(3, dtype=np.float32)[np.arange(48) % 3]


def build():
    minikeras.utils.set_random_seed(7)
    model = minikeras.Sequential([layers.Input((6,)), layers.Dense(5, activation="relu"),
                                  layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def replay(steps, batch_size=8):
    """A fresh model trained on the same batches, `steps` whole steps."""
    x, y = data()
    model = build()
    for step in range(steps):
        start = step * batch_size % len(x)
        model.train_on_batch(x[start:start + batch_size], y[start:start + batch_size])
    return model


def ctrl_c_during_update(monkeypatch, at_call):
    """Ctrl-C arrives right after Adam's first update call of the `at_call`-th step, the rest of that step
    still to come (the model's small variables are one flat update: writing the values back)."""
    update = Adam._update_step

    def update_then_ctrl_c(self, index, gradient, value, constants):
        update(self, index, gradient, value, constants)
        if self.iterations + 1 == at_call and not getattr(self, "_interrupted", False):
            self._interrupted = True
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(Adam, "_update_step", update_then_ctrl_c)


def assert_same_weights(model, other):
    for mine, theirs in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_ctrl_c_inside_a_step_stops_fit_after_that_whole_step(monkeypatch):
    x, y = data()
    model = build()
    ctrl_c_during_update(monkeypatch, at_call=14)  # the 2nd step of the 3rd epoch (6 steps an epoch)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=5, shuffle=False, verbose=0)
    monkeypatch.undo()
    assert model.optimizer.iterations == 14
    assert len(model.history.history["loss"]) == 2
    assert_same_weights(model, replay(14))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_model_trains_on_after_an_interrupted_fit(monkeypatch):
    x, y = data()
    model = build()
    ctrl_c_during_update(monkeypatch, at_call=3)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    monkeypatch.undo()
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert model.optimizer.iterations == 9 and np.isfinite(history.history["loss"][0])


def test_ctrl_c_inside_train_on_batch_finishes_the_update(monkeypatch):
    x, y = data()
    model = build()
    ctrl_c_during_update(monkeypatch, at_call=1)
    with pytest.raises(KeyboardInterrupt):
        model.train_on_batch(x[:8], y[:8])
    monkeypatch.undo()
    assert model.optimizer.iterations == 1
    assert_same_weights(model, replay(1))


def test_ctrl_c_between_steps_interrupts_at_once():
    class CtrlCAtSecondEpoch(minikeras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                signal.raise_signal(signal.SIGINT)

    x, y = data()
    model = build()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[CtrlCAtSecondEpoch()])
    assert model.optimizer.iterations == 6 and len(model.history.history["loss"]) == 1


def test_fit_in_another_thread_leaves_signal_handling_alone():
    x, y = data()
    model = build()
    errors = []
    worker = threading.Thread(target=lambda: errors.extend(
        [model.fit(x, y, batch_size=8, epochs=1, verbose=0).history["loss"]]))
    worker.start()
    worker.join()
    assert len(errors) == 1 and np.isfinite(errors[0][0])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_runners_own_ctrl_c_handler_is_kept_during_fit():
    seen = []

    def runners_handler(signum, frame):
        seen.append(signum)

    signal.signal(signal.SIGINT, runners_handler)

    class CtrlCOnce(minikeras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            signal.raise_signal(signal.SIGINT)

    x, y = data()
    build().fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[CtrlCOnce()])
    assert seen == [signal.SIGINT, signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is runners_handler

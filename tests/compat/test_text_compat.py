"""The text users read: Progbar, ProgbarLogger and model.summary() against real Keras 3, byte for byte."""
import io
import random
import sys
import types
import warnings

import numpy as np
import pytest

from minikeras.callbacks.progbar_logger import ProgbarLogger
from minikeras.models.summary import print_summary
from minikeras.utils import progbar as progbar_module
from minikeras.utils.progbar import Progbar
from minikeras.variables import Variable
from tests.test_summary import FakeLayer, FakeModel, FakeOptimizer


@pytest.fixture
def clock(keras, monkeypatch):
    """One fake clock read by both Progbar modules; each read advances it by `tick` seconds."""
    from keras.src.utils import progbar as keras_progbar_module

    state = types.SimpleNamespace(now=1000.0, tick=0.0)

    def read():
        state.now += state.tick
        return state.now

    fake_time = types.SimpleNamespace(time=read)
    monkeypatch.setattr(progbar_module, "time", fake_time)
    monkeypatch.setattr(keras_progbar_module, "time", fake_time)
    return state


def captured(clock, action):
    """stdout written by action(), with the clock restarted at 1000 s."""
    clock.now = 1000.0
    buffer, saved = io.StringIO(), sys.stdout
    sys.stdout = buffer
    try:
        action()
    finally:
        sys.stdout = saved
    return buffer.getvalue()


def random_updates(rng):
    """A random Progbar life: constructor arguments and (dt, current, values, finalize) steps."""
    target = rng.choice([None, 1, 7, 12, 1000])
    kwargs = {"verbose": rng.choice([1, 1, 2]), "width": rng.choice([20, 20, 7])}
    kind = rng.choice(["none", "stateful", "stateless"])
    if kind == "stateful":
        kwargs["stateful_metrics"] = ["acc"]
    elif kind == "stateless":
        kwargs["stateless_metrics"] = ["loss"]
    steps, current = [], 0
    for _ in range(rng.randint(1, 8)):
        current += rng.choice([0, 1, 1, 2, 5])
        values = [
            (name, rng.choice([rng.uniform(-3, 3), rng.uniform(-1e-3, 1e-3), 0, 7, np.float32(rng.random())]))
            for name in rng.sample(["loss", "acc", "mae"], rng.randint(0, 3))
        ]
        dt = rng.choice([1e-5, 0.01, 0.04, 0.06, 0.5, 100.0, 5000.0])
        steps.append((dt, current, values, rng.choice([None, None, None, True, False])))
    if target is not None:
        steps.append((rng.choice([0.01, 0.3]), target, [("loss", rng.uniform(0, 2))], None))
    return target, kwargs, steps


def play(clock, progbar_class, target, kwargs, steps):
    def action():
        progbar = progbar_class(target, **kwargs)
        for dt, current, values, finalize in steps:
            clock.now += dt
            progbar.update(current, values, finalize=finalize)

    return captured(clock, action)


def test_progbar_matches_keras_on_random_update_sequences(keras, clock):
    rng = random.Random(0)
    for _ in range(300):
        target, kwargs, steps = random_updates(rng)
        expected = play(clock, keras.utils.Progbar, target, kwargs, steps)
        assert play(clock, Progbar, target, kwargs, steps) == expected, (target, kwargs, steps)


def test_progbar_add_matches_keras(keras, clock):
    def adding(progbar_class):
        progbar = progbar_class(10)
        for n in (1, 3, 6):
            clock.now += 0.2
            progbar.add(n, [("loss", n / 10)])

    assert captured(clock, lambda: adding(Progbar)) == captured(clock, lambda: adding(keras.utils.Progbar))


def test_stdout_that_cannot_encode_the_bar_matches_keras(keras, clock, monkeypatch):
    def through_ascii_stdout(progbar_class):
        raw = io.BytesIO()
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii"))
        progbar = progbar_class(3)
        for current in (1, 3):
            clock.now += 0.1
            progbar.update(current, [("loss", 0.5)])
        sys.stdout.flush()
        return raw.getvalue()

    assert through_ascii_stdout(Progbar) == through_ascii_stdout(keras.utils.Progbar)


def drive_logger(logger, clock, params):
    """Keras's hook order for fit (with a silent validation pass), then evaluate and predict."""
    logger.set_params(params)
    logger.on_train_begin()
    for epoch in range(params["epochs"]):
        logger.on_epoch_begin(epoch)
        for batch in range(5):
            clock.now += 0.03
            logger.on_train_batch_begin(batch)
            logger.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1), "mean_absolute_error": 2e-4})
        logger.on_test_begin()
        logger.on_test_batch_end(0, {"loss": 3.0})
        logger.on_test_end({"loss": 3.0})
        logger.on_epoch_end(epoch, {"loss": 0.4, "mean_absolute_error": 2e-4, "val_loss": -3.0})
    logger.on_train_end()


def drive_evaluate_and_predict(logger, clock, params):
    logger.set_params(params)
    logger.on_test_begin()
    for batch in range(3):
        clock.now += 0.07
        logger.on_test_batch_end(batch, {"loss": float(batch)})
    logger.on_test_end({"loss": 1.0})
    logger.on_predict_begin()
    for batch in range(2):
        clock.now += 0.07
        logger.on_predict_batch_end(batch, {"outputs": np.ones(3)})
    logger.on_predict_end()


@pytest.mark.parametrize("verbose", [0, 1, 2, "auto"])
@pytest.mark.parametrize("epochs, steps", [(1, 5), (3, 5), (2, None)])
def test_progbar_logger_matches_keras(keras, clock, verbose, epochs, steps):
    params = {"verbose": verbose, "epochs": epochs, "steps": steps}
    for drive in (drive_logger, drive_evaluate_and_predict):
        expected = captured(clock, lambda: drive(keras.callbacks.ProgbarLogger(), clock, params))
        assert captured(clock, lambda: drive(ProgbarLogger(), clock, params)) == expected


class LogRecorder:
    """Records every hook call of a real Keras fit, to replay it into minikeras's ProgbarLogger."""

    def __init__(self, keras):
        class Recorder(keras.callbacks.Callback):
            calls = []

            def set_params(inner, params):
                super().set_params(params)
                inner.calls.append(("set_params", (dict(params),)))

        for hook in ("on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
                     "on_test_begin", "on_test_batch_end", "on_test_end", "on_epoch_end", "on_train_end"):
            setattr(Recorder, hook, self._recording(hook))
        self.callback = Recorder()

    @staticmethod
    def _recording(hook):
        def record(callback, *args, logs=None):
            callback.calls.append((hook, args + ((dict(logs),) if logs is not None else ())))

        return record


@pytest.mark.parametrize("verbose", [1, 2])
def test_real_keras_fit_output_is_reproduced_from_its_hook_calls(keras, clock, verbose):
    """The bar Keras's fit prints equals what ProgbarLogger prints when given fit's own hook calls."""
    clock.tick = 0.02
    x = np.linspace(-1, 1, 40, dtype="float32").reshape(-1, 1)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    recorder = LogRecorder(keras)
    fit = lambda: model.fit(x, 2 * x + 1, epochs=2, batch_size=8, validation_split=0.25,
                            verbose=verbose, callbacks=[recorder.callback])
    expected = captured(clock, fit)

    def replay():
        logger = ProgbarLogger()
        for hook, args in recorder.callback.calls:
            getattr(logger, hook)(*args)

    assert expected.startswith("Epoch 1/2\n")
    assert captured(clock, replay) == expected


def mirror_layer(keras_layer):
    """A FakeLayer named, shaped, weighted and classed like `keras_layer`."""
    layer_class = type(type(keras_layer).__name__, (FakeLayer,), {})
    return layer_class(
        keras_layer.name,
        tuple(keras_layer.output.shape) if keras_layer.built else None,
        [tuple(weight.shape) for weight in keras_layer.trainable_weights],
        [tuple(weight.shape) for weight in keras_layer.non_trainable_weights],
        trainable=keras_layer.trainable,
    )


def mirror(keras_model):
    """A FakeModel standing for `keras_model` in minikeras's print_summary."""
    optimizer = getattr(keras_model, "optimizer", None)
    fake_optimizer = None
    if optimizer is not None and optimizer.built:
        variables = [Variable(np.zeros(v.shape, v.dtype), v.name) for v in optimizer.variables]
        fake_optimizer = FakeOptimizer(variables)
    return FakeModel(keras_model.name, [mirror_layer(layer) for layer in keras_model.layers], fake_optimizer)


@pytest.fixture(scope="module")
def keras_models(keras):
    """Keras models covering long and spaced names, frozen and non-trainable weights, Adam's slots,
    unbuilt layers and an empty model (built once: fitting is the slow part)."""
    layers = keras.layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = keras.Sequential([layers.Dense(32, input_shape=(10,)), layers.Dropout(0.5), layers.Dense(16), layers.Dense(1)])
    long_names = keras.Sequential([
        keras.Input((10,)),
        layers.Dense(32, name="a_really_long_layer_name_that_goes_on_and_on"),
        layers.Dense(3000, name="averyveryveryveryveryverylongnamewithoutanyspacesatall_xyz"),
        layers.BatchNormalization(),
        layers.Dense(333, name="a b c d e f g h i j k l m n o p q r s t u v w x y z"),
        layers.Dense(1, name="two  spaces"),
    ], name="my_model")
    long_names.layers[0].trainable = False
    trained = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(4)])
    trained.compile("adam", "mse")
    trained.fit(np.zeros((2, 28, 28, 1)), np.zeros((2, 4)), verbose=0)
    unbuilt = keras.Sequential([layers.Dense(32), layers.Dense(1)])
    return [reference, long_names, trained, unbuilt, keras.Sequential(name="empty")]


SUMMARY_OPTIONS = [
    {},
    {"line_length": 100},
    {"line_length": 40},
    {"line_length": 30},
    {"line_length": 60, "positions": [0.2, 0.5, 1.0]},
    {"show_trainable": True},
    {"show_trainable": True, "line_length": 50},
    {"layer_range": ["dense", "dense"]},
    {"layer_range": ["x", "y"]},
    {"layer_range": ["dense"]},
    {"line_length": 10},
]


def outcome(action):
    try:
        return action()
    except ValueError as error:
        return f"ValueError: {error}"


@pytest.mark.parametrize("columns", [None, "80", "200", "50"])
def test_summary_matches_keras(keras, keras_models, monkeypatch, columns):
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    for keras_model in keras_models:
        for options in SUMMARY_OPTIONS:
            expected, got = [], []
            expected_outcome = outcome(lambda: keras_model.summary(print_fn=expected.append, **options))
            got_outcome = outcome(lambda: print_summary(mirror(keras_model), print_fn=got.append, **options))
            assert (got_outcome, got) == (expected_outcome, expected), (keras_model.name, options)


@pytest.fixture
def fresh_rich_styles():
    """rich caches each parsed style's ANSI codes for the first colour system it meets: forget them."""
    from rich.style import Style

    for cached in (Style.parse, Style.normalize, Style._add):
        cached.cache_clear()
    yield
    for cached in (Style.parse, Style.normalize, Style._add):
        cached.cache_clear()


@pytest.mark.parametrize(
    "environment",
    [
        {"TERM": "xterm-256color"},
        {"TERM": "xterm"},
        {"TERM": "xterm", "COLORTERM": "truecolor"},
        {"TERM": "xterm-256color", "NO_COLOR": "1"},
        {"TERM": "dumb"},
    ],
)
def test_terminal_summary_matches_keras(keras, keras_models, monkeypatch, capsys, fresh_rich_styles, environment):
    for name in ("COLORTERM", "NO_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "90")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for keras_model in keras_models:
        for options in ({}, {"show_trainable": True}, {"line_length": 30}):
            keras_model.summary(**options)
            expected = capsys.readouterr().out
            print_summary(mirror(keras_model), **options)
            assert capsys.readouterr().out == expected, (environment, keras_model.name, options)

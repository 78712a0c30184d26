"""Property-based tests (hypothesis) over the public API.

1. Random layer stacks, input shapes and dtypes train one or two epochs and predict arrays of the shape
   Keras's shape rules give (and `model.compute_output_shape` reports), finite and float32.
2. Random argument values for layer constructors either give a working layer or a ValueError/TypeError
   raised by minikeras's own code that names the argument.
3. Random bytes, truncations and bit flips of saved files (`.keras`, `.weights.h5`, legacy `.h5`, model
   JSON) either load or fail with a ValueError naming the file, leaving the target model unchanged.

Every test is derandomized, so a run is reproducible; the examples are budgeted for a few seconds each.
"""
import io
import math
import os
import traceback
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minikeras as keras
from minikeras import layers

REPRODUCIBLE = {"deadline": None, "derandomize": True, "database": None,
                "suppress_health_check": [HealthCheck.too_slow]}
ACTIVATIONS = [None, "relu", "tanh", "sigmoid", "softmax", "elu", "selu", "gelu", "softplus", "swish",
               "leaky_relu", "hard_sigmoid", "mish"]


def assert_raised_by_minikeras(error, *names, types=(ValueError, TypeError)):
    """`error` is exactly one of `types`, its last traceback frame is minikeras's own code (not NumPy's or
    h5py's), and its message names each of `names`."""
    assert type(error) in types, f"{type(error).__name__}: {error}"
    last_frame = traceback.extract_tb(error.__traceback__)[-1].filename
    assert f"{os.sep}minikeras{os.sep}" in last_frame, f"raised from {last_frame}: {error}"
    for name in names:
        assert name in str(error), f"{name!r} not in: {error}"


# ------------------------------------------------------------------------------------ layer stacks
def _conv_length(length, kernel, stride, padding):
    """Keras's output length of a convolution or pooling window along one axis."""
    if padding == "same":
        return math.ceil(length / stride)
    return (length - kernel) // stride + 1


@st.composite
def _window(draw, length, max_kernel=3, padding=None):
    """(kernel, stride, padding, output length) of a window along an axis of `length`."""
    padding = padding or draw(st.sampled_from(["valid", "same"]))
    kernel = draw(st.integers(1, max_kernel if padding == "same" else min(max_kernel, length)))
    stride = draw(st.integers(1, 2))
    return kernel, stride, padding, _conv_length(length, kernel, stride, padding)


@st.composite
def _vector_step(draw, shape):
    (features,) = shape
    choice = draw(st.sampled_from(["dense", "dropout", "activation", "batchnorm", "reshape"]))
    if choice == "dense":
        units = draw(st.integers(1, 5))
        return layers.Dense(units, activation=draw(st.sampled_from(ACTIVATIONS))), (units,)
    if choice == "dropout":
        return layers.Dropout(draw(st.floats(0.0, 0.9))), shape
    if choice == "activation":
        return layers.Activation(draw(st.sampled_from([a for a in ACTIVATIONS if a]))), shape
    if choice == "batchnorm":
        return layers.BatchNormalization(), shape
    steps = draw(st.sampled_from([d for d in range(1, features + 1) if features % d == 0]))
    return layers.Reshape((steps, features // steps)), (steps, features // steps)


@st.composite
def _sequence_step(draw, shape):
    steps, features = shape
    choice = draw(st.sampled_from(["conv", "max_pool", "average_pool", "simple_rnn", "lstm", "gru", "dense",
                                   "dropout", "batchnorm", "flatten"]))
    if choice == "conv":
        kernel, stride, padding, length = draw(_window(steps))
        filters = draw(st.integers(1, 3))
        layer = layers.Conv1D(filters, kernel, strides=stride, padding=padding,
                              activation=draw(st.sampled_from(ACTIVATIONS)))
        return layer, (length, filters)
    if choice in ("max_pool", "average_pool"):
        pool, stride, padding, length = draw(_window(steps, max_kernel=2))
        pooling = layers.MaxPooling1D if choice == "max_pool" else layers.AveragePooling1D
        return pooling(pool, strides=stride, padding=padding), (length, features)
    if choice in ("simple_rnn", "lstm", "gru"):
        units = draw(st.integers(1, 3))
        sequences = draw(st.booleans())
        recurrent = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[choice]
        return recurrent(units, return_sequences=sequences), ((steps, units) if sequences else (units,))
    if choice == "dense":
        units = draw(st.integers(1, 4))
        return layers.Dense(units, activation=draw(st.sampled_from(ACTIVATIONS))), (steps, units)
    if choice == "dropout":
        return layers.Dropout(draw(st.floats(0.0, 0.9))), shape
    if choice == "batchnorm":
        return layers.BatchNormalization(), shape
    return layers.Flatten(), (steps * features,)


@st.composite
def _image_step(draw, shape):
    height, width, channels = shape
    choice = draw(st.sampled_from(["conv", "max_pool", "average_pool", "dense", "batchnorm", "dropout",
                                   "flatten", "reshape"]))
    if choice == "conv":
        padding = draw(st.sampled_from(["valid", "same"]))
        kernel_height, stride_height, _, out_height = draw(_window(height, padding=padding))
        kernel_width, stride_width, _, out_width = draw(_window(width, padding=padding))
        filters = draw(st.integers(1, 3))
        layer = layers.Conv2D(filters, (kernel_height, kernel_width), strides=(stride_height, stride_width),
                              padding=padding, activation=draw(st.sampled_from(ACTIVATIONS)))
        return layer, (out_height, out_width, filters)
    if choice in ("max_pool", "average_pool"):
        pool, stride, padding, _ = draw(_window(min(height, width), max_kernel=2))
        pooling = layers.MaxPooling2D if choice == "max_pool" else layers.AveragePooling2D
        out_shape = (_conv_length(height, pool, stride, padding), _conv_length(width, pool, stride, padding))
        return pooling(pool, strides=stride, padding=padding), out_shape + (channels,)
    if choice == "dense":
        units = draw(st.integers(1, 3))
        return layers.Dense(units, activation=draw(st.sampled_from(ACTIVATIONS))), (height, width, units)
    if choice == "batchnorm":
        return layers.BatchNormalization(), shape
    if choice == "dropout":
        return layers.Dropout(draw(st.floats(0.0, 0.9))), shape
    if choice == "flatten":
        return layers.Flatten(), (height * width * channels,)
    return layers.Reshape((height * width, channels)), (height * width, channels)


STEPS = {1: _vector_step, 2: _sequence_step, 3: _image_step}


@st.composite
def layer_stacks(draw):
    """(input shape, input dtype, layers, the output shape Keras's rules give, is_token_input)."""
    kind = draw(st.sampled_from(["vector", "sequence", "image", "tokens"]))
    if kind == "tokens":
        input_shape = (draw(st.integers(1, 5)),)
        dtype = draw(st.sampled_from(["int32", "int64", "float32"]))
        width = draw(st.integers(1, 4))
        stack = [layers.Embedding(draw(st.integers(2, 9)), width)]
        shape = (input_shape[0], width)
    else:
        rank = {"vector": 1, "sequence": 2, "image": 3}[kind]
        input_shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
        dtype = draw(st.sampled_from(["float32", "float64", "int32"]))
        stack, shape = [], input_shape
    for _ in range(draw(st.integers(1, 4))):
        layer, shape = draw(STEPS[len(shape)](shape))
        stack.append(layer)
    return input_shape, dtype, stack, shape, kind == "tokens"


def _inputs(input_shape, dtype, tokens, samples):
    rng = np.random.default_rng(0)
    if tokens:
        return rng.integers(0, 2, size=(samples,) + input_shape).astype(dtype)
    if dtype.startswith("int"):
        return rng.integers(-3, 4, size=(samples,) + input_shape).astype(dtype)
    return rng.normal(size=(samples,) + input_shape).astype(dtype)


@settings(max_examples=400, **REPRODUCIBLE)
@given(layer_stacks(), st.sampled_from(["sgd", "adam", "rmsprop"]), st.integers(1, 2), st.integers(1, 7),
       st.integers(1, 5))
def test_random_stacks_train_and_predict_keras_shapes(stack, optimizer, epochs, samples, batch_size):
    input_shape, dtype, stack_layers, expected_shape, tokens = stack
    model = keras.Sequential([keras.Input(input_shape)] + stack_layers)
    assert tuple(model.compute_output_shape((None,) + input_shape)) == (None,) + expected_shape
    model.compile(optimizer=optimizer, loss="mse")
    x = _inputs(input_shape, dtype, tokens, samples)
    y = np.random.default_rng(1).normal(size=(samples,) + expected_shape).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. a softmax over a 1-unit axis, as Keras warns
        history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
        predictions = model.predict(x, verbose=0)
    assert len(history.history["loss"]) == epochs
    assert np.isfinite(history.history["loss"]).all()
    assert predictions.shape == (samples,) + expected_shape
    assert predictions.dtype == np.float32
    assert np.isfinite(predictions).all()


@st.composite
def _misfit(draw, shape):
    """A layer that cannot follow an output of `shape`, and the words Keras's error names it by."""
    if len(shape) == 1:
        return draw(st.sampled_from([
            (layers.LSTM(2), ["expected ndim=3, found ndim=2"]),
            (layers.Conv1D(1, 1), ["expected min_ndim=3, found ndim=2"]),
            (layers.Reshape((shape[0] + 1,)), ["target_shape", "total size"]),
        ]))
    if len(shape) == 2:
        too_long = shape[0] + draw(st.integers(1, 3))
        return draw(st.sampled_from([
            (layers.Conv1D(1, too_long), ["kernel shape", "padding=valid"]),
            (layers.MaxPooling1D(too_long), ["pool_size", "padding=valid"]),
            (layers.Conv2D(1, 1), ["expected min_ndim=4, found ndim=3"]),
        ]))
    too_high = max(shape[:2]) + 1
    return draw(st.sampled_from([
        (layers.Conv2D(1, (too_high, 1)), ["kernel shape", "padding=valid"]),
        (layers.AveragePooling2D(too_high), ["pool_size", "padding=valid"]),
        (layers.SimpleRNN(1), ["expected ndim=3, found ndim=4"]),
    ]))


@settings(max_examples=100, **REPRODUCIBLE)
@given(layer_stacks(), st.data())
def test_a_layer_that_cannot_follow_fails_when_the_model_is_made(stack, data):
    input_shape, _, stack_layers, shape, _ = stack
    misfit, words = data.draw(_misfit(shape))
    with pytest.raises(ValueError) as excinfo:
        keras.Sequential([keras.Input(input_shape)] + stack_layers + [misfit])
    assert_raised_by_minikeras(excinfo.value, *words)


# ------------------------------------------------------------------------------ argument values
BAD_VALUES = st.sampled_from([0, -1, -7, 2.5, float("nan"), float("inf"), "two", None, True, (), (0,), (2, 3, 4),
                              [-1], "valid"])

# (layer class, argument, the other arguments, a valid input shape): the argument gets a value from
# BAD_VALUES, the others stay valid.
ARGUMENT_CASES = [
    (layers.Dense, "units", {"units": 3}, (4,)),
    (layers.Dropout, "rate", {"rate": 0.5}, (4,)),
    (layers.Activation, "activation", {"activation": "relu"}, (4,)),
    (layers.Reshape, "target_shape", {"target_shape": (2, 2)}, (4,)),
    (layers.Embedding, "input_dim", {"input_dim": 5, "output_dim": 2}, (3,)),
    (layers.Embedding, "output_dim", {"input_dim": 5, "output_dim": 2}, (3,)),
    (layers.BatchNormalization, "axis", {}, (4,)),
    (layers.BatchNormalization, "momentum", {}, (4,)),
    (layers.BatchNormalization, "epsilon", {}, (4,)),
    (layers.Conv1D, "filters", {"filters": 2, "kernel_size": 2}, (5, 2)),
    (layers.Conv1D, "kernel_size", {"filters": 2, "kernel_size": 2}, (5, 2)),
    (layers.Conv1D, "strides", {"filters": 2, "kernel_size": 2}, (5, 2)),
    (layers.Conv1D, "padding", {"filters": 2, "kernel_size": 2}, (5, 2)),
    (layers.Conv2D, "filters", {"filters": 2, "kernel_size": 2}, (4, 4, 1)),
    (layers.Conv2D, "kernel_size", {"filters": 2, "kernel_size": 2}, (4, 4, 1)),
    (layers.Conv2D, "strides", {"filters": 2, "kernel_size": 2}, (4, 4, 1)),
    (layers.MaxPooling2D, "pool_size", {}, (4, 4, 1)),
    (layers.MaxPooling1D, "strides", {}, (5, 2)),
    (layers.SimpleRNN, "units", {"units": 2}, (3, 2)),
    (layers.LSTM, "units", {"units": 2}, (3, 2)),
    (layers.GRU, "units", {"units": 2}, (3, 2)),
    (layers.LSTM, "dropout", {"units": 2}, (3, 2)),
    (layers.GRU, "recurrent_dropout", {"units": 2}, (3, 2)),
    (layers.Dense, "activation", {"units": 2}, (4,)),
    (layers.Dense, "kernel_initializer", {"units": 2}, (4,)),
    (layers.Conv1D, "dilation_rate", {"filters": 2, "kernel_size": 2}, (5, 2)),
    (layers.Embedding, "mask_zero", {"input_dim": 5, "output_dim": 2}, (3,)),
    (layers.LSTM, "return_sequences", {"units": 2}, (3, 2)),
    (layers.Dropout, "noise_shape", {"rate": 0.5}, (4,)),
    (layers.Dropout, "seed", {"rate": 0.5}, (4,)),
]
# Keras's words for a bad initializer name the kind of object, not the argument
NAMED_AS = {"kernel_initializer": "initializer"}
# None is Keras's default (glorot_uniform): see test_a_none_initializer_is_the_default_as_in_keras
VALUES = {"kernel_initializer": BAD_VALUES.filter(lambda value: value is not None)}


@pytest.mark.parametrize("layer_class, argument, arguments, input_shape", ARGUMENT_CASES)
def test_argument_values_work_or_raise_naming_the_argument(layer_class, argument, arguments, input_shape):
    x = np.random.default_rng(0).integers(0, 3, size=(2,) + input_shape).astype("float32")

    @settings(max_examples=25, **REPRODUCIBLE)
    @given(VALUES.get(argument, BAD_VALUES))
    def check(value):
        keras.backend.clear_session()
        try:
            layer = layer_class(**{**arguments, argument: value})
            model = keras.Sequential([keras.Input(input_shape), layer])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                output = model.predict(x, verbose=0)
        except Exception as error:  # noqa: BLE001 - the property is about which exceptions escape
            assert_raised_by_minikeras(error, NAMED_AS.get(argument, argument))
            return
        # a value Keras takes as well (Dropout(rate=0), units=True as 1, ...): then the layer must work
        assert output.shape == (2,) + tuple(model.compute_output_shape((None,) + input_shape))[1:]
        assert np.isfinite(output).all()

    check()


def test_a_none_initializer_is_the_default_as_in_keras():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2, kernel_initializer=None)])
    kernel = model.layers[0].kernel.numpy()
    assert kernel.shape == (4, 2) and 0 < np.abs(kernel).max() <= np.sqrt(6 / (4 + 2))


# --------------------------------------------------------------------------------- corrupt files
def _model():
    return keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="relu"), layers.BatchNormalization(),
                             layers.Dense(2)])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The bytes of one trained model saved in each format, and a folder for the damaged copies."""
    folder = tmp_path_factory.mktemp("saved")
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), verbose=0)
    for name in ("model.keras", "model.h5"):
        model.save(folder / name)
    model.save_weights(folder / "model.weights.h5")
    contents = {name: (folder / name).read_bytes() for name in ("model.keras", "model.h5", "model.weights.h5")}
    contents["model.json"] = model.to_json().encode()
    with zipfile.ZipFile(io.BytesIO(contents["model.keras"])) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return folder, contents, members


@st.composite
def damage(draw, original):
    """Random bytes, a truncation, or one to three bit flips of `original`."""
    kind = draw(st.sampled_from(["random", "truncated", "flipped"]))
    if kind == "random":
        return draw(st.binary(max_size=300))
    if kind == "truncated":
        return original[: draw(st.integers(0, len(original) - 1))]
    damaged = bytearray(original)
    for position, bit in draw(st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 7)),
                                       min_size=1, max_size=3)):
        damaged[position] ^= 1 << bit
    return bytes(damaged)


def _loads_or_fails_cleanly(load, path, target=None):
    """`load()` either succeeds or raises a ValueError from minikeras naming `path`; on failure `target`
    (the model weights are loaded into) keeps its weights."""
    before = None if target is None else [weight.copy() for weight in target.get_weights()]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load()
    except Exception as error:  # noqa: BLE001 - the property is about which exceptions escape
        assert_raised_by_minikeras(error, str(path), types=(ValueError,))
        if target is not None:
            for old, new in zip(before, target.get_weights()):
                np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("name", ["model.keras", "model.h5", "model.weights.h5"])
def test_damaged_files_fail_cleanly(saved, name):
    folder, contents, _ = saved
    path = folder / f"damaged.{name}"
    target = _model()

    @settings(max_examples=250, **REPRODUCIBLE)
    @given(damage(contents[name]))
    def check(data):
        path.write_bytes(data)
        _loads_or_fails_cleanly(lambda: keras.models.load_model(path), path)
        if name != "model.keras":
            _loads_or_fails_cleanly(lambda: target.load_weights(path), path, target)

    check()


@pytest.mark.parametrize("member", ["config.json", "model.weights.h5"])
def test_keras_zip_with_a_damaged_member_fails_cleanly(saved, member):
    """A well-formed zip (CRCs right) whose config or weights are damaged."""
    folder, _, members = saved
    path = folder / "damaged_member.keras"
    target = _model()

    @settings(max_examples=150, **REPRODUCIBLE)
    @given(damage(members[member]))
    def check(data):
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in members.items():
                archive.writestr(name, data if name == member else content)
        _loads_or_fails_cleanly(lambda: keras.models.load_model(path), path)
        _loads_or_fails_cleanly(lambda: target.load_weights(path), path, target)

    check()


def test_damaged_model_json_raises_value_error(saved):
    _, contents, _ = saved

    @settings(max_examples=80, **REPRODUCIBLE)
    @given(damage(contents["model.json"]))
    def check(data):
        text = data.decode("utf-8", errors="replace")
        try:
            model = keras.models.model_from_json(text)
        except Exception as error:  # noqa: BLE001 - the property is about which exceptions escape
            assert_raised_by_minikeras(error, "JSON", types=(ValueError,))
        else:
            assert isinstance(model, keras.Model)

    check()


@pytest.mark.parametrize("text", ["[" * 100_000, '{"class_name": ' * 50_000])
def test_deeply_nested_json_raises_value_error(saved, text):
    folder = saved[0]
    with pytest.raises(ValueError, match="not valid JSON") as excinfo:
        keras.models.model_from_json(text)
    assert_raised_by_minikeras(excinfo.value)
    path = folder / "nested.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", text)
        archive.writestr("model.weights.h5", saved[2]["model.weights.h5"])
    with pytest.raises(ValueError, match="not valid JSON") as excinfo:
        keras.models.load_model(path)
    assert_raised_by_minikeras(excinfo.value, str(path))

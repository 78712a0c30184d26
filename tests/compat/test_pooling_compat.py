"""Pooling and spatial reshaping layers against real Keras: forward, input gradients (ties included),
configs, output shapes, error texts, and a small CNN-free model trained side by side."""
import numpy as np
import pytest

import minikeras
from minikeras.layers import pooling, reshaping
from tests.compat.test_training_compat import assert_same_history, assert_same_weights, twin

RTOL = 1e-5

WINDOWED = [
    ("MaxPooling2D", {}), ("MaxPooling2D", {"pool_size": 3, "strides": 1}),
    ("MaxPooling2D", {"pool_size": (3, 2), "strides": (2, 1), "padding": "same"}),
    ("MaxPooling2D", {"pool_size": 2, "padding": "same"}), ("MaxPooling2D", {"pool_size": 2, "strides": 3}),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}),
    ("AveragePooling2D", {"pool_size": 2}), ("AveragePooling2D", {"pool_size": 3, "strides": 1}),
    ("AveragePooling2D", {"pool_size": (3, 2), "strides": (2, 1), "padding": "same"}),
    ("AveragePooling2D", {"pool_size": 2, "padding": "same"}),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}),
    ("MaxPooling1D", {}), ("MaxPooling1D", {"pool_size": 3, "strides": 1}),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}),
    ("AveragePooling1D", {"pool_size": 2}), ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}),
    ("AveragePooling1D", {"pool_size": 4, "strides": 1, "padding": "same"}),
]
GLOBAL = [(name, {"keepdims": keep}) for name in ["GlobalMaxPooling1D", "GlobalMaxPooling2D",
                                                  "GlobalAveragePooling1D", "GlobalAveragePooling2D"]
          for keep in (False, True)]
RESHAPING = [
    ("ZeroPadding2D", {}), ("ZeroPadding2D", {"padding": ((1, 2), (0, 3))}), ("ZeroPadding2D", {"padding": (2, 0)}),
    ("Cropping2D", {"cropping": 1}), ("Cropping2D", {"cropping": ((1, 0), (0, 2))}),
    ("UpSampling2D", {}), ("UpSampling2D", {"size": (2, 3)}),
    ("UpSampling2D", {"size": (3, 2), "interpolation": "bilinear"}),
]


def module_of(name):
    return reshaping if name in {"ZeroPadding2D", "Cropping2D", "UpSampling2D"} else pooling


def inputs_for(name, kind, seed=0):
    rank = 3 if name.endswith("1D") else 4
    shape = (2, 7, 3) if rank == 3 else (2, 7, 6, 3)
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.standard_normal(shape).astype(np.float32)
    if kind == "zeros":  # every window tied
        return np.zeros(shape, np.float32)
    # ReLU-like: many zeros, plus repeated small integers (ties among non-zero maxima too)
    return np.maximum(rng.integers(-2, 3, shape), 0).astype(np.float32)


def compare(keras, name, kwargs, x):
    import tensorflow as tf

    reference = getattr(keras.layers, name)(**kwargs)
    ours = getattr(module_of(name), name)(**kwargs)
    xt = tf.constant(x)
    r = np.random.default_rng(1).standard_normal(reference.compute_output_shape(x.shape)).astype(np.float32)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = reference(xt)
        objective = tf.reduce_sum(y * r)
    expected_grad = tape.gradient(objective, xt).numpy()
    actual = ours(x)
    assert actual.shape == tuple(y.shape)
    assert actual.dtype == np.float32
    np.testing.assert_allclose(actual, y.numpy(), rtol=RTOL, atol=1e-6)
    grad = ours.backward(r)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, expected_grad, rtol=RTOL, atol=1e-6)
    assert ours.compute_output_shape((None,) + x.shape[1:]) == reference.compute_output_shape((None,) + x.shape[1:])


@pytest.mark.parametrize("kind", ["random", "zeros", "relu"])
@pytest.mark.parametrize("name,kwargs", WINDOWED + GLOBAL, ids=lambda v: str(v))
def test_pooling_forward_and_gradient_match_keras(keras, name, kwargs, kind):
    compare(keras, name, kwargs, inputs_for(name, kind))


@pytest.mark.parametrize("name,kwargs", RESHAPING, ids=lambda v: str(v))
def test_reshaping_forward_and_gradient_match_keras(keras, name, kwargs):
    compare(keras, name, kwargs, inputs_for(name, "random"))


@pytest.mark.parametrize("name,kwargs", WINDOWED + GLOBAL + RESHAPING, ids=lambda v: str(v))
def test_get_config_matches_keras(keras, name, kwargs):
    keras.backend.clear_session()
    minikeras.backend.clear_session()
    reference = getattr(keras.layers, name)(**kwargs)
    ours = getattr(module_of(name), name)(**kwargs)
    assert ours.get_config() == reference.get_config()


@pytest.mark.parametrize("name,kwargs", [
    ("AveragePooling2D", {"pool_size": (3, 2)}), ("AveragePooling1D", {"pool_size": 3, "padding": "same"}),
    ("ZeroPadding2D", {"padding": 3}), ("Cropping2D", {"cropping": (1, 2)}), ("UpSampling2D", {"size": 3}),
])
def test_default_arguments_and_unknown_dims_shapes(keras, name, kwargs):
    rank = 3 if name.endswith("1D") else 4
    for shape in [(None, 9, 8, 2)[:rank - 1] + (2,), (None, None, 8, 2)[:rank - 1] + (2,)]:
        reference = getattr(keras.layers, name)(**kwargs)
        ours = getattr(module_of(name), name)(**kwargs)
        assert ours.compute_output_shape(shape) == reference.compute_output_shape(shape)


def test_aliases_are_the_keras_ones(keras):
    for alias in ["MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D",
                  "GlobalAvgPool1D", "GlobalAvgPool2D"]:
        assert getattr(pooling, alias).__name__ == getattr(keras.layers, alias).__name__


def error_text(build):
    with pytest.raises(ValueError) as info:
        build()
    return str(info.value)


@pytest.mark.parametrize("case", [
    lambda L: L.MaxPooling2D(0), lambda L: L.MaxPooling2D(2, strides=-1), lambda L: L.MaxPooling2D((2, 2, 2)),
    lambda L: L.MaxPooling2D(2.5), lambda L: L.AveragePooling1D((2, 2)), lambda L: L.MaxPooling2D(2, data_format="x"),
    lambda L: L.ZeroPadding2D((1, 2, 3)), lambda L: L.ZeroPadding2D(((1, 2), (3,))), lambda L: L.ZeroPadding2D("a"),
    lambda L: L.Cropping2D(-1), lambda L: L.Cropping2D((1, 2, 3)), lambda L: L.Cropping2D(((1, 2), (3,))),
    lambda L: L.UpSampling2D(0),
    lambda L: L.MaxPooling2D(3).compute_output_shape((None, 2, 2, 1)),
    lambda L: L.AveragePooling1D(4, strides=2).compute_output_shape((None, 3, 1)),
    lambda L: L.MaxPooling2D(2, padding="foo").compute_output_shape((None, 4, 4, 1)),
    lambda L: L.Cropping2D(2).compute_output_shape((None, 4, 5, 1)),
])
def test_error_texts_match_keras(keras, case):
    assert error_text(lambda: case(minikeras_layers())) == error_text(lambda: case(keras.layers))


def minikeras_layers():
    class Layers:
        pass

    for module in (pooling, reshaping):
        for key, value in vars(module).items():
            if isinstance(value, type):
                setattr(Layers, key, value)
    return Layers


@pytest.mark.parametrize("case", [
    ("MaxPooling2D", {}, (1, 2, 2)), ("MaxPooling1D", {}, (1, 2, 2, 1)), ("GlobalMaxPooling2D", {}, (1, 2, 2)),
    ("ZeroPadding2D", {}, (1, 4, 5)), ("UpSampling2D", {}, (1, 4, 5)),
])
def test_wrong_rank_errors_match_keras(keras, case):
    name, kwargs, shape = case
    keras.backend.clear_session()
    minikeras.backend.clear_session()
    x = np.zeros(shape, np.float32)
    expected = error_text(lambda: getattr(keras.layers, name)(**kwargs)(x))
    actual = error_text(lambda: getattr(module_of(name), name)(**kwargs)(x))
    assert actual == expected


def layers_of(K):
    """Keras's layers, or minikeras's with the pooling/reshaping classes (imported from their modules)."""
    if K is not minikeras:
        return K.layers

    class Layers(minikeras_layers()):
        pass

    for key in ("Input", "Dense", "Flatten"):
        setattr(Layers, key, getattr(minikeras.layers, key))
    return Layers


def image_model(K):
    L = layers_of(K)
    return K.Sequential([
        L.Input((8, 8, 2)), L.Dense(4, activation="relu"), L.MaxPooling2D(), L.ZeroPadding2D(((1, 0), (0, 1))),
        L.AveragePooling2D(3, strides=2, padding="same"), L.UpSampling2D((2, 3)), L.Cropping2D(((0, 1), (1, 1))),
        L.MaxPooling2D(2, strides=1), L.Flatten(), L.Dense(3, activation="softmax"),
    ])


def sequence_model(K):
    L = layers_of(K)
    return K.Sequential([
        L.Input((10, 3)), L.Dense(4, activation="relu"), L.MaxPooling1D(3, strides=1, padding="same"),
        L.AveragePooling1D(2), L.GlobalMaxPooling1D(), L.Dense(1, activation="sigmoid"),
    ])


@pytest.mark.parametrize("build,loss", [(image_model, "sparse_categorical_crossentropy"),
                                        (sequence_model, "binary_crossentropy")])
def test_small_model_trains_like_keras(keras, build, loss):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48,) + ((8, 8, 2) if build is image_model else (10, 3))).astype(np.float32)
    y = (x.reshape(48, -1)[:, :3].argmax(axis=1) if build is image_model else (x[:, :, 0].mean(axis=1) > 0)).astype(int)
    reference, ours = twin(keras, build,
                           lambda K: {"loss": loss, "optimizer": K.optimizers.Adam(0.01), "metrics": ["accuracy"]})
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=RTOL, atol=1e-6)
    expected = reference.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)

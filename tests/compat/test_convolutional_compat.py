"""Conv1D/Conv2D against real Keras: forward, input/weight gradients, get_config, and a CNN trained side by side."""
import numpy as np
import pytest

import minikeras
from minikeras.layers.convolutional import Conv1D, Conv2D
from tests.compat.test_training_compat import (
    assert_same_history,
    assert_same_weights,
    twin,
)

CASES = [
    (Conv2D, "Conv2D", (2, 9, 8, 4), {"filters": 3, "kernel_size": 3}),
    (Conv2D, "Conv2D", (2, 9, 8, 4), {"filters": 3, "kernel_size": (2, 4), "padding": "same", "activation": "relu"}),
    (Conv2D, "Conv2D", (2, 9, 8, 4), {"filters": 3, "kernel_size": 3, "strides": (2, 3), "padding": "same"}),
    (Conv2D, "Conv2D", (2, 9, 8, 4), {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}),
    (Conv2D, "Conv2D", (2, 9, 8, 4), {"filters": 4, "kernel_size": 3, "groups": 2, "activation": "tanh"}),
    (Conv1D, "Conv1D", (2, 11, 3), {"filters": 5, "kernel_size": 4, "padding": "causal", "dilation_rate": 2}),
    (Conv1D, "Conv1D", (2, 11, 3), {"filters": 5, "kernel_size": 4, "strides": 3, "padding": "same"}),
    (Conv1D, "Conv1D", (2, 11, 3), {"filters": 5, "kernel_size": 2, "use_bias": False}),
]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_forward_and_gradients_match_keras(keras, index):
    import tensorflow as tf

    ours_class, name, shape, kwargs = CASES[index]
    rng = np.random.default_rng(index)
    x = rng.standard_normal(shape).astype(np.float32)
    theirs = getattr(keras.layers, name)(bias_initializer="glorot_uniform", **kwargs) if kwargs.get(
        "use_bias", True) else getattr(keras.layers, name)(**kwargs)
    theirs.build(shape)
    ours = ours_class(**kwargs)
    ours(x)
    ours.set_weights(theirs.get_weights())
    y = ours(x)
    x_tf = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_tf)
        y_tf = theirs(x_tf)
        r = tf.constant(rng.standard_normal(y_tf.shape).astype(np.float32))
        objective = tf.reduce_sum(y_tf * r)
    grads = tape.gradient(objective, [x_tf] + theirs.trainable_weights)
    np.testing.assert_allclose(y, y_tf.numpy(), rtol=1e-5, atol=1e-6)
    dx = ours.backward(r.numpy())
    np.testing.assert_allclose(dx, grads[0].numpy(), rtol=1e-5, atol=1e-5)
    for variable, expected in zip(ours.trainable_weights, grads[1:]):
        np.testing.assert_allclose(variable.grad, expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, kwargs", [
    ("Conv2D", {"filters": 4, "kernel_size": 3}),
    ("Conv2D", {"filters": 4, "kernel_size": (3, 2), "strides": 2, "padding": "same", "activation": "relu",
                "use_bias": False, "kernel_regularizer": "l2", "kernel_initializer": "he_normal"}),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2, "groups": 2}),
])
def test_config_matches_keras(keras, name, kwargs):
    expected = getattr(keras.layers, name)(**kwargs).get_config()
    actual = getattr(minikeras.layers.convolutional, name)(**kwargs).get_config()
    assert list(actual) == list(expected)
    assert actual == expected


def test_error_texts_match_keras(keras):
    for kwargs in [{"filters": 0, "kernel_size": 3}, {"filters": 4, "kernel_size": 0},
                   {"filters": 5, "kernel_size": 3, "groups": 2}, {"filters": 4, "kernel_size": (3, 3, 3)},
                   {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}]:
        with pytest.raises(ValueError) as theirs:
            keras.layers.Conv2D(**kwargs)
        with pytest.raises(ValueError) as ours:
            Conv2D(**kwargs)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")
def test_course_cnn_trains_like_keras(keras):
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, 64)

    def build(K):
        conv = K.layers.Conv2D if K is keras else Conv2D
        return K.Sequential([conv(16, (5, 5), activation="relu", input_shape=(28, 28, 1)),
                             K.layers.Flatten(), K.layers.Dense(10, activation="softmax")])

    reference, ours = twin(keras, build, lambda K: {"loss": "sparse_categorical_crossentropy",
                                                    "optimizer": K.optimizers.Adam(1e-3),
                                                    "metrics": ["accuracy"]})
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    expected = reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    assert ours.layers[0].input_grad_needed is False


@pytest.mark.parametrize("activation, pool", [("relu", 2), (None, (3, 2))])
def test_course_cnn_with_pooling_trains_like_keras(keras, activation, pool):
    """The course's Part 2 network; its first Conv2D and MaxPool2D run as one fused step in minikeras."""
    from minikeras.layers.conv_pool import ConvMaxPool

    rng = np.random.default_rng(3)
    x = rng.random((48, 22, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 48)]

    def build(K):
        L = K.layers
        return K.Sequential([L.Input((22, 28, 1)), L.Conv2D(16, (5, 5), activation=activation), L.MaxPool2D(pool),
                             L.Conv2D(8, 4, padding="same", activation="relu"), L.MaxPool2D(2), L.Flatten(),
                             L.Dense(10, activation="softmax")])

    reference, ours = twin(keras, build, lambda K: {"loss": "categorical_crossentropy", "optimizer": "adam",
                                                    "metrics": ["accuracy"]})
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    expected = reference.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, shuffle=False, verbose=0)
    assert isinstance(ours._steps[0], ConvMaxPool)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)


def test_stacked_convolutions_train_like_keras(keras):
    """Two Conv2D (the second needs its input gradient), a regularizer and a constraint; then Conv1D."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((48, 9, 8, 3)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 48)]

    def build(K):
        conv = K.layers.Conv2D if K is keras else Conv2D
        return K.Sequential([
            K.layers.Input((9, 8, 3)),
            conv(6, 3, padding="same", activation="relu", kernel_regularizer=K.regularizers.L2(1e-3)),
            conv(4, (2, 3), strides=2, activation="tanh", kernel_constraint=K.constraints.MaxNorm(0.8, axis=[0, 1, 2])),
            conv(4, 2, dilation_rate=2, padding="same", groups=2),
            K.layers.Flatten(), K.layers.Dense(3, activation="softmax")])

    reference, ours = twin(keras, build, lambda K: {"loss": "categorical_crossentropy",
                                                    "optimizer": K.optimizers.SGD(0.05, momentum=0.9),
                                                    "metrics": ["accuracy"]})
    expected = reference.fit(x, y, batch_size=12, epochs=3, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=12, epochs=3, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)


def test_conv1d_model_trains_like_keras(keras):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 12, 2)).astype(np.float32)
    y = x[:, -3:, :1].sum(axis=1)

    def build(K):
        conv = K.layers.Conv1D if K is keras else Conv1D
        return K.Sequential([K.layers.Input((12, 2)), conv(4, 3, padding="causal", dilation_rate=2, activation="relu"),
                             conv(3, 2, strides=2, padding="same"), K.layers.Flatten(), K.layers.Dense(1)])

    reference, ours = twin(keras, build, lambda K: {"loss": "mse", "optimizer": K.optimizers.RMSprop(1e-2)})
    expected = reference.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)

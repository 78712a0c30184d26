"""Conv1DTranspose/Conv2DTranspose against real Keras: forward, input/weight gradients, get_config, error texts,
and small models trained side by side."""

import numpy as np
import pytest

from minikeras.layers.convolutional_transpose import Conv1DTranspose, Conv2DTranspose
from tests.compat.test_training_compat import (
    assert_same_history,
    assert_same_weights,
    twin,
)


def assert_layer_matches_keras(keras, ours_class, shape, kwargs, seed):
    """Same weights on both sides (biases drawn non-zero): output, its shape, the weight shapes, and the
    gradients of sum(y * r) for the input and every weight (tf.GradientTape) agree at float32 precision."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    theirs = getattr(keras.layers, ours_class.__name__)(bias_initializer="glorot_uniform", **kwargs)
    theirs.build(shape)
    ours = ours_class(**kwargs)
    ours(x)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    y = ours(x)
    x_tf = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_tf)
        y_tf = theirs(x_tf)
        r = tf.constant(rng.standard_normal(y_tf.shape).astype(np.float32))
        objective = tf.reduce_sum(y_tf * r)
    grads = tape.gradient(objective, [x_tf] + theirs.trainable_weights)
    assert y.shape == tuple(y_tf.shape) == ours.compute_output_shape(shape)
    np.testing.assert_allclose(y, y_tf.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.backward(r.numpy()), grads[0].numpy(), rtol=1e-5, atol=1e-5)
    for variable, expected in zip(ours.trainable_weights, grads[1:]):
        np.testing.assert_allclose(variable.grad, expected.numpy(), rtol=1e-5, atol=1e-5)


CASES = [
    (Conv2DTranspose, (2, 5, 4, 3), {"filters": 3, "kernel_size": 3}),
    (Conv2DTranspose, (2, 5, 4, 3), {"filters": 3, "kernel_size": 3, "padding": "same"}),
    (Conv2DTranspose, (2, 5, 4, 3), {"filters": 3, "kernel_size": (3, 2), "strides": 2, "activation": "relu"}),
    (Conv2DTranspose, (2, 5, 4, 3), {"filters": 3, "kernel_size": 3, "strides": (2, 3), "padding": "same"}),
    (Conv2DTranspose, (2, 5, 4, 3), {"filters": 3, "kernel_size": 2, "strides": 3}),
    (Conv2DTranspose, (2, 5, 4, 3), {"filters": 3, "kernel_size": 3, "strides": 3, "padding": "same",
                                     "output_padding": (0, 2)}),
    (Conv2DTranspose, (2, 5, 4, 3), {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "valid",
                                     "output_padding": 1, "activation": "tanh"}),
    (Conv2DTranspose, (2, 5, 4, 3), {"filters": 3, "kernel_size": 3, "dilation_rate": (2, 1), "padding": "same"}),
    (Conv2DTranspose, (2, 5, 4, 3), {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "use_bias": False}),
    (Conv1DTranspose, (2, 6, 3), {"filters": 4, "kernel_size": 3}),
    (Conv1DTranspose, (2, 6, 3), {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"}),
    (Conv1DTranspose, (2, 6, 3), {"filters": 4, "kernel_size": 3, "strides": 3, "output_padding": 2}),
    (Conv1DTranspose, (2, 6, 3), {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "activation": "sigmoid"}),
]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_forward_and_gradients_match_keras(keras, index):
    ours_class, shape, kwargs = CASES[index]
    assert_layer_matches_keras(keras, ours_class, shape, kwargs, index)


@pytest.mark.parametrize("ours_class, kwargs", [
    (Conv2DTranspose, {"filters": 4, "kernel_size": 3}),
    (Conv2DTranspose, {"filters": 4, "kernel_size": (3, 2), "strides": 2, "padding": "same", "output_padding": 1,
                       "activation": "relu", "use_bias": False, "kernel_regularizer": "l2",
                       "kernel_initializer": "he_normal", "activity_regularizer": "l1"}),
    (Conv1DTranspose, {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "bias_constraint": "non_neg"}),
])
def test_config_matches_keras(keras, ours_class, kwargs):
    expected = getattr(keras.layers, ours_class.__name__)(**kwargs).get_config()
    actual = ours_class(**kwargs).get_config()
    assert list(actual) == list(expected)
    assert actual == expected


def same_error_text(ours, theirs):
    """Equal up to what legitimately differs: Keras formats the allowed paddings as a Python set (its order
    changes from process to process)."""
    def normalized(error):
        return str(error.value).replace("{'valid', 'same'}", "{'same', 'valid'}")
    return normalized(ours) == normalized(theirs)


def test_error_texts_match_keras(keras):
    for kwargs in [{"filters": 0, "kernel_size": 3}, {"filters": 4, "kernel_size": 0},
                   {"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": 2},
                   {"filters": 4, "kernel_size": 3, "output_padding": -1},
                   {"filters": 4, "kernel_size": 3, "strides": 0},
                   {"filters": 4, "kernel_size": 3, "padding": "causal"},
                   {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}]:
        with pytest.raises(ValueError) as theirs:
            keras.layers.Conv2DTranspose(**kwargs)
        with pytest.raises(ValueError) as ours:
            Conv2DTranspose(**kwargs)
        assert same_error_text(ours, theirs)
    with pytest.raises(ValueError) as theirs:
        keras.layers.Conv2DTranspose(2, 3)(np.zeros((1, 5, 3), np.float32))
    with pytest.raises(ValueError) as ours:
        Conv2DTranspose(2, 3)(np.zeros((1, 5, 3), np.float32))
    assert same_error_text(ours, theirs)


def test_upsampling_classifier_trains_like_keras(keras):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 8, 8, 3)).astype(np.float32)
    y = rng.integers(0, 2, 48)

    def build(K):
        transposed = K.layers.Conv2DTranspose if K is keras else Conv2DTranspose
        return K.Sequential([K.layers.Input((8, 8, 3)), transposed(4, 3, strides=2, padding="same"),
                             K.layers.Flatten(), K.layers.Dense(2, activation="softmax")])

    reference, ours = twin(keras, build, lambda K: {"loss": "sparse_categorical_crossentropy",
                                                    "optimizer": K.optimizers.Adam(1e-3), "metrics": ["accuracy"]})
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    expected = reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    assert ours.layers[0].input_grad_needed is False


def test_stacked_transposed_convolutions_train_like_keras(keras):
    """A Conv1DTranspose needing its input gradient under a second one with output_padding and an activation."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 6, 2)).astype(np.float32)
    y = x[:, :3].sum(axis=(1, 2))[:, None]

    def build(K):
        transposed = K.layers.Conv1DTranspose if K is keras else Conv1DTranspose
        return K.Sequential([K.layers.Input((6, 2)), transposed(3, 3, activation="tanh"),
                             transposed(2, 2, strides=3, output_padding=1, kernel_regularizer=K.regularizers.L2(1e-3)),
                             K.layers.Flatten(), K.layers.Dense(1)])

    reference, ours = twin(keras, build, lambda K: {"loss": "mse", "optimizer": K.optimizers.SGD(0.02, momentum=0.9)})
    expected = reference.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)

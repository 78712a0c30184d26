"""Depthwise and separable convolutions against real Keras: forward, input/weight gradients, get_config,
error texts, and small models trained side by side."""
import numpy as np
import pytest

from minikeras.layers.depthwise_separable import (
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
)
from tests.compat.test_convolutional_transpose_compat import (
    assert_layer_matches_keras,
    same_error_text,
)
from tests.compat.test_training_compat import (
    assert_same_history,
    assert_same_weights,
    twin,
)

CASES = [
    (DepthwiseConv2D, (2, 7, 6, 3), {"kernel_size": 3}),
    (DepthwiseConv2D, (2, 7, 6, 3), {"kernel_size": (2, 3), "padding": "same", "depth_multiplier": 2}),
    (DepthwiseConv2D, (2, 7, 6, 3), {"kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"}),
    (DepthwiseConv2D, (2, 7, 6, 3), {"kernel_size": 3, "dilation_rate": (2, 1), "use_bias": False}),
    (DepthwiseConv2D, (2, 7, 6, 3), {"kernel_size": 2, "strides": (1, 2), "dilation_rate": 2, "depth_multiplier": 2}),
    (SeparableConv2D, (2, 7, 6, 3), {"filters": 4, "kernel_size": 3}),
    (SeparableConv2D, (2, 7, 6, 3), {"filters": 4, "kernel_size": 3, "padding": "same", "depth_multiplier": 2,
                                     "activation": "tanh"}),
    (SeparableConv2D, (2, 7, 6, 3), {"filters": 4, "kernel_size": (3, 2), "strides": 2, "use_bias": False}),
    (SeparableConv2D, (2, 7, 6, 3), {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}),
    (DepthwiseConv1D, (2, 9, 3), {"kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2}),
    (SeparableConv1D, (2, 9, 3), {"filters": 5, "kernel_size": 4, "dilation_rate": 2, "activation": "sigmoid"}),
]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_forward_and_gradients_match_keras(keras, index):
    ours_class, shape, kwargs = CASES[index]
    assert_layer_matches_keras(keras, ours_class, shape, kwargs, index)


@pytest.mark.parametrize("ours_class, kwargs", [
    (DepthwiseConv2D, {"kernel_size": 3}),
    (DepthwiseConv2D, {"kernel_size": (3, 2), "strides": 2, "padding": "same", "depth_multiplier": 3,
                       "activation": "relu", "use_bias": False, "depthwise_regularizer": "l2",
                       "depthwise_initializer": "he_normal", "activity_regularizer": "l1"}),
    (SeparableConv2D, {"filters": 4, "kernel_size": 3}),
    (SeparableConv2D, {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "depth_multiplier": 2,
                       "pointwise_initializer": "ones", "pointwise_regularizer": "l1",
                       "pointwise_constraint": "non_neg",
                       "bias_constraint": "non_neg", "activity_regularizer": "l2"}),
    (DepthwiseConv1D, {"kernel_size": 3, "padding": "same"}),
    (SeparableConv1D, {"filters": 2, "kernel_size": 3, "strides": 2}),
])
def test_config_matches_keras(keras, ours_class, kwargs):
    expected = getattr(keras.layers, ours_class.__name__)(**kwargs).get_config()
    actual = ours_class(**kwargs).get_config()
    assert list(actual) == list(expected)
    assert actual == expected


@pytest.mark.parametrize("ours_class, kwargs, shape", [
    (DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 0}, None),
    (DepthwiseConv2D, {"kernel_size": 0}, None),
    (DepthwiseConv2D, {"kernel_size": 3, "padding": "causal"}, None),
    (SeparableConv2D, {"filters": 0, "kernel_size": 3}, None),
    (SeparableConv2D, {"filters": 2, "kernel_size": 3, "depth_multiplier": -1}, None),
    (SeparableConv2D, {"filters": 2, "kernel_size": (3, 3, 3)}, None),
    (DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2}, (1, 2, 2, 3)),
    (SeparableConv2D, {"filters": 4, "kernel_size": 3, "dilation_rate": 2}, (1, 4, 8, 3)),
    (DepthwiseConv2D, {"kernel_size": 3}, (1, 8, 3)),
    (SeparableConv1D, {"filters": 4, "kernel_size": 3}, (1, 8)),
])
def test_error_texts_match_keras(keras, ours_class, kwargs, shape):
    def attempt(layer_class):
        layer = layer_class(**kwargs)
        layer(np.zeros(shape, np.float32))

    with pytest.raises(ValueError) as theirs:
        attempt(getattr(keras.layers, ours_class.__name__))
    with pytest.raises(ValueError) as ours:
        attempt(ours_class)
    assert same_error_text(ours, theirs)


def test_depthwise_classifier_trains_like_keras(keras):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 8, 8, 3)).astype(np.float32)
    y = rng.integers(0, 2, 48)

    def build(K):
        depthwise = K.layers.DepthwiseConv2D if K is keras else DepthwiseConv2D
        return K.Sequential([K.layers.Input((8, 8, 3)),
                             depthwise(3, depth_multiplier=2, padding="same", activation="relu"),
                             K.layers.Flatten(), K.layers.Dense(2, activation="softmax")])

    reference, ours = twin(keras, build, lambda K: {"loss": "sparse_categorical_crossentropy",
                                                    "optimizer": K.optimizers.Adam(1e-3), "metrics": ["accuracy"]})
    expected = reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    assert ours.layers[0].input_grad_needed is False


def test_separable_stack_trains_like_keras(keras):
    """A DepthwiseConv2D under a SeparableConv2D (which needs its input gradient), then SeparableConv1D elsewhere."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((48, 9, 8, 3)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 48)]

    def build(K):
        depthwise = K.layers.DepthwiseConv2D if K is keras else DepthwiseConv2D
        separable = K.layers.SeparableConv2D if K is keras else SeparableConv2D
        return K.Sequential([
            K.layers.Input((9, 8, 3)), depthwise(2, strides=2, activation="tanh"),
            separable(4, 3, padding="same", depth_multiplier=2, activation="relu",
                      pointwise_regularizer=K.regularizers.L2(1e-3)),
            K.layers.Flatten(), K.layers.Dense(3, activation="softmax")])

    reference, ours = twin(keras, build, lambda K: {"loss": "categorical_crossentropy",
                                                    "optimizer": K.optimizers.SGD(0.05, momentum=0.9),
                                                    "metrics": ["accuracy"]})
    expected = reference.fit(x, y, batch_size=12, epochs=2, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=12, epochs=2, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)


def test_separable_conv1d_model_trains_like_keras(keras):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 12, 2)).astype(np.float32)
    y = x[:, -3:, :1].sum(axis=1)

    def build(K):
        separable = K.layers.SeparableConv1D if K is keras else SeparableConv1D
        depthwise = K.layers.DepthwiseConv1D if K is keras else DepthwiseConv1D
        return K.Sequential([K.layers.Input((12, 2)), separable(4, 3, padding="same", activation="relu"),
                             depthwise(2, strides=2), K.layers.Flatten(), K.layers.Dense(1)])

    reference, ours = twin(keras, build, lambda K: {"loss": "mse", "optimizer": K.optimizers.RMSprop(1e-2)})
    expected = reference.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)

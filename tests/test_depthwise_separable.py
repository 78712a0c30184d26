"""Depthwise and separable convolutions: finite-difference gradients (float64) for every option, shapes, errors."""
import numpy as np
import pytest

from minikeras.layers.convolutional import Conv2D
from minikeras.layers.depthwise_separable import (
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
    SeparableConvolution2D,
)
from tests.test_layers import check_layer_gradients


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


CASES_2D = {
    "valid": {},
    "same": {"padding": "same"},
    "strides": {"strides": (2, 1)},
    "same_strides": {"padding": "same", "strides": 2},
    "dilation": {"dilation_rate": (1, 2)},
    "same_dilation": {"padding": "same", "dilation_rate": 2},
    "strides_and_dilation": {"strides": 2, "dilation_rate": 2},
    "depth_multiplier": {"depth_multiplier": 2, "kernel_size": (2, 3)},
    "tanh_no_bias": {"activation": "tanh", "use_bias": False},
}


@pytest.mark.parametrize("case", sorted(CASES_2D))
def test_depthwise_conv2d_gradients(case):
    kwargs = {"kernel_size": 3, "bias_initializer": "glorot_uniform", **CASES_2D[case]}
    check_layer_gradients(DepthwiseConv2D(dtype="float64", **kwargs), _x((2, 6, 5, 3)))


@pytest.mark.parametrize("case", sorted(CASES_2D))
def test_separable_conv2d_gradients(case):
    kwargs = {"filters": 2, "kernel_size": 3, "bias_initializer": "glorot_uniform", **CASES_2D[case]}
    check_layer_gradients(SeparableConv2D(dtype="float64", **kwargs), _x((2, 6, 5, 3)))


@pytest.mark.parametrize("kwargs", [{}, {"padding": "same", "strides": 2}, {"dilation_rate": 2, "depth_multiplier": 2},
                                    {"activation": "relu", "use_bias": False}])
@pytest.mark.parametrize("layer_class", [DepthwiseConv1D, SeparableConv1D])
def test_1d_gradients(layer_class, kwargs):
    kwargs = {"kernel_size": 3, "bias_initializer": "glorot_uniform", **kwargs}
    if layer_class is SeparableConv1D:
        kwargs["filters"] = 4
    check_layer_gradients(layer_class(dtype="float64", **kwargs), _x((2, 9, 2)))


def test_depthwise_is_a_conv2d_per_channel_and_separable_adds_a_1x1_conv2d():
    x = _x((2, 6, 7, 3))
    depthwise = DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, use_bias=False, dtype="float64")
    y = depthwise(x)
    kernel = depthwise.kernel.value
    for c in range(3):
        single = Conv2D(2, 3, strides=2, padding="same", use_bias=False, dtype="float64")
        single(x[..., c:c + 1])
        single.set_weights([kernel[:, :, c:c + 1, :]])
        np.testing.assert_allclose(y[..., 2 * c:2 * c + 2], single(x[..., c:c + 1]), rtol=1e-12, atol=1e-14)
    separable = SeparableConv2D(4, 3, strides=2, padding="same", depth_multiplier=2, dtype="float64",
                                bias_initializer="ones")
    separable(x)
    separable.set_weights([kernel] + separable.get_weights()[1:])
    pointwise = Conv2D(4, 1, dtype="float64", bias_initializer="ones")
    pointwise(y)
    pointwise.set_weights(separable.get_weights()[1:])
    np.testing.assert_allclose(separable(x), pointwise(y), rtol=1e-12)


def test_shapes_dtype_and_weights():
    layer = DepthwiseConv2D(3, depth_multiplier=2, activation="relu")
    y = layer(np.zeros((2, 8, 7, 3)))
    assert y.shape == (2, 6, 5, 6) and y.dtype == np.float32
    assert [(w.name, w.shape) for w in layer.weights] == [("kernel", (3, 3, 3, 2)), ("bias", (6,))]
    separable = SeparableConv2D(5, 3, depth_multiplier=2, padding="same")
    assert separable(np.zeros((2, 8, 7, 3))).shape == (2, 8, 7, 5)
    assert [(w.name, w.shape) for w in separable.weights] == [
        ("depthwise_kernel", (3, 3, 3, 2)), ("pointwise_kernel", (1, 1, 6, 5)), ("bias", (5,))]
    assert separable.compute_output_shape((None, 9, None, 3)) == (None, 9, None, 5)
    assert SeparableConv1D(2, 3, dtype="float64")(np.zeros((1, 5, 2))).dtype == np.float64
    no_bias = SeparableConv1D(2, 3, use_bias=False)
    no_bias(np.zeros((1, 5, 2)))
    assert [w.shape for w in no_bias.weights] == [(3, 2, 1), (1, 2, 2)] and no_bias.bias is None
    assert DepthwiseConv1D(2).compute_output_shape((None, 5, 4)) == (None, 4, 4)
    assert SeparableConvolution2D is SeparableConv2D


@pytest.mark.parametrize("layer_class", [DepthwiseConv2D, SeparableConv2D])
def test_logits_shortcut_and_first_layer_skip(layer_class):
    args = (3, 2) if layer_class is SeparableConv2D else (2,)
    layer = layer_class(*args, activation="softmax", dtype="float64")
    x = _x((2, 4, 4, 3))
    g = _x(layer(x).shape, seed=1)
    dx = layer.backward(g, grad_is_logits=True)
    linear = layer_class(*args, dtype="float64")
    linear(x)
    linear.set_weights(layer.get_weights())
    linear(x)
    np.testing.assert_allclose(dx, linear.backward(g))
    for ours, theirs in zip(layer.weights, linear.weights):
        np.testing.assert_allclose(ours.grad, theirs.grad)
    layer.input_grad_needed = False
    layer(x)
    assert layer.backward(g) is None and all(w.grad is not None for w in layer.weights)


@pytest.mark.parametrize("layer_class, kwargs, message", [
    (DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 0}, "Invalid value for argument `depth_multiplier`"),
    (DepthwiseConv2D, {"kernel_size": 0}, "The `kernel_size` argument must be a tuple of 2 integers"),
    (DepthwiseConv2D, {"kernel_size": 3, "strides": 0}, "The `strides` argument must be a tuple"),
    (DepthwiseConv2D, {"kernel_size": 3, "padding": "causal"}, "The `padding` argument must be a list/tuple"),
    (DepthwiseConv2D, {"kernel_size": 3, "data_format": "channels_first"}, "supports only data_format='channels_last'"),
    (SeparableConv2D, {"filters": 0, "kernel_size": 3}, "Invalid value for argument `filters`"),
    (SeparableConv2D, {"filters": 2, "kernel_size": 3, "depth_multiplier": -1}, "argument `depth_multiplier`"),
    (SeparableConv2D, {"filters": 2, "kernel_size": 3, "data_format": "channels_first"}, "supports only"),
    (SeparableConv1D, {"filters": 2, "kernel_size": 3, "padding": "causal"}, "The `padding` argument must be"),
])
def test_bad_arguments(layer_class, kwargs, message):
    with pytest.raises(ValueError, match=message):
        layer_class(**kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="layer 'depthwise_conv2d' is incompatible.*expected min_ndim=4, found ndim=3"):
        DepthwiseConv2D(3)(np.zeros((1, 8, 3)))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        SeparableConv1D(2, 3)(np.zeros((1, 8, 3, 3)))
    with pytest.raises(ValueError, match=r"Computed output size would be zero or negative. Received `inputs shape="
                                         r"\(1, 2, 2, 3\)`, `kernel shape=\(3, 3, 3, 6\)`"):
        DepthwiseConv2D(3, depth_multiplier=2)(np.zeros((1, 2, 2, 3)))
    with pytest.raises(ValueError, match=r"`kernel shape=\(3, 3, 3, 4\)`"):
        SeparableConv2D(4, 3)(np.zeros((1, 2, 2, 3)))
    layer = SeparableConv2D(4, 3)
    layer(np.zeros((1, 8, 8, 3)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(np.zeros((1, 8, 8, 2)))


def test_config_round_trip():
    for layer in [DepthwiseConv2D(3, depth_multiplier=2, activation="relu", depthwise_regularizer="l2"),
                  SeparableConv1D(4, 3, padding="same", pointwise_constraint="non_neg")]:
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config


@pytest.mark.parametrize("layer_class", [DepthwiseConv2D, SeparableConv2D])
def test_frozen_layer_still_passes_the_input_gradient(layer_class):
    args = (3, 2) if layer_class is SeparableConv2D else (2,)
    layer = layer_class(*args, dtype="float64")
    x = _x((2, 4, 4, 3))
    y = layer(x)
    trainable_dx = layer.backward(np.ones_like(y))
    layer.trainable = False
    layer(x)
    np.testing.assert_allclose(layer.backward(np.ones_like(y)), trainable_dx)
    assert layer.trainable_weights == []

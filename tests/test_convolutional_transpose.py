"""Conv1DTranspose/Conv2DTranspose: finite-difference gradients (float64) for every option, shapes, errors."""
import numpy as np
import pytest

from minikeras.layers.convolutional import Conv2D
from minikeras.layers.convolutional_transpose import (
    Conv1DTranspose,
    Conv2DTranspose,
    Convolution2DTranspose,
)
from tests.test_layers import check_layer_gradients


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


CONV2D_TRANSPOSE_CASES = {
    "valid": {},
    "same": {"padding": "same"},
    "valid_strides": {"strides": 2},
    "same_strides": {"padding": "same", "strides": (2, 3)},
    "stride_above_kernel": {"kernel_size": 2, "strides": 3},
    "output_padding": {"strides": 2, "output_padding": (1, 0)},
    "same_output_padding": {"padding": "same", "strides": 3, "output_padding": 2},
    "dilation": {"dilation_rate": (2, 1)},
    "same_dilation": {"padding": "same", "dilation_rate": 2},
    "tanh_no_bias": {"activation": "tanh", "use_bias": False},
}


@pytest.mark.parametrize("case", sorted(CONV2D_TRANSPOSE_CASES))
def test_conv2d_transpose_gradients(case):
    kwargs = {"filters": 3, "kernel_size": 3, "bias_initializer": "glorot_uniform", **CONV2D_TRANSPOSE_CASES[case]}
    check_layer_gradients(Conv2DTranspose(dtype="float64", **kwargs), _x((2, 4, 3, 2)))


@pytest.mark.parametrize("kwargs", [{}, {"padding": "same"}, {"strides": 2}, {"padding": "same", "strides": 3},
                                    {"strides": 2, "output_padding": 1}, {"dilation_rate": 2, "padding": "same"},
                                    {"kernel_size": 4, "padding": "same", "strides": 2, "activation": "sigmoid"}])
def test_conv1d_transpose_gradients(kwargs):
    kwargs = {"filters": 2, "kernel_size": 3, "bias_initializer": "glorot_uniform", **kwargs}
    check_layer_gradients(Conv1DTranspose(dtype="float64", **kwargs), _x((2, 5, 3)))


@pytest.mark.parametrize("kwargs", [{}, {"strides": 2, "padding": "same"}, {"strides": 2, "output_padding": 1},
                                    {"dilation_rate": 2, "padding": "same"}])
def test_forward_is_the_adjoint_of_conv2d(kwargs):
    """<conv^T(x), y> == <x, conv(y)> for the same kernel (no bias): the defining property."""
    transposed = Conv2DTranspose(2, 3, use_bias=False, dtype="float64", **kwargs)
    x = _x((2, 4, 5, 3))
    y = _x(transposed(x).shape, seed=1)
    conv = Conv2D(3, 3, use_bias=False, dtype="float64", **{k: v for k, v in kwargs.items() if k != "output_padding"})
    conv(y)
    conv.set_weights(transposed.get_weights())
    np.testing.assert_allclose(np.sum(transposed(x) * y), np.sum(x * conv(y)), rtol=1e-12)


@pytest.mark.parametrize("length, kernel, stride, padding, output_padding, expected", [
    (5, 3, 1, "valid", None, 7), (5, 3, 2, "valid", None, 11), (5, 2, 3, "valid", None, 15),
    (5, 3, 2, "valid", 0, 11), (5, 3, 2, "valid", 1, 12), (5, 3, 1, "same", None, 5), (5, 3, 2, "same", None, 10),
    (5, 3, 3, "same", 0, 13), (5, 3, 3, "same", 2, 15), (5, 4, 2, "same", 1, 9),
])
def test_output_lengths_follow_keras(length, kernel, stride, padding, output_padding, expected):
    layer = Conv1DTranspose(2, kernel, strides=stride, padding=padding, output_padding=output_padding)
    assert layer.compute_output_shape((None, length, 3)) == (None, expected, 2)
    assert layer(np.zeros((1, length, 3))).shape == (1, expected, 2)


def test_shapes_dtype_and_weights():
    layer = Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")
    y = layer(np.zeros((3, 8, 8, 3)))
    assert y.shape == (3, 16, 16, 4) and y.dtype == np.float32
    assert layer.kernel.shape == (3, 3, 4, 3) and layer.bias.shape == (4,) and layer.count_params() == 112
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert layer.compute_output_shape((None, 8, None, 3)) == (None, 16, None, 4)
    assert Conv1DTranspose(2, 3, dtype="float64")(np.zeros((1, 5, 1))).dtype == np.float64
    assert Convolution2DTranspose is Conv2DTranspose


def test_logits_shortcut_and_first_layer_skip():
    layer = Conv2DTranspose(3, 2, strides=2, activation="softmax", dtype="float64")
    x = _x((2, 3, 3, 2))
    layer(x)
    g = _x((2, 6, 6, 3), seed=1)
    dx = layer.backward(g, grad_is_logits=True)
    linear = Conv2DTranspose(3, 2, strides=2, dtype="float64")
    linear(x)
    linear.set_weights(layer.get_weights())
    linear(x)
    np.testing.assert_allclose(dx, linear.backward(g))
    np.testing.assert_allclose(layer.kernel.grad, linear.kernel.grad)
    layer.input_grad_needed = False
    layer(x)
    assert layer.backward(g) is None and layer.kernel.grad is not None


@pytest.mark.parametrize("kwargs, message", [
    ({"filters": 0, "kernel_size": 3}, "Invalid value for argument `filters`"),
    ({"filters": 4, "kernel_size": 0}, "The `kernel_size` argument must be a tuple of 2 integers"),
    ({"filters": 4, "kernel_size": 3, "strides": 0}, "The `strides` argument must be a tuple"),
    ({"filters": 4, "kernel_size": 3, "output_padding": -1}, "The `output_padding` argument must be a tuple"),
    ({"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": 2}, "`output_padding` must be strictly less"),
    ({"filters": 4, "kernel_size": 3, "padding": "causal"}, "The `padding` argument must be a list/tuple"),
    ({"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "`strides > 1` not supported"),
    ({"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, "supports only data_format='channels_last'"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Conv2DTranspose(**kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="layer 'conv2d_transpose' is incompatible.*expected min_ndim=4, found ndim=3"):
        Conv2DTranspose(4, 3)(np.zeros((1, 8, 3)))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        Conv1DTranspose(4, 3)(np.zeros((1, 8, 3, 3)))
    with pytest.raises(ValueError, match="cannot map input shape \\(1, 5, 3\\) to output shape \\(1, 4, 2\\)"):
        Conv1DTranspose(2, 2, padding="same", output_padding=0)(np.zeros((1, 5, 3)))
    layer = Conv2DTranspose(4, 3)
    layer(np.zeros((1, 8, 8, 3)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(np.zeros((1, 8, 8, 2)))


def test_config_round_trip():
    layer = Conv1DTranspose(4, 3, strides=2, padding="same", output_padding=1, activation="relu",
                            kernel_regularizer="l2")
    config = layer.get_config()
    assert config["kernel_size"] == (3,) and config["output_padding"] == (1,)
    assert Conv1DTranspose.from_config(config).get_config() == config


def test_frozen_layer_still_passes_the_input_gradient():
    layer = Conv2DTranspose(3, 2, strides=2, dtype="float64")
    x = _x((2, 3, 3, 2))
    y = layer(x)
    trainable_dx = layer.backward(np.ones_like(y))
    layer.trainable = False
    layer(x)
    np.testing.assert_allclose(layer.backward(np.ones_like(y)), trainable_dx)
    assert layer.trainable_weights == []

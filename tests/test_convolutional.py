"""Conv1D/Conv2D: finite-difference gradients (float64) for every option, shapes, errors, config."""
import numpy as np
import pytest

from minikeras.layers.convolutional import BaseConv, Conv1D, Conv2D, Convolution2D
from tests.test_layers import check_layer_gradients


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


CONV2D_CASES = {
    "valid": {},
    "same_odd": {"padding": "same"},
    "same_even_kernel": {"padding": "same", "kernel_size": (2, 4)},
    "strides": {"strides": (2, 3)},
    "same_strides": {"padding": "same", "strides": 2},
    "dilation": {"dilation_rate": (2, 1)},
    "same_dilation": {"padding": "same", "dilation_rate": 2},
    "groups": {"groups": 2, "filters": 4},
    "relu_no_bias": {"activation": "tanh", "use_bias": False},
}


@pytest.mark.parametrize("case", sorted(CONV2D_CASES))
def test_conv2d_gradients(case):
    kwargs = {"filters": 3, "kernel_size": 3, "bias_initializer": "glorot_uniform", **CONV2D_CASES[case]}
    check_layer_gradients(Conv2D(dtype="float64", **kwargs), _x((2, 7, 6, 4)))


@pytest.mark.parametrize("kwargs", [{}, {"padding": "same"}, {"padding": "causal"}, {"strides": 2},
                                    {"padding": "causal", "dilation_rate": 2}, {"padding": "same", "strides": 3},
                                    {"groups": 3, "filters": 6, "padding": "causal"}])
def test_conv1d_gradients(kwargs):
    kwargs = {"filters": 3, "kernel_size": 3, "bias_initializer": "glorot_uniform", **kwargs}
    check_layer_gradients(Conv1D(dtype="float64", **kwargs), _x((2, 9, 3)))


def test_forward_matches_a_direct_sum():
    layer = Conv2D(2, (2, 3), strides=(1, 2), padding="same", dilation_rate=1, dtype="float64")
    x = _x((2, 5, 6, 3))
    y = layer(x)
    k, b = layer.kernel.value, layer.bias.value
    # 'same': total pad along H = 1 (top 0, bottom 1); along W = (3-1)*2 + 3 - 6 = 1 (left 0, right 1)
    xp = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)))
    expected = np.zeros((2, 5, 3, 2))
    for i in range(5):
        for j in range(3):
            expected[:, i, j] = np.einsum("nabc,abcf->nf", xp[:, i:i + 2, 2 * j:2 * j + 3], k) + b
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_conv1d_causal_sees_only_the_past():
    layer = Conv1D(1, 3, padding="causal", dilation_rate=2, dtype="float64")
    x = _x((1, 10, 1))
    y = layer(x)
    x2 = x.copy()
    x2[0, 6:] += 1.0
    np.testing.assert_array_equal(layer(x2)[0, :6], y[0, :6])


def test_shapes_dtype_and_weights():
    layer = Conv2D(16, (5, 5), activation="relu")
    y = layer(np.zeros((3, 28, 28, 1)))
    assert y.shape == (3, 24, 24, 16) and y.dtype == np.float32
    assert layer.kernel.shape == (5, 5, 1, 16) and layer.bias.shape == (16,) and layer.count_params() == 416
    assert layer.compute_output_shape((None, 28, None, 1)) == (None, 24, None, 16)
    assert Conv2D(4, 3, strides=2, padding="same").compute_output_shape((None, 7, 8, 2)) == (None, 4, 4, 4)
    assert Conv1D(4, 3, padding="causal", strides=2).compute_output_shape((None, 7, 2)) == (None, 4, 4)
    assert Conv1D(4, 3, groups=2)(np.zeros((1, 5, 6))).shape == (1, 3, 4)
    assert Conv1D(2, 3)(np.zeros((1, 5, 6))).dtype == np.float32
    assert Conv2D(2, 3, dtype="float64")(np.zeros((1, 5, 5, 1))).dtype == np.float64
    assert Convolution2D is Conv2D and issubclass(Conv1D, BaseConv)


def test_logits_shortcut_and_first_layer_skip():
    layer = Conv2D(3, 2, activation="softmax", dtype="float64")
    x = _x((2, 4, 4, 2))
    layer(x)
    g = _x((2, 3, 3, 3), seed=1)
    dx = layer.backward(g, grad_is_logits=True)
    linear = Conv2D(3, 2, dtype="float64")
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
    ({"filters": 4, "kernel_size": (3, 3, 3)}, "The `kernel_size` argument must be a tuple of 2 integers"),
    ({"filters": 4, "kernel_size": 3, "strides": 0}, "The `strides` argument must be a tuple"),
    ({"filters": 4, "kernel_size": 3, "padding": "causal"}, "The `padding` argument must be a list/tuple"),
    ({"filters": 5, "kernel_size": 3, "groups": 2}, "The number of filters must be evenly divisible"),
    ({"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "`strides > 1` not supported"),
    ({"filters": 4, "kernel_size": 3, "data_format": "foo"}, "The `data_format` argument must be one of"),
    ({"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, "supports only data_format='channels_last'"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Conv2D(**kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="expected min_ndim=4, found ndim=3"):
        Conv2D(4, 3)(np.zeros((1, 8, 3)))
    with pytest.raises(ValueError, match="input channels must be evenly divisible by the number of groups"):
        Conv2D(4, 3, groups=2)(np.zeros((1, 8, 8, 3)))
    with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
        Conv2D(4, 5)(np.zeros((1, 3, 3, 3)))
    layer = Conv2D(4, 3)
    layer(np.zeros((1, 8, 8, 3)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(np.zeros((1, 8, 8, 2)))


def test_config_round_trip():
    layer = Conv1D(4, 3, padding="causal", activation="relu", kernel_regularizer="l2")
    config = layer.get_config()
    assert config["kernel_size"] == (3,) and config["padding"] == "causal" and config["groups"] == 1
    clone = Conv1D.from_config(config)
    assert clone.get_config() == config


def test_unimplemented_names_still_say_so():
    from minikeras.layers import convolutional
    with pytest.raises(ImportError, match="cannot import name 'Conv3D'.*no such convolutional layers"):
        convolutional.Conv3D  # noqa: B018
    assert not hasattr(convolutional, "NoSuchThing")


# The forward/backward scheme is chosen by shape (`_conv_path`); every scheme must give the same values and
# exact gradients wherever it applies. (channels, filters, options) cover kernel shapes, padding, stride
# and dilation; 'offsets' applies to stride 1 only.
PATH_CASES = {
    "one_channel_valid": (1, 8, {"kernel_size": (3, 2)}),
    "two_channels_same_even": (2, 8, {"padding": "same", "kernel_size": (2, 4)}),
    "one_channel_strides": (1, 4, {"strides": (2, 3), "padding": "same"}),
    "dilation_same": (2, 3, {"dilation_rate": (2, 1), "padding": "same"}),
    "dilation_valid": (3, 2, {"kernel_size": (2, 3), "dilation_rate": 2}),
    "many_channels_same": (5, 3, {"padding": "same", "kernel_size": 4}),
    "no_bias": (1, 2, {"use_bias": False, "padding": "same"}),
    "one_by_one": (4, 4, {"kernel_size": 1}),
    # 'offsets' gathers a kernel row's reads side by side only for narrow rows (kw * channels <= 64): here
    # the forward does not and the input gradient does, then the other way round
    "wide_input_rows": (24, 3, {"padding": "same"}),
    "wide_filter_rows": (2, 24, {"kernel_size": (2, 3), "dilation_rate": (1, 2), "padding": "same"}),
}


def _path_applies(path, case):
    """The shifted-offsets scheme is for stride 1 only."""
    return path != "offsets" or PATH_CASES[case][2].get("strides", 1) == 1


def _forced_path_conv(monkeypatch, path, case, rank=2):
    from minikeras.layers import convolutional
    channels, filters, options = PATH_CASES[case]
    monkeypatch.setattr(convolutional, "_conv_path", lambda *args: path)
    options = {"kernel_size": 3, "bias_initializer": "glorot_uniform", "activation": "tanh", **options}
    if rank == 1:
        options = {key: value[-1] if isinstance(value, tuple) else value for key, value in options.items()}
        return Conv1D(filters, dtype="float64", **options), _x((2, 9, channels))
    return Conv2D(filters, dtype="float64", **options), _x((2, 7, 6, channels))


@pytest.mark.parametrize("path, case", [(path, case) for path in ("offsets", "channel_rows", "im2col")
                                        for case in sorted(PATH_CASES) if _path_applies(path, case)])
def test_each_path_has_exact_gradients(monkeypatch, path, case):
    layer, x = _forced_path_conv(monkeypatch, path, case)
    check_layer_gradients(layer, x)
    assert layer._path == path


@pytest.mark.parametrize("path", ["offsets", "channel_rows"])
@pytest.mark.parametrize("case", ["one_channel_valid", "dilation_same", "many_channels_same"])
def test_each_path_has_exact_conv1d_gradients(monkeypatch, path, case):
    layer, x = _forced_path_conv(monkeypatch, path, case, rank=1)
    check_layer_gradients(layer, x)


@pytest.mark.parametrize("case", sorted(PATH_CASES))
def test_paths_agree_and_skip_the_input_gradient_when_not_needed(monkeypatch, case):
    results = []
    for path in filter(lambda path: _path_applies(path, case), ("im2col", "channel_rows", "offsets")):
        layer, x = _forced_path_conv(monkeypatch, path, case)
        if results:
            layer(x)
            layer.set_weights(results[0][0])
        g = _x(layer.compute_output_shape(x.shape), seed=2)
        y = layer(x)
        dx = layer.backward(g)
        grads = [w.grad.copy() for w in layer.trainable_weights]
        layer.input_grad_needed = False
        layer(x)
        assert layer.backward(g) is None
        for weight, grad in zip(layer.trainable_weights, grads):
            np.testing.assert_allclose(weight.grad, grad, rtol=1e-12)
        results.append((layer.get_weights(), y, dx, grads))
    for _, y, dx, grads in results[1:]:
        np.testing.assert_allclose(y, results[0][1], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx, results[0][2], rtol=1e-12, atol=1e-12)
        for grad, expected in zip(grads, results[0][3]):
            np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-12)


def test_path_choice_and_reuse_across_batch_shapes():
    from minikeras.layers.convolutional import _conv_path
    assert _conv_path(1, 16, (1, 1), 1) == "channel_rows"  # the course's first layer
    assert _conv_path(16, 8, (1, 1), 1) == "offsets"  # the course's second layer
    assert _conv_path(16, 8, (2, 2), 1) == "im2col" and _conv_path(1, 16, (1, 1), 2) == "im2col"
    layer = Conv2D(8, 4, padding="same", dtype="float64")
    x = _x((3, 6, 6, 16))
    expected = layer(x)
    layer(x[:2])  # a partial last batch, then the full shape again: the work buffers follow the shape
    np.testing.assert_array_equal(layer(x), expected)
    assert Conv2D(16, 5)(np.ones((2, 8, 8, 1), dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("strides, first, second", [(2, (1, 7, 7, 1), (1, 8, 8, 1)),
                                                     ((1, 3), (1, 5, 7, 2), (1, 5, 9, 2))])
def test_work_buffers_follow_the_geometry_not_just_the_shape(strides, first, second):
    """Strided 'same' inputs of different sizes can pad to the same shape with the padding split otherwise."""
    layer = Conv2D(8, 3, strides=strides, padding="same", dtype="float64", bias_initializer="ones")
    x = _x(first)
    expected = layer(x)
    layer(_x(second, seed=1))
    np.testing.assert_array_equal(layer(x), expected)


@pytest.mark.parametrize("path, case", [("offsets", "many_channels_same"), ("offsets", "dilation_valid"),
                                        ("offsets", "wide_input_rows"), ("offsets", "wide_filter_rows"),
                                        ("channel_rows", "one_channel_valid"), ("channel_rows", "no_bias")])
def test_many_row_blocks(monkeypatch, path, case):
    """Tiny GEMM blocks: the shifted (and gathered) row blocks and the weight gradients summed over
    blocks (split between the threads, with a partial last block) agree with im2col and keep exact
    gradients."""
    from minikeras.layers import convolutional
    reference, x = _forced_path_conv(monkeypatch, "im2col", case)
    g = _x(reference.compute_output_shape(x.shape), seed=2)
    expected_y, expected_dx = reference(x), reference.backward(g)
    monkeypatch.setattr(convolutional, "_GEMM_BLOCK_SIZE", 200)
    layer, _ = _forced_path_conv(monkeypatch, path, case)
    layer(x)
    layer.set_weights(reference.get_weights())
    np.testing.assert_allclose(layer(x), expected_y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(g), expected_dx, rtol=1e-12, atol=1e-12)
    for weight, expected in zip(layer.trainable_weights, reference.trainable_weights):
        np.testing.assert_allclose(weight.grad, expected.grad, rtol=1e-12, atol=1e-12)
    check_layer_gradients(layer, x)


def test_gathering_follows_the_row_width():
    layer = Conv2D(8, 4, padding="same")
    layer(np.zeros((1, 12, 12, 16), dtype=np.float32))  # the course's second layer
    assert layer._path == "offsets"
    assert layer._flat_grid() == (1, 14, 14, 16)  # padding (1, 2) stored as 1 + 1: the 2 runs into the next 1
    assert layer._gathering(16) == (4, [0, 14, 28, 42]) and layer._gathering(8)[0] == 4
    assert layer._gathering(17)[0] == 1 and len(layer._gathering(17)[1]) == 16


def test_returned_arrays_are_fresh():
    """z is kept in a reused buffer only behind an activation; outputs and input gradients are new arrays."""
    x = _x((2, 6, 6, 16))
    for activation in (None, "relu"):
        layer = Conv2D(8, 4, padding="same", dtype="float64", activation=activation)
        first = layer(x)
        dx = layer.backward(np.ones_like(first))
        kept, kept_dx = first.copy(), dx.copy()
        layer(2 * x)
        layer.backward(2 * np.ones_like(first))
        np.testing.assert_array_equal(first, kept)
        np.testing.assert_array_equal(dx, kept_dx)
        assert dx.flags.c_contiguous


def test_input_gradient_array_is_reused_only_when_nothing_holds_it():
    """The offsets path hands back last call's input-gradient array once the caller has let go of it (and
    of every view of it): training drops it each step, and a new array of that size costs page faults."""
    x = _x((2, 6, 6, 16))
    layer = Conv2D(8, 4, padding="same", dtype="float64")
    g = np.ones(layer(x).shape)
    expected = layer.backward(g).copy()
    dx = layer.backward(g)
    view, first_address = dx[:1], dx.ctypes.data
    del dx
    held = layer.backward(2 * g)
    assert held.ctypes.data != first_address  # the view holds the first array: a new one, and the first
    np.testing.assert_array_equal(view, expected[:1])  # left as it was
    np.testing.assert_array_equal(held, 2 * expected)
    held_address = held.ctypes.data
    del view, held
    again = layer.backward(4 * g)
    assert again.ctypes.data == held_address  # nothing holds the last one: reused
    np.testing.assert_array_equal(again, 4 * expected)

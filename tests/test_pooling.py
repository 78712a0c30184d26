"""Pooling layers: finite-difference gradients in float64 for every option, tie routing, shapes, dtypes."""
import time

import numpy as np
import pytest

from minikeras.layers import pooling
from minikeras.layers.pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
                                      GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D,
                                      MaxPooling2D)
from tests.test_layers import check_layer_gradients


def distinct(shape, seed=0):
    """Values 0.1 apart in random order: no ties, so max pooling is differentiable at x."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


OPTIONS_2D = [{}, {"pool_size": 3, "strides": 1}, {"pool_size": (3, 2), "strides": (2, 1), "padding": "same"},
              {"pool_size": 2, "padding": "same"}, {"pool_size": 2, "strides": 3},
              {"pool_size": 3, "strides": 2, "padding": "same"}, {"pool_size": (1, 4), "strides": (2, 2)}]
OPTIONS_1D = [{"pool_size": 2}, {"pool_size": 3, "strides": 1}, {"pool_size": 3, "strides": 2, "padding": "same"},
              {"pool_size": 4, "strides": 1, "padding": "same"}, {"pool_size": 2, "strides": 3}]


@pytest.mark.parametrize("kwargs", OPTIONS_2D, ids=str)
@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
def test_2d_pooling_gradients(cls, kwargs):
    kwargs = {"pool_size": 2, **kwargs}
    check_layer_gradients(cls(dtype="float64", **kwargs), distinct((2, 7, 6, 2)))


@pytest.mark.parametrize("kwargs", OPTIONS_1D, ids=str)
@pytest.mark.parametrize("cls", [MaxPooling1D, AveragePooling1D])
def test_1d_pooling_gradients(cls, kwargs):
    check_layer_gradients(cls(dtype="float64", **kwargs), distinct((2, 9, 3)))


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("cls,shape", [(GlobalMaxPooling1D, (3, 5, 2)), (GlobalMaxPooling2D, (2, 4, 3, 2)),
                                       (GlobalAveragePooling1D, (3, 5, 2)), (GlobalAveragePooling2D, (2, 4, 3, 2))])
def test_global_pooling_gradients(cls, shape, keepdims):
    layer = cls(dtype="float64", keepdims=keepdims)
    check_layer_gradients(layer, distinct(shape))
    assert layer.compute_output_shape((None,) + shape[1:])[1:] == layer(distinct(shape)).shape[1:]


def test_forward_values_by_hand():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(MaxPooling2D()(x)[0, :, :, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(AveragePooling2D(2)(x)[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    # 'same' average divides by the number of real elements: the last row/column windows hold fewer
    x = np.arange(1, 26, dtype=np.float32).reshape(1, 5, 5, 1)
    np.testing.assert_allclose(AveragePooling2D(2, padding="same")(x)[0, :, :, 0],
                               [[4, 6, 7.5], [14, 16, 17.5], [21.5, 23.5, 25]])
    np.testing.assert_array_equal(MaxPooling1D(2, padding="same")(np.array([[[1.], [-3.], [-2.]]]))[0, :, 0], [1, -2])


def test_max_pooling_ties_go_to_the_first_element_of_each_window():
    x = np.zeros((1, 4, 4, 1))
    layer = MaxPooling2D(3, strides=1, dtype="float64")
    layer(x)
    grad = layer.backward(np.ones((1, 2, 2, 1)))[0, :, :, 0]
    np.testing.assert_array_equal(grad, [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    x = np.array([[1, 1, 1, 1], [1, 1, 1, 1], [2, 0, 2, 2], [2, 2, 0, 2]], float).reshape(1, 4, 4, 1)
    layer(x)
    grad = layer.backward(np.ones((1, 2, 2, 1)))[0, :, :, 0]  # overlapping windows accumulate
    np.testing.assert_array_equal(grad, [[0, 0, 0, 0], [0, 0, 0, 0], [2, 0, 2, 0], [0, 0, 0, 0]])


def test_global_max_shares_the_gradient_among_ties():
    layer = GlobalMaxPooling1D(dtype="float64")
    layer(np.array([[[1, 1], [1, 0], [0, 1]]], float))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 2)))[0], [[0.5, 0.5], [0.5, 0], [0, 0.5]])


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
def test_dtypes_are_kept(cls):
    assert cls(2)(np.ones((1, 4, 4, 1))).dtype == np.float32
    layer = cls(2, dtype="float64")
    assert layer(np.ones((1, 4, 4, 1))).dtype == np.float64
    assert layer.backward(np.ones((1, 2, 2, 1))).dtype == np.float64


def test_output_shapes_and_aliases():
    assert MaxPooling2D(3, strides=2, padding="same").compute_output_shape((None, 7, None, 4)) == (None, 4, None, 4)
    assert AveragePooling1D(3).compute_output_shape((None, 7, 4)) == (None, 2, 4)
    assert GlobalAveragePooling2D(keepdims=True).compute_output_shape((None, 5, 5, 3)) == (None, 1, 1, 3)
    assert pooling.MaxPool2D is MaxPooling2D and pooling.GlobalAvgPool1D is GlobalAveragePooling1D
    assert pooling.AvgPool2D is AveragePooling2D and pooling.GlobalMaxPool2D is GlobalMaxPooling2D


def test_errors():
    with pytest.raises(ValueError, match="must be a tuple of 2 integers"):
        MaxPooling2D(0)
    with pytest.raises(ValueError, match="zero or negative"):
        MaxPooling2D(3)(np.zeros((1, 2, 2, 1)))
    with pytest.raises(ValueError, match="'valid' or 'same'. Received: padding=full"):
        MaxPooling2D(2, padding="full")
    with pytest.raises(ValueError, match="channels_last"):
        MaxPooling2D(2, data_format="channels_first")(np.zeros((1, 4, 4, 1)))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        MaxPooling1D()(np.zeros((1, 4, 4, 1)))


def test_large_input_is_fast():
    x = np.random.default_rng(0).standard_normal((64, 32, 32, 16)).astype(np.float32)
    for layer in (MaxPooling2D(), MaxPooling2D(3, strides=2, padding="same"), AveragePooling2D(3, strides=1)):
        start = time.perf_counter()
        y = layer(x)
        layer.backward(np.ones_like(y))
        assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("layer", [MaxPooling2D(3, strides=1, padding="same"), AveragePooling1D(2),
                                   GlobalMaxPooling2D(keepdims=True), GlobalAveragePooling1D()])
def test_from_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def _first_maximum_routing(x, grad, pool):
    """dy to each non-overlapping window's first maximum (row-major), by an argmax over the window."""
    n, c = x.shape[0], x.shape[-1]
    oh, ow = grad.shape[1:3]
    windows = x[:, :oh * pool, :ow * pool].reshape(n, oh, pool, ow, pool, c).transpose(0, 1, 3, 5, 2, 4)
    first = windows.reshape(n, oh, ow, c, pool * pool).argmax(axis=-1)
    parts = (first[..., None] == np.arange(pool * pool)) * grad[..., None]
    expected = np.zeros_like(x)
    expected[:, :oh * pool, :ow * pool] = (parts.reshape(n, oh, ow, c, pool, pool).transpose(0, 1, 4, 2, 5, 3)
                                           .reshape(n, oh * pool, ow * pool, c))
    return expected


@pytest.mark.parametrize("pool, shape", [(2, (3, 8, 6, 4)), (2, (2, 7, 9, 3)), (3, (2, 9, 7, 2))])
def test_disjoint_max_routing_matches_an_argmax_on_ties(pool, shape):
    """After a relu most windows tie at 0 and some tie above it: each window's dy goes to one element only,
    the first maximal one, as the general argmax route gives; uncovered edge rows/columns get zeros."""
    rng = np.random.default_rng(1)
    x = np.maximum(rng.integers(-3, 3, shape), 0).astype(np.float32)
    layer = MaxPooling2D(pool)
    y = layer(x)
    grad = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(grad)
    assert dx.dtype == np.float32 and dx.shape == x.shape
    np.testing.assert_array_equal(dx, _first_maximum_routing(x, grad, pool))


def test_disjoint_max_pooling_gradients_with_same_padding():
    check_layer_gradients(MaxPooling2D(2, padding="same", dtype="float64"), distinct((2, 7, 5, 3)))
    check_layer_gradients(MaxPooling2D(3, dtype="float64"), distinct((2, 8, 7, 2)))


@pytest.mark.parametrize("chunk_bytes", [1, 2 * 6 * 6 * 3 * 8])
@pytest.mark.parametrize("kwargs", [{"pool_size": 2}, {"pool_size": 3}, {"pool_size": (1, 2)},
                                    {"pool_size": 2, "padding": "same"}], ids=str)
@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
def test_disjoint_pooling_by_chunks_of_images(monkeypatch, cls, kwargs, chunk_bytes):
    """One image per chunk, or two (a partial last chunk of five), the chunks split between the two
    threads: the values and gradients of one pass."""
    rng = np.random.default_rng(2)
    x = np.maximum(rng.integers(-3, 3, (5, 7, 6, 3)), 0).astype(np.float64)  # ties; 'same' pads a row
    whole = cls(dtype="float64", **kwargs)
    y = whole(x)
    grad = rng.standard_normal(y.shape)
    dx = whole.backward(grad)
    monkeypatch.setattr(pooling, "_CHUNK_BYTES", chunk_bytes)
    chunked = cls(dtype="float64", **kwargs)
    np.testing.assert_array_equal(chunked(x), y)
    np.testing.assert_array_equal(chunked.backward(grad), dx)
    check_layer_gradients(cls(dtype="float64", **kwargs), distinct((5, 6, 6, 3)))


def test_work_arrays_follow_the_batch_shape():
    """A layer keeps its work arrays between calls: a smaller last batch, then the full one, still pool
    and route correctly, and earlier outputs and gradients are left as they were."""
    rng = np.random.default_rng(3)
    layer = MaxPooling2D()
    x = np.maximum(rng.integers(-3, 3, (4, 8, 6, 3)), 0).astype(np.float32)
    y = layer(x)
    grad = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(grad)
    kept_y, kept_dx = y.copy(), dx.copy()
    layer(x[:3])
    layer.backward(grad[:3])
    np.testing.assert_array_equal(layer(x), kept_y)
    np.testing.assert_array_equal(layer.backward(grad), kept_dx)
    np.testing.assert_array_equal(y, kept_y)
    np.testing.assert_array_equal(dx, kept_dx)
    np.testing.assert_array_equal(dx, _first_maximum_routing(x, grad, 2))

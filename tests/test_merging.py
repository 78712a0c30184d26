"""Merge layers: finite-difference gradients (float64) for every layer and option, shapes, masks, errors."""
import numpy as np
import pytest

from minikeras.layers import merge
from minikeras.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from tests.conftest import numerical_gradient


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def check_merge_gradients(layer, inputs, atol=1e-6, mask=None):
    """backward() against central differences of sum(layer(inputs) * r), for each input."""
    output = layer(inputs, mask=mask)
    r = np.random.default_rng(0).standard_normal(output.shape)
    grads = layer.backward(r)
    assert len(grads) == len(inputs)
    for index, (x, grad) in enumerate(zip(inputs, grads)):
        assert grad.shape == x.shape and grad.dtype == np.float64

        def objective(value, index=index):
            replaced = list(inputs)
            replaced[index] = value
            return float(np.sum(layer.forward(replaced, mask=mask) * r))

        np.testing.assert_allclose(grad, numerical_gradient(objective, x), atol=atol, rtol=1e-5)


ELEMENTWISE = [Add, Subtract, Multiply, Average, Maximum, Minimum]
SHAPE_CASES = {
    "same": [(3, 4), (3, 4)],
    "three": [(3, 4), (3, 4), (3, 4)],
    "broadcast_1": [(3, 1), (3, 5)],
    "broadcast_both": [(2, 4, 1), (2, 1, 3)],
    "lower_rank": [(2, 3), (2, 4, 3)],
    "three_broadcast": [(2, 3, 1), (2, 3, 4), (2, 4)],
}


@pytest.mark.parametrize("layer_class, case", [
    (layer_class, case) for layer_class in ELEMENTWISE for case in sorted(SHAPE_CASES)
    if layer_class is not Subtract or len(SHAPE_CASES[case]) == 2])
def test_elementwise_gradients(layer_class, case):
    shapes = SHAPE_CASES[case]
    inputs = [_x(shape, seed) for seed, shape in enumerate(shapes)]
    check_merge_gradients(layer_class(dtype="float64"), inputs)


def test_elementwise_forward_values():
    a, b, c = _x((2, 3, 1), 1), _x((2, 3, 4), 2), _x((2, 4), 3)
    a_, c_ = a, c[:, None, :]
    np.testing.assert_allclose(Add()([a, b, c]), (a_ + b + c_).astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(Multiply(dtype="float64")([a, b, c]), a_ * b * c_)
    np.testing.assert_allclose(Average(dtype="float64")([a, b, c]), (a_ + b + c_) / 3)
    np.testing.assert_allclose(Maximum(dtype="float64")([a, b, c]), np.maximum(np.maximum(a_, b), c_))
    np.testing.assert_allclose(Minimum(dtype="float64")([a, b, c]), np.minimum(np.minimum(a_, b), c_))
    np.testing.assert_allclose(Subtract(dtype="float64")([b, a]), b - a_)


def test_ties_send_the_gradient_to_the_first_input():
    x = np.array([[1.0, 2.0, 3.0]])
    y = np.array([[1.0, 1.0, 3.0]])
    for layer_class in (Maximum, Minimum):
        layer = layer_class(dtype="float64")
        layer([x, y, x])
        grads = layer.backward(np.array([[1.0, 2.0, 3.0]]))
        winner_is_x = layer_class is Maximum or np.array([True, False, True])
        np.testing.assert_array_equal(grads[0], np.where(winner_is_x, [[1.0, 2.0, 3.0]], 0))
        np.testing.assert_array_equal(grads[2], np.zeros((1, 3)))


def test_multiply_gradient_with_zero_inputs_needs_no_division():
    inputs = [np.array([[0.0, 2.0]]), np.array([[3.0, 0.0]]), np.array([[5.0, 7.0]])]
    layer = Multiply(dtype="float64")
    layer(inputs)
    grads = layer.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(grads, [[[15.0, 0.0]], [[0.0, 14.0]], [[0.0, 0.0]]])


@pytest.mark.parametrize("axis", [1, -1, 2, -2, 0])
def test_concatenate_gradients(axis):
    sizes = {1: (3, 2, 4), -1: (3, 4, 1), 2: (3, 4, 1), -2: (3, 2, 4), 0: (2, 1, 3)}[axis]
    shapes = []
    for size in sizes:
        shape = [2, 3, 4]
        shape[axis] = size
        shapes.append(tuple(shape))
    inputs = [_x(shape, seed) for seed, shape in enumerate(shapes)]
    layer = Concatenate(axis=axis, dtype="float64")
    np.testing.assert_array_equal(layer(inputs), np.concatenate(inputs, axis=axis))
    check_merge_gradients(layer, inputs)


DOT_CASES = [
    ({"axes": 1}, [(4, 3), (4, 3)]),
    ({"axes": -1}, [(4, 3), (4, 3)]),
    ({"axes": (1, 2)}, [(2, 3, 5), (2, 4, 3)]),
    ({"axes": (2, 1)}, [(2, 4, 3), (2, 3)]),
    ({"axes": (1, 2)}, [(2, 3), (2, 4, 3)]),
    ({"axes": (-1, -2)}, [(2, 4, 3), (2, 3, 5)]),
    ({"axes": (3, 1)}, [(2, 2, 3, 4), (2, 4, 2, 3)]),
    ({"axes": 2}, [(2, 3, 4), (2, 5, 4)]),
]


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("index", range(len(DOT_CASES)))
def test_dot_gradients(index, normalize):
    kwargs, shapes = DOT_CASES[index]
    inputs = [_x(shape, seed) for seed, shape in enumerate(shapes)]
    layer = Dot(normalize=normalize, dtype="float64", **kwargs)
    output = layer(inputs)
    assert output.shape == (shapes[0][0],) + layer.compute_output_shape(shapes)[1:]
    check_merge_gradients(layer, inputs)


def test_dot_matches_einsum_and_cosine():
    x, y = _x((2, 3, 5), 1), _x((2, 4, 3), 2)
    np.testing.assert_allclose(Dot((1, 2), dtype="float64")([x, y]), np.einsum("bkf,bgk->bfg", x, y))
    a, b = _x((4, 3), 3), _x((4, 3), 4)
    cosine = np.sum(a * b, axis=1, keepdims=True) / np.linalg.norm(a, axis=1, keepdims=True) / np.linalg.norm(
        b, axis=1, keepdims=True)
    np.testing.assert_allclose(Dot(1, normalize=True, dtype="float64")([a, b]), cosine)


def test_dot_normalize_clamps_tiny_vectors_at_one_over_epsilon():
    x = np.array([[0.0, 0.0, 0.0], [1e-9, 0.0, 0.0]])
    y = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    layer = Dot(1, normalize=True, dtype="float64")
    np.testing.assert_allclose(layer([x, y]), [[0.0], [1e-2 / np.sqrt(14)]], rtol=1e-12)
    grad_x, grad_y = layer.backward(np.ones((2, 1)))
    np.testing.assert_allclose(grad_x, 1e7 * y / np.sqrt(14), rtol=1e-12)
    assert np.all(np.isfinite(grad_y)) and np.all(grad_y[0] == 0)


MASK_1 = np.array([[True, False, True], [False, False, True]])
MASK_2 = np.array([[False, False, True], [True, False, False]])


MASK_CASES = {"both": [MASK_1, MASK_2], "first": [MASK_1, None], "second": [None, MASK_2],
              "two_of_3": [MASK_1, MASK_2, None], "all_3": [MASK_1, MASK_2, MASK_1]}


@pytest.mark.parametrize("layer_class, case", [
    (layer_class, case) for layer_class in ELEMENTWISE for case in MASK_CASES
    if layer_class is not Subtract or len(MASK_CASES[case]) == 2])
def test_masked_gradients(layer_class, case):
    masks = MASK_CASES[case]
    inputs = [_x((2, 3, 2), seed) for seed in range(len(masks))]
    check_merge_gradients(layer_class(dtype="float64"), inputs, mask=masks)


def test_masked_entries_are_skipped_by_maximum_and_count_as_one_in_multiply():
    x = np.array([[[5.0], [1.0], [2.0]]])
    y = np.array([[[1.0], [4.0], [3.0]]])
    masks = [np.array([[False, True, False]]), np.array([[True, False, False]])]
    np.testing.assert_array_equal(Maximum(dtype="float64")([x, y], mask=masks), [[[1.0], [1.0], [2.0]]])
    np.testing.assert_array_equal(Minimum(dtype="float64")([x, y], mask=masks), [[[1.0], [1.0], [2.0]]])
    np.testing.assert_array_equal(Multiply(dtype="float64")([x, y], mask=masks), [[[1.0], [1.0], [0.0]]])
    np.testing.assert_array_equal(Multiply(dtype="float64")([x, y], mask=[masks[0], None]), [[[1.0], [4.0], [3.0]]])
    np.testing.assert_array_equal(Add(dtype="float64")([x, y], mask=masks), x + y)


def test_output_shapes():
    assert Add().compute_output_shape([(None, 1), (None, 5)]) == (None, 5)
    assert Add().compute_output_shape([(3, 1), (None, 5)]) == (3, 5)
    assert Add().compute_output_shape([(None, 3), (None, None, 3)]) == (None, None, 3)
    assert Concatenate(axis=1).compute_output_shape([(None, 3, 4), (None, 2, 4)]) == (None, 5, 4)
    assert Concatenate(axis=1).compute_output_shape([(None, None, 4), (None, 2, 4)]) == (None, None, 4)
    assert Dot(1).compute_output_shape([(None, 3), (None, 3)]) == (None, 1)
    assert Dot((1, 2)).compute_output_shape([(None, 3, 5), (None, 4, 3)]) == (None, 5, 4)
    assert Dot(-1).compute_output_shape([(None, 3, 5), (None, 4, 5)]) == (None, 3, 4)
    layer = Add()
    layer([np.ones((2, 3)), np.ones((2, 1))])
    assert layer.output_shape == (None, 3) and layer.built


def test_default_dtype_is_float32_and_float64_stays():
    a = np.ones((2, 3))
    assert Add()([a, a]).dtype == np.float32
    assert Concatenate(dtype="float64")([a, a]).dtype == np.float64
    assert Dot(1)([a.astype(int), a]).dtype == np.float32


def test_functional_forms_and_keras2_module():
    a, b = _x((2, 3), 1), _x((2, 3), 2)
    expected = {add: a + b, subtract: a - b, multiply: a * b, average: (a + b) / 2, maximum: np.maximum(a, b),
                minimum: np.minimum(a, b), concatenate: np.concatenate([a, b], -1),
                dot: np.sum(a * b, 1, keepdims=True)}
    for function, value in expected.items():
        np.testing.assert_allclose(function([a, b], dtype="float64"), value, rtol=1e-12)
    np.testing.assert_allclose(concatenate([a, b], axis=0, dtype="float64"), np.concatenate([a, b]))
    assert Concatenate(axis=0, name="c").get_config()["axis"] == 0
    assert merge.Add is Add and merge.dot is dot


def test_masks():
    m1, m2 = np.array([[True, False, True]]), np.array([[False, False, True]])
    x1, x2 = np.ones((1, 3, 2)), np.ones((1, 3, 4))
    np.testing.assert_array_equal(Add().compute_mask([x1, x1], [m1, m2]), [[True, False, True]])
    assert Add().compute_mask([x1, x1], [m1, None]) is None and Add().compute_mask([x1, x1], None) is None
    np.testing.assert_array_equal(Concatenate().compute_mask([x1, x2], [m1, m2]), [[True, False, True]])
    np.testing.assert_array_equal(Concatenate().compute_mask([x1, x2], [m1, None]), [[True, True, True]])
    np.testing.assert_array_equal(Concatenate(axis=1).compute_mask([x1, x1], [None, m2]),
                                  [[True, True, True, False, False, True]])
    assert Dot(1).compute_mask([x1, x1], [m1, m2]) is None
    assert all(cls.supports_masking for cls in ELEMENTWISE + [Concatenate, Dot])


ERRORS = [
    (Add, {}, [(2, 3)],
     "A merge layer should be called on a list of inputs. Received: input_shape=(2, 3) (not a list of shapes)"),
    (Add, {}, [[(2, 3), (2, 4)]], "Inputs have incompatible shapes. Received shapes (3,) and (4,)"),
    (Add, {}, [[(2, 3), (2, 3, 4)]], "Inputs have incompatible shapes. Received shapes (3, 4) and (3,)"),
    (Add, {}, [[(2, 3), (3, 3)]],
     "Cannot merge tensors with different batch sizes. Received tensors with shapes [(2, 3), (3, 3)]"),
    (Subtract, {}, [[(2, 3)] * 3],
     "A `Subtract` layer should be called on exactly 2 inputs. Received: input_shape=[(2, 3), (2, 3), (2, 3)]"),
    (Concatenate, {}, [(2, 3)],
     "A `Concatenate` layer should be called on a list of at least 1 input. Received: input_shape=(2, 3)"),
    (Concatenate, {"axis": 1}, [[(2, 3, 4), (2, 3, 5)]],
     ("A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
      "Received: input_shape=[(2, 3, 4), (2, 3, 5)]")),
    (Dot, {"axes": 1}, [[(2, 3)] * 3],
     "A `Dot` layer should be called on a list of 2 inputs. Received: input_shape=[(2, 3), (2, 3), (2, 3)]"),
    (Dot, {"axes": 1}, [[(2, 3), (2, 4)]],
     "Incompatible input shapes: axis values 3 (at axis 1) != 4 (at axis 1). Full input shapes: (2, 3), (2, 4)"),
]


@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_bad_input_lists(index):
    layer_class, kwargs, (shapes,), message = ERRORS[index]
    inputs = np.ones(shapes) if isinstance(shapes[0], int) else [np.ones(shape) for shape in shapes]
    with pytest.raises(ValueError) as error:
        layer_class(**kwargs)(inputs)
    assert str(error.value) == message


def test_dot_argument_errors():
    with pytest.raises(TypeError, match="Invalid type for argument `axes`"):
        Dot("a")
    with pytest.raises(ValueError, match="it should contain two elements"):
        Dot((1, 2, 3))
    with pytest.raises(ValueError, match="list elements should be integers"):
        Dot((1, 2.0))
    with pytest.raises(ValueError, match="Cannot perform batch_dot over axis 0"):
        Dot(0)([np.ones((2, 3)), np.ones((2, 3))])


def test_checks_run_on_every_call():
    layer = Add()
    layer([np.ones((2, 3)), np.ones((2, 3))])
    with pytest.raises(ValueError, match="incompatible shapes"):
        layer([np.ones((2, 3)), np.ones((2, 4))])


def test_each_input_gets_its_own_gradient_array():
    a = np.ones((2, 3))
    for layer in (Add(dtype="float64"), Subtract(dtype="float64"), Average(dtype="float64")):
        layer([a, a])
        grad_output = np.ones((2, 3))
        first, second = layer.backward(grad_output)
        first += 1.0
        assert not np.shares_memory(first, second) and np.all(grad_output == 1.0)
        assert first.dtype == np.float64


def test_config_round_trip_and_build_config():
    for layer in (Dot((1, 2), normalize=True, name="d"), Concatenate(axis=1, name="c"), Maximum(name="m")):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
    layer = Add()
    layer([np.ones((2, 3)), np.ones((2, 1))])
    assert layer.get_build_config() == {"input_shape": [(2, 3), (2, 1)]}

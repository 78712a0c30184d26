"""Merge layers against real Keras: forward values and each input's gradient (tf.GradientTape), output
shapes, masks, get_config, and the error texts for bad input lists."""
import numpy as np
import pytest

from minikeras.layers import merging

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]
SHAPES = [
    [(3, 4), (3, 4)],
    [(3, 4), (3, 4), (3, 4)],
    [(3, 1), (3, 5)],
    [(2, 4, 1), (2, 1, 3)],
    [(2, 3), (2, 4, 3)],
    [(2, 3, 1), (2, 3, 4), (2, 4)],
]
CASES = [(name, {}, shapes) for name in ELEMENTWISE for shapes in SHAPES if name != "Subtract" or len(shapes) == 2]
CASES += [("Concatenate", {"axis": axis}, shapes) for axis, shapes in [
    (1, [(2, 3, 4), (2, 2, 4), (2, 4, 4)]), (-1, [(2, 3, 4), (2, 3, 1)]), (2, [(2, 3, 4), (2, 3, 2)]),
    (-2, [(2, 1, 4), (2, 3, 4)]), (0, [(2, 3), (1, 3)])]]
CASES += [("Dot", {"axes": axes, "normalize": normalize}, shapes) for normalize in (False, True)
          for axes, shapes in [(1, [(4, 3), (4, 3)]), (-1, [(2, 3, 5), (2, 4, 5)]), ((1, 2), [(2, 3, 5), (2, 4, 3)]),
                               ((2, 1), [(2, 4, 3), (2, 3)]), ((-1, -2), [(2, 4, 3), (2, 3, 5)]),
                               ((3, 1), [(2, 2, 3, 4), (2, 4, 2, 3)])]]


def assert_matches_keras(keras, name, kwargs, inputs, seed=0, masks=None):
    """Forward value, output shape and every input's gradient of sum(y * r), ours against Keras's (with
    `masks` attached to Keras's input tensors, passed to ours as the list of masks)."""
    import tensorflow as tf
    from keras.src.backend import set_keras_mask

    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(merging, name)(**kwargs)
    tensors = [tf.constant(x) for x in inputs]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        masked = [tf.identity(tensor) for tensor in tensors]
        for tensor, mask in zip(masked, masks or []):
            if mask is not None:
                set_keras_mask(tensor, tf.constant(mask))
        expected = theirs(masked)
        r = tf.constant(np.random.default_rng(seed).standard_normal(expected.shape).astype(np.float32))
        objective = tf.reduce_sum(expected * r)
    expected_grads = tape.gradient(objective, tensors)
    actual = ours(inputs, mask=masks)
    assert actual.dtype == np.float32 and actual.shape == tuple(expected.shape)
    np.testing.assert_allclose(actual, expected.numpy(), rtol=1e-5, atol=1e-6)
    shapes = [(None,) + x.shape[1:] for x in inputs]
    assert ours.compute_output_shape(shapes) == tuple(theirs.compute_output_shape(shapes))
    for grad, expected_grad in zip(ours.backward(r.numpy()), expected_grads):
        expected_grad = np.zeros_like(grad) if expected_grad is None else expected_grad.numpy()
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer_name", ELEMENTWISE + ["Concatenate", "Dot"])
def test_forward_and_gradients_match_keras(keras, layer_name):
    """2 and 3 inputs, broadcasting, every Concatenate axis kind, Dot's axes forms with and without normalize."""
    for index, (name, kwargs, shapes) in enumerate(CASES):
        if name == layer_name:
            rng = np.random.default_rng(index)
            inputs = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
            assert_matches_keras(keras, name, kwargs, inputs, seed=index)


def test_edge_values_match_keras(keras):
    """Ties in Maximum/Minimum (TensorFlow gives the gradient to the first argument), zeros in Multiply,
    and vectors below Dot's normalization epsilon."""
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], np.float32)
    y = np.array([[1.0, 1.0, 3.0], [0.0, 0.0, 0.0]], np.float32)
    for name in ("Maximum", "Minimum"):
        assert_matches_keras(keras, name, {}, [x, y, x.copy()])
        assert_matches_keras(keras, name, {}, [y, np.array([[1.0], [0.0]], np.float32)])
    assert_matches_keras(keras, "Multiply", {}, [np.array([[0.0, 2.0, 0.0]], np.float32),
                                                 np.array([[3.0, 0.0, 0.0]], np.float32),
                                                 np.array([[5.0, 7.0, 1.0]], np.float32)])
    tiny = np.array([[0.0, 0.0, 0.0], [1e-9, 0.0, 0.0], [1.0, 2.0, 3.0]], np.float32)
    other = np.array([[1.0, 2.0, 3.0], [1.0, -2.0, 0.5], [0.0, 0.0, 0.0]], np.float32)
    assert_matches_keras(keras, "Dot", {"axes": 1, "normalize": True}, [tiny, other])


def test_masked_values_and_gradients_match_keras(keras):
    """Keras's Maximum/Minimum skip masked-out entries and Multiply counts them as 1; Add ignores masks."""
    m1 = np.array([[True, False, True], [False, False, True]])
    m2 = np.array([[False, False, True], [True, False, False]])
    rng = np.random.default_rng(5)
    for name in ("Maximum", "Minimum", "Multiply", "Add", "Average"):
        for masks in ([m1, m2], [m1, None], [None, m2], [m1, m2, None], [m2, m1, m1]):
            inputs = [rng.standard_normal((2, 3, 2)).astype(np.float32) for _ in masks]
            assert_matches_keras(keras, name, {}, inputs, masks=masks)


def test_functional_forms_match_keras(keras):
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(2)]
    for function, kwargs in [("add", {}), ("subtract", {}), ("multiply", {}), ("average", {}), ("maximum", {}),
                             ("minimum", {}), ("concatenate", {"axis": 1}), ("dot", {"axes": 1, "normalize": True}),
                             ("dot", {})]:
        expected = getattr(keras.layers, function)(inputs, **kwargs)
        np.testing.assert_allclose(getattr(merging, function)(inputs, **kwargs), expected.numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_output_shapes_match_keras(keras):
    cases = [(name, {}, shapes) for name in ELEMENTWISE for shapes in [
        [(None, 1), (None, 5)], [(3, 1), (None, 5)], [(None, 3), (None, None, 3)], [(None, 4, 1), (None, 3)],
        [(None, 2, None), (None, 2, 7)]]]
    cases += [
        ("Concatenate", {"axis": 1}, [(None, 3, 4), (None, 2, 4)]),
        ("Concatenate", {"axis": 1}, [(None, None, 4), (None, 2, 4)]),
        ("Concatenate", {}, [(None, 3, 4), (None, 3, 2), (None, 3, 1)]),
        ("Dot", {"axes": 1}, [(None, 3), (None, 3)]),
        ("Dot", {"axes": (1, 2)}, [(None, 3, 5), (None, 4, 3)]),
        ("Dot", {"axes": -1}, [(None, 3, 5), (None, 4, 5)]),
        ("Dot", {"axes": (-1, 1)}, [(None, 3, 5), (None, 5, 4)]),
    ]
    for name, kwargs, shapes in cases:
        expected = getattr(keras.layers, name)(**kwargs).compute_output_shape(shapes)
        assert getattr(merging, name)(**kwargs).compute_output_shape(shapes) == tuple(expected), (name, shapes)


def test_masks_match_keras(keras):
    m1, m2 = np.array([[True, False, True]]), np.array([[False, False, True]])
    x1, x2 = np.ones((1, 3, 2), np.float32), np.ones((1, 3, 4), np.float32)
    for name, kwargs, inputs in [("Add", {}, [x1, x1]), ("Maximum", {}, [x1, x1]), ("Concatenate", {}, [x1, x2]),
                                 ("Concatenate", {"axis": 1}, [x1, x1]), ("Dot", {"axes": 2}, [x1, x1])]:
        for masks in ([m1, m2], [m1, None], [None, m2], [None, None]):
            expected = getattr(keras.layers, name)(**kwargs).compute_mask(inputs, masks)
            actual = getattr(merging, name)(**kwargs).compute_mask(inputs, masks)
            if expected is None:
                assert actual is None
            else:
                np.testing.assert_array_equal(actual, np.asarray(expected))


def test_config_matches_keras(keras):
    for name, kwargs in [(name, {}) for name in ELEMENTWISE] + [
            ("Concatenate", {}), ("Concatenate", {"axis": 1, "name": "joined"}), ("Dot", {"axes": 1}),
            ("Dot", {"axes": (1, 2), "normalize": True}), ("Dot", {"axes": [2, -1], "dtype": "float64"})]:
        expected = getattr(keras.layers, name)(**kwargs).get_config()
        actual = getattr(merging, name)(**kwargs).get_config()
        assert list(actual) == list(expected)
        assert actual == expected


BAD_INPUTS = [
    ("Add", {}, (2, 3)),
    ("Add", {}, [(2, 3), (2, 4)]),
    ("Add", {}, [(2, 3), (2, 3, 4)]),
    ("Add", {}, [(2, 3), (2, 3), (2, 5)]),
    ("Multiply", {}, [(2, 3), (3, 3)]),
    ("Maximum", {}, [(1, 3), (2, 3)]),
    ("Subtract", {}, [(2, 3)] * 3),
    ("Subtract", {}, [(2, 3)]),
    ("Subtract", {}, (2, 3)),
    ("Concatenate", {}, (2, 3)),
    ("Concatenate", {"axis": 1}, [(2, 3, 4), (2, 3, 5)]),
    ("Concatenate", {}, [(2, 3, 4), (2, 3)]),
    ("Concatenate", {"axis": 1}, [(2, 3, 1), (2, 3, 5)]),
    ("Concatenate", {"axis": 1}, [(2, 3, 4), (3, 3, 4)]),
    ("Dot", {"axes": 1}, [(2, 3)] * 3),
    ("Dot", {"axes": 1}, [(2, 3)]),
    ("Dot", {"axes": 1}, (2, 3)),
    ("Dot", {"axes": 1}, [(2, 3), (2, 4)]),
    ("Dot", {"axes": (-1, 1)}, [(2, 3), (2, 4)]),
    ("Dot", {"axes": 0}, [(2, 3), (2, 3)]),
]


def _ones(shapes):
    if isinstance(shapes[0], int):
        return np.ones(shapes, np.float32)
    return [np.ones(shape, np.float32) for shape in shapes]


def test_bad_input_list_errors_match_keras(keras):
    """Keras raises the batch_dot errors inside call(), wrapped in its call-context text: ours is the core."""
    for name, kwargs, shapes in BAD_INPUTS:
        with pytest.raises(ValueError) as theirs:
            getattr(keras.layers, name)(**kwargs)(_ones(shapes))
        with pytest.raises(ValueError) as ours:
            getattr(merging, name)(**kwargs)(_ones(shapes))
        assert str(ours.value) == str(theirs.value) or str(ours.value) in str(theirs.value), (name, shapes)


def test_dot_argument_errors_match_keras(keras):
    for axes, error in [("a", TypeError), ((1, 2, 3), ValueError), ((1, 2.0), ValueError), ([[1], 2], ValueError)]:
        with pytest.raises(error) as theirs:
            keras.layers.Dot(axes)
        with pytest.raises(error) as ours:
            merging.Dot(axes)
        assert str(ours.value) == str(theirs.value)

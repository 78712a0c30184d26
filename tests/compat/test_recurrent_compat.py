"""SimpleRNN/LSTM/GRU and Bidirectional against real Keras: forward values, input/weight gradients (with
masks, go_backwards, return_state), get_config, weight shapes, and recurrent models trained side by side."""
import numpy as np
import pytest

from minikeras import backend
from minikeras.layers import recurrent
from minikeras.layers.bidirectional import Bidirectional
from tests.compat.test_training_compat import assert_same_history, assert_same_weights, twin

MASK = np.array([[1, 1, 0, 1, 0, 1], [0, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=bool)

OPTIONS = [
    {},
    {"return_sequences": True},
    {"go_backwards": True},
    {"return_sequences": True, "go_backwards": True},
    {"return_state": True},
    {"return_sequences": True, "return_state": True, "go_backwards": True},
    {"use_bias": False, "return_sequences": True},
    {"activation": "relu", "return_sequences": True},
    {"zero_output_for_mask": True, "return_sequences": True},
]
# One test per layer looping over its cases: each test costs Keras a session reset, the cases do not.
LAYER_CASES = {
    "SimpleRNN": [("SimpleRNN", options) for options in OPTIONS],
    "LSTM": [("LSTM", options) for options in OPTIONS]
    + [("LSTM", {"recurrent_activation": "hard_sigmoid", "unit_forget_bias": False})],
    "GRU": [("GRU", options) for options in OPTIONS],
    "GRU_reset_before": [("GRU", {"reset_after": False, **options}) for options in OPTIONS],
}


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def compare_with_keras(theirs, ours, x, mask=None, seed=0):
    """Forward outputs and the gradients of sum(outputs * r) w.r.t. x and every weight, both libraries."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x_tf = tf.constant(x)
    kwargs = {} if mask is None else {"mask": tf.constant(mask)}
    with tf.GradientTape() as tape:
        tape.watch(x_tf)
        expected = _as_list(theirs(x_tf, **kwargs))
        weights = [tf.constant(rng.standard_normal(y.shape).astype(np.float32)) for y in expected]
        objective = tf.add_n([tf.reduce_sum(y * r) for y, r in zip(expected, weights)])
    grads = tape.gradient(objective, [x_tf] + theirs.trainable_weights)
    actual = _as_list(ours.forward(x, mask=mask))
    assert len(actual) == len(expected)
    for y, y_tf in zip(actual, expected):
        np.testing.assert_allclose(y, y_tf.numpy(), rtol=1e-5, atol=1e-6)
    output_grads = [r.numpy() for r in weights]
    dx = ours.backward(output_grads if len(output_grads) > 1 else output_grads[0])
    np.testing.assert_allclose(dx, grads[0].numpy(), rtol=1e-5, atol=1e-6)
    assert len(ours.trainable_weights) == len(grads) - 1
    for variable, expected_grad in zip(ours.trainable_weights, grads[1:]):
        np.testing.assert_allclose(variable.grad, expected_grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=variable.name)


def _pair(keras, name, options, shape):
    """The Keras layer (with random biases, so bias gradients mean something) and ours with its weights."""
    theirs = getattr(keras.layers, name)(4, **options)
    theirs.build(shape)
    if theirs.use_bias:
        theirs.cell.bias.assign(np.random.default_rng(7).uniform(-0.5, 0.5, theirs.cell.bias.shape))
    ours = getattr(recurrent, name)(4, **options)
    ours.build_from_shape(shape)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


@pytest.mark.parametrize("family", sorted(LAYER_CASES))
def test_forward_and_gradients_match_keras(keras, family):
    x = np.random.default_rng(1).standard_normal((3, 6, 5)).astype(np.float32)
    for name, options in LAYER_CASES[family]:
        theirs, ours = _pair(keras, name, options, (None, 6, 5))
        assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.weights]
        for mask in (None, MASK):
            compare_with_keras(theirs, ours, x, mask)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_matches_keras(keras, merge_mode):
    cases = [({"return_sequences": True}, True), ({"return_state": True}, True)]
    if merge_mode == "concat":
        cases += [({}, False), ({"return_sequences": True, "return_state": True}, False)]
    for options, masked in cases:
        keras.backend.clear_session()
        backend.clear_session()
        check_bidirectional(keras, merge_mode, options, masked)


def check_bidirectional(keras, merge_mode, options, masked):
    x = np.random.default_rng(2).standard_normal((3, 6, 5)).astype(np.float32)
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(4, **options), merge_mode=merge_mode)
    theirs.build((None, 6, 5))
    ours = Bidirectional(recurrent.LSTM(4, **options), merge_mode=merge_mode)
    ours.build_from_shape((None, 6, 5))
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    assert [v.name for v in ours.weights] == [v.name for v in theirs.weights]
    assert (ours.forward_layer.name, ours.backward_layer.name) == (theirs.forward_layer.name,
                                                                  theirs.backward_layer.name)
    compare_with_keras(theirs, ours, x, MASK if masked else None)
    assert ours.compute_output_shape((None, 6, 5)) == theirs.compute_output_shape((None, 6, 5))
    expected, actual = theirs.get_config(), ours.get_config()
    assert list(actual) == list(expected) and actual == expected


@pytest.mark.parametrize("name, options", [
    ("SimpleRNN", {}),
    ("SimpleRNN", {"activation": "relu", "return_sequences": True, "dropout": 0.2, "kernel_regularizer": "l2"}),
    ("LSTM", {}),
    ("LSTM", {"recurrent_activation": "hard_sigmoid", "unit_forget_bias": False, "go_backwards": True,
              "recurrent_dropout": 0.3, "seed": 3, "recurrent_constraint": "max_norm"}),
    ("GRU", {}),
    ("GRU", {"reset_after": False, "return_state": True, "use_bias": False, "bias_regularizer": "l1"}),
])
def test_config_matches_keras(keras, name, options):
    expected = getattr(keras.layers, name)(5, **options).get_config()
    ours = getattr(recurrent, name)(5, **options)
    actual = ours.get_config()
    assert list(actual) == list(expected)
    assert actual == expected
    assert type(ours).from_config(actual).get_config() == actual


def test_shapes_masks_and_errors_match_keras(keras):
    for name in ("SimpleRNN", "LSTM", "GRU"):
        for options in ({}, {"return_sequences": True}, {"return_state": True},
                        {"return_state": True, "return_sequences": True}):
            theirs, ours = getattr(keras.layers, name)(3, **options), getattr(recurrent, name)(3, **options)
            assert ours.compute_output_shape((None, 7, 2)) == theirs.compute_output_shape((None, 7, 2))
            expected_mask = theirs.compute_mask(None, MASK)
            actual_mask = ours.compute_mask(None, MASK)
            assert type(actual_mask) is type(expected_mask)
            if isinstance(expected_mask, list):
                assert [m is None for m in actual_mask] == [m is None for m in expected_mask]
        with pytest.raises(ValueError) as error:
            getattr(keras.layers, name)(3)(np.zeros((2, 4), np.float32))
        with pytest.raises(ValueError) as ours_error:
            getattr(recurrent, name)(3)(np.zeros((2, 4), np.float32))
        expected_text = str(error.value).replace(error.value.args[0].split("'")[3], "{name}")
        actual_text = str(ours_error.value).replace(ours_error.value.args[0].split("'")[3], "{name}")
        assert actual_text == expected_text
        for units in (0, -2):
            with pytest.raises(ValueError) as error:
                getattr(keras.layers, name)(units)
            with pytest.raises(ValueError) as ours_error:
                getattr(recurrent, name)(units)
            assert str(ours_error.value) == str(error.value)
    for kwargs in ({"merge_mode": "max"}, {"backward_layer": "lstm"}):
        with pytest.raises(ValueError) as error:
            keras.layers.Bidirectional(keras.layers.LSTM(2), **kwargs)
        with pytest.raises(ValueError) as ours_error:
            Bidirectional(recurrent.LSTM(2), **kwargs)
        assert str(ours_error.value) == str(error.value)


def test_stacked_recurrent_model_trains_like_keras(keras):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((48, 5, 1)).astype(np.float32)
    y = x.sum(axis=1) * 0.5

    def build(K):
        ns = K.layers if K is keras else recurrent
        return K.Sequential([K.layers.Input((5, 1)), ns.LSTM(8, return_sequences=True), ns.GRU(6),
                             K.layers.Dense(1)])

    reference, ours = twin(keras, build, lambda K: {"loss": "mse", "optimizer": "adam"})
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    expected = reference.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)


def test_bidirectional_simple_rnn_model_trains_like_keras(keras):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((40, 6, 3)).astype(np.float32)
    y = (x[:, 0, 0] + x[:, -1, 1] > 0).astype(np.float32)

    def build(K):
        ns = K.layers if K is keras else recurrent
        wrapper = K.layers.Bidirectional if K is keras else Bidirectional
        return K.Sequential([K.layers.Input((6, 3)),
                             wrapper(ns.SimpleRNN(5, return_sequences=True), merge_mode="sum"),
                             wrapper(ns.GRU(4, reset_after=False)),
                             K.layers.Dense(1, activation="sigmoid")])

    reference, ours = twin(keras, build, lambda K: {"loss": "binary_crossentropy", "optimizer": K.optimizers.RMSprop(
        1e-2), "metrics": ["accuracy"]})
    expected = reference.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)


def test_input_dropout_statistics_match_keras(keras):
    """One input mask per sample for all timesteps, as Keras draws it: with one feature each sample's output
    takes one of two values (feature kept, scaled by 2, or dropped), so the batch mean is a binomial mixture."""
    import tensorflow as tf

    x = np.ones((4000, 3, 1), dtype=np.float32)
    theirs = keras.layers.LSTM(2, dropout=0.5, seed=1)
    theirs.build((None, 3, 1))
    ours = recurrent.LSTM(2, dropout=0.5, seed=1)
    ours.build_from_shape((None, 3, 1))
    ours.set_weights(theirs.get_weights())
    expected = theirs(tf.constant(x), training=True).numpy()
    actual = ours.forward(x, training=True)
    kept, dropped = ours.forward(2 * x[:1])[0], ours.forward(0 * x[:1])[0]
    for outputs in (expected, actual):
        assert all(np.isclose(row, kept, atol=1e-5).all() or np.isclose(row, dropped, atol=1e-5).all()
                   for row in outputs[:200])
    bound = 5 * np.sqrt(0.25 / len(x)) * np.abs(kept - dropped) * np.sqrt(2)
    assert (np.abs(actual.mean(axis=0) - expected.mean(axis=0)) < bound).all()

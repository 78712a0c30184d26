"""BatchNormalization and LayerNormalization against real Keras: forward in both modes, input/weight
gradients, moving statistics, configs, weight names, summaries, and models trained side by side."""
import warnings

import numpy as np
import pytest

import minikeras
from minikeras.layers.convolutional import Conv2D
from minikeras.layers.normalization import BatchNormalization, LayerNormalization
from tests.compat.test_training_compat import assert_same_history, assert_same_weights, twin

OURS = {"BatchNormalization": BatchNormalization, "LayerNormalization": LayerNormalization}

CASES = [
    ("BatchNormalization", (8, 5), {}),
    ("BatchNormalization", (8, 5), {"center": False, "momentum": 0.9}),
    ("BatchNormalization", (8, 5), {"scale": False, "epsilon": 0.1}),
    ("BatchNormalization", (4, 6, 5, 3), {}),
    ("BatchNormalization", (4, 6, 5, 3), {"axis": 1, "center": False, "scale": False}),
    ("LayerNormalization", (8, 5), {}),
    ("LayerNormalization", (8, 5), {"center": False, "epsilon": 1e-5}),
    ("LayerNormalization", (4, 6, 5, 3), {"axis": [1, 3]}),
    ("LayerNormalization", (4, 6, 5), {"axis": 1, "scale": False}),
    ("LayerNormalization", (8, 5), {"rms_scaling": True}),
    ("LayerNormalization", (4, 6, 5), {"rms_scaling": True, "axis": [-2, -1], "scale": False}),
]


def _random_weights(keras_layer, rng):
    """Non-trivial gamma/beta/moving statistics, set in Keras's layer (ours copies them)."""
    weights = []
    for variable in keras_layer.weights:
        value = rng.uniform(0.5, 1.5, variable.shape)
        is_scale = "variance" in variable.name or variable.name == "gamma"
        weights.append((value if is_scale else value - 1.0).astype(np.float32))
    keras_layer.set_weights(weights)


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
@pytest.mark.parametrize("index", range(len(CASES)))
def test_forward_gradients_and_moving_statistics_match_keras(keras, index):
    for training in (True, False):
        _check_against_keras(keras, *CASES[index], training, np.random.default_rng(index))


def _check_against_keras(keras, name, shape, kwargs, training, rng, mask=None):
    """Forward, d/dx and d/dweights of sum(y * r) (tf.GradientTape), and the weights afterwards."""
    import tensorflow as tf

    x = (rng.standard_normal(shape) * 2 + 0.7).astype(np.float32)
    theirs = getattr(keras.layers, name)(**kwargs)
    theirs.build(shape)
    _random_weights(theirs, rng)
    ours = OURS[name](**kwargs)
    ours.build_from_shape((None,) + shape[1:])
    ours.set_weights(theirs.get_weights())
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]

    y = ours.forward(x, training=training, mask=mask)
    x_tf = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_tf)
        y_tf = theirs(x_tf, training=training, **({} if mask is None else {"mask": tf.constant(mask)}))
        r = tf.constant(rng.standard_normal(shape).astype(np.float32))
        objective = tf.reduce_sum(y_tf * r)
    grads = tape.gradient(objective, [x_tf] + theirs.trainable_weights)
    np.testing.assert_allclose(y, y_tf.numpy(), rtol=1e-5, atol=1e-6)
    for actual, expected in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours.backward(r.numpy()), grads[0].numpy(), rtol=1e-5, atol=1e-6)
    assert len(ours.trainable_weights) == len(grads) - 1
    for variable, expected in zip(ours.trainable_weights, grads[1:]):
        np.testing.assert_allclose(variable.grad, expected.numpy(), rtol=1e-5, atol=2e-6)


def test_masked_batch_normalization_matches_keras(keras):
    """A timestep mask (from an Embedding with mask_zero=True) limits the batch statistics to the kept steps."""
    rng = np.random.default_rng(7)
    mask = rng.random((4, 6)) < 0.6
    for training in (True, False):
        _check_against_keras(keras, "BatchNormalization", (4, 6, 3), {"momentum": 0.8}, training, rng, mask)


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
def test_config_matches_keras_before_and_after_build(keras):
    for name, kwargs in [
        ("BatchNormalization", {}),
        ("BatchNormalization", {"axis": 1, "momentum": 0.9, "epsilon": 1e-5, "center": False, "synchronized": True,
                                "gamma_regularizer": "l2", "beta_constraint": "non_neg",
                                "moving_variance_initializer": "random_uniform"}),
        ("LayerNormalization", {}),
        ("LayerNormalization", {"axis": (3, 1), "epsilon": None, "scale": False, "beta_regularizer": "l1",
                                "gamma_initializer": "he_normal"}),
        ("LayerNormalization", {"rms_scaling": True}),
    ]:
        theirs, ours = getattr(keras.layers, name)(**kwargs), OURS[name](**kwargs)
        assert list(ours.get_config()) == list(theirs.get_config())
        assert ours.get_config() == theirs.get_config()
        theirs.build((None, 3, 4, 5))
        ours.build_from_shape((None, 3, 4, 5))
        assert ours.get_config() == theirs.get_config()
        assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
        assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]


def test_error_texts_match_keras(keras):
    for name, shape in [("BatchNormalization", (2, 3, 4)), ("BatchNormalization", (2, 4))]:
        theirs, ours = getattr(keras.layers, name)(), OURS[name]()
        theirs.build((None, 3))
        ours.build_from_shape((None, 3))
        with pytest.raises(ValueError) as expected:
            theirs(np.zeros(shape, np.float32))
        with pytest.raises(ValueError) as actual:
            ours(np.zeros(shape, np.float32))
        assert str(actual.value) == str(expected.value)
    with pytest.raises(TypeError) as expected:
        keras.layers.LayerNormalization(axis="a")
    with pytest.raises(TypeError) as actual:
        LayerNormalization(axis="a")
    assert str(actual.value) == str(expected.value)


def test_rms_scaling_warns_like_keras(keras):
    with warnings.catch_warnings(record=True) as expected:
        warnings.simplefilter("always")
        keras.layers.LayerNormalization(rms_scaling=True)
    with pytest.warns(UserWarning) as actual:
        LayerNormalization(rms_scaling=True)
    assert [str(w.message) for w in actual] == [str(w.message) for w in expected]


def _dense_model(K, trainable=True, use_bias=True):
    batch_norm = (K.layers.BatchNormalization if K is not minikeras else BatchNormalization)(momentum=0.9)
    batch_norm.trainable = trainable
    return K.Sequential([K.layers.Input((8,)), K.layers.Dense(16, use_bias=use_bias), batch_norm,
                         K.layers.Activation("relu"), K.layers.Dense(1)])


def _regression_data(seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((96, 8)) * 1.5 + 0.3).astype(np.float32)
    return x, (x[:, :3].sum(axis=1, keepdims=True) + 0.5 * np.abs(x[:, 3:4])).astype(np.float32)


# A bias just before a training-mode BatchNormalization gets a zero gradient up to rounding (the batch mean
# removes it). SGD leaves it at ~0 in both libraries, but Adam scales that rounding noise up to lr-sized
# steps that differ between them (measured: 1e-3 apart, and the moving mean with it, while every other
# weight agrees to 3e-8). Under Adam the layer before the normalization therefore has no bias, as usual.
@pytest.mark.parametrize("optimizer, use_bias", [("sgd", True), ("adam", False)])
def test_dense_batch_norm_model_trains_like_keras(keras, optimizer, use_bias):
    x, y = _regression_data()
    reference, ours = twin(keras, lambda K: _dense_model(K, use_bias=use_bias),
                           lambda K: {"loss": "mse", "optimizer": optimizer, "metrics": ["mae"]})
    expected = reference.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    actual = ours.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    assert not np.allclose(ours.layers[1].moving_mean.value, 0.0)
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), reference.evaluate(x, y, verbose=0), rtol=1e-4)


def test_frozen_batch_norm_keeps_its_moving_statistics_like_keras(keras):
    x, y = _regression_data(1)
    reference, ours = twin(keras, lambda K: _dense_model(K, trainable=False),
                           lambda K: {"loss": "mse", "optimizer": K.optimizers.Adam(1e-2)})
    frozen = [w.copy() for w in ours.layers[1].get_weights()]
    expected = reference.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    for library_weights in (reference.layers[1].get_weights(), ours.layers[1].get_weights()):
        for weight, before in zip(library_weights, frozen):
            np.testing.assert_array_equal(weight, before)
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
    assert len(ours.trainable_weights) == len(reference.trainable_weights) == 4
    assert len(ours.non_trainable_weights) == len(reference.non_trainable_weights) == 4


@pytest.mark.parametrize("trainable", [True, False])
def test_summary_matches_keras(keras, trainable):
    texts = []
    for K in (keras, minikeras):
        lines = []
        _dense_model(K, trainable).summary(print_fn=lines.append)
        texts.append("\n".join(lines))
    assert texts[1] == texts[0]


def test_conv_batch_norm_model_trains_like_keras(keras):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((48, 7, 6, 2)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 48)]

    def build(K):
        conv = K.layers.Conv2D if K is keras else Conv2D
        batch_norm = K.layers.BatchNormalization if K is keras else BatchNormalization
        return K.Sequential([K.layers.Input((7, 6, 2)), conv(4, 3, padding="same", use_bias=False), batch_norm(),
                             K.layers.Activation("relu"), K.layers.Flatten(), K.layers.Dense(3, activation="softmax")])

    reference, ours = twin(keras, build, lambda K: {"loss": "categorical_crossentropy",
                                                    "optimizer": K.optimizers.Adam(1e-2), "metrics": ["accuracy"]})
    expected = reference.fit(x, y, batch_size=12, epochs=2, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=12, epochs=2, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


def test_layer_norm_model_trains_like_keras(keras):
    x, y = _regression_data(3)

    def build(K):
        layer_norm = K.layers.LayerNormalization if K is keras else LayerNormalization
        return K.Sequential([K.layers.Input((8,)), K.layers.Dense(16, activation="tanh"),
                             layer_norm(gamma_regularizer=K.regularizers.L2(1e-2),
                                        beta_constraint=K.constraints.MaxNorm(0.05)),
                             K.layers.Dense(1)])

    reference, ours = twin(keras, build, lambda K: {"loss": "mse", "optimizer": K.optimizers.Adam(1e-2)})
    expected = reference.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)

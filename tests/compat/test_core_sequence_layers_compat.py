"""Masking, RepeatVector, Permute, TimeDistributed and Dense on rank >= 3 inputs against real Keras: forward
values, input/weight gradients, masks, get_config, errors, summary text, and models trained side by side."""
import numpy as np
import pytest

import minikeras
from minikeras.layers import convolutional, core
from minikeras.layers.time_distributed import TimeDistributed
from tests.compat.test_training_compat import assert_same_history, assert_same_weights, twin


def masked_sample(shape, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    x[0, 1] = 0.0
    x[-1, -1] = 0.0
    return x


CASES = {
    "masking": (lambda K: K.layers.Masking(), (2, 4, 3)),
    "masking_value": (lambda K: K.layers.Masking(mask_value=0.5), (2, 4, 3)),
    "repeat_vector": (lambda K: K.layers.RepeatVector(3), (2, 5)),
    "permute": (lambda K: K.layers.Permute((2, 1)), (2, 3, 4)),
    "permute_3d": (lambda K: K.layers.Permute((3, 1, 2)), (2, 4, 3, 5)),
    "flatten": (lambda K: K.layers.Flatten(), (2, 4, 3, 5)),
    "flatten_channels_first": (lambda K: K.layers.Flatten(data_format="channels_first"), (2, 4, 3, 5)),
    "dense_rank_3": (lambda K: K.layers.Dense(5, activation="tanh", bias_initializer="glorot_uniform"), (2, 4, 3)),
    "dense_rank_4": (lambda K: K.layers.Dense(2, bias_initializer="glorot_uniform"), (2, 3, 4, 3)),
    "td_dense": (lambda K: K.layers.TimeDistributed(K.layers.Dense(3, activation="relu",
                                                                   bias_initializer="glorot_uniform")), (2, 4, 5)),
    "td_conv2d": (lambda K: K.layers.TimeDistributed(K.layers.Conv2D(2, 3, padding="same",
                                                                     bias_initializer="glorot_uniform")),
                  (2, 3, 6, 5, 2)),
}


class _Ours:
    """minikeras's namespace for the layers under test, shaped like `keras` for the CASES builders."""

    class layers:
        Masking, RepeatVector, Permute, Dense, Flatten = (core.Masking, core.RepeatVector, core.Permute, core.Dense,
                                                          core.Flatten)
        Conv2D = convolutional.Conv2D
        TimeDistributed = TimeDistributed


@pytest.mark.parametrize("case", list(CASES))
def test_forward_and_gradients_match_keras(keras, case):
    import tensorflow as tf

    make, shape = CASES[case]
    rng = np.random.default_rng(len(case))
    x = masked_sample(shape, rng)
    if case == "masking_value":
        x[0, 2] = 0.5
    theirs = make(keras)
    theirs.build(shape)
    ours = make(_Ours)
    ours(x)
    ours.set_weights(theirs.get_weights())
    y = ours(x)
    x_tf = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_tf)
        y_tf = theirs(x_tf)
        r = tf.constant(rng.standard_normal(y_tf.shape).astype(np.float32))
        objective = tf.reduce_sum(y_tf * r)
    grads = tape.gradient(objective, [x_tf] + theirs.trainable_weights)
    np.testing.assert_allclose(y, y_tf.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.backward(r.numpy()), grads[0].numpy(), rtol=1e-5, atol=1e-5)
    assert len(ours.trainable_weights) == len(grads) - 1
    for variable, expected in zip(ours.trainable_weights, grads[1:]):
        np.testing.assert_allclose(variable.grad, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_compute_mask_matches_keras(keras):
    x = masked_sample((2, 4, 3), np.random.default_rng(0))
    incoming = np.array([[True, False, True, True], [False, True, True, True]])
    expected = keras.layers.Masking().compute_mask(x, incoming).numpy()
    np.testing.assert_array_equal(core.Masking().output_mask(x, incoming), expected)
    theirs = keras.layers.TimeDistributed(keras.layers.Dense(2))
    ours = TimeDistributed(core.Dense(2))
    assert ours.supports_masking is theirs.supports_masking is True
    np.testing.assert_array_equal(ours.output_mask(x, incoming), np.asarray(theirs.compute_mask(x, incoming)))
    assert ours.output_mask(x, None) is None and theirs.compute_mask(x, None) is None
    for name, args in (("RepeatVector", (2,)), ("Permute", ((2, 1),))):
        assert getattr(core, name)(*args).supports_masking is getattr(keras.layers, name)(*args).supports_masking


@pytest.mark.parametrize("make", [
    lambda K: K.layers.Masking(),
    lambda K: K.layers.Masking(mask_value=-1),
    lambda K: K.layers.RepeatVector(4),
    lambda K: K.layers.Permute([3, 1, 2]),
    lambda K: K.layers.TimeDistributed(K.layers.Dense(3, activation="relu", kernel_regularizer="l2")),
    lambda K: K.layers.TimeDistributed(K.layers.Conv2D(4, 3, strides=2, padding="same")),
])
@pytest.mark.parametrize("built", [False, True])
def test_config_matches_keras(keras, make, built):
    theirs, ours = make(keras), make(_Ours)
    if built and isinstance(ours, TimeDistributed):
        shape = (None, 3, 5) if isinstance(ours.layer, core.Dense) else (None, 3, 8, 8, 2)
        theirs.build(shape)
        ours.build_from_shape(shape)
    expected, actual = theirs.get_config(), ours.get_config()
    assert list(actual) == list(expected)
    assert actual == expected


@pytest.mark.parametrize("make, shape", [
    (lambda K: K.layers.RepeatVector(0), None),
    (lambda K: K.layers.RepeatVector(2.0), None),
    (lambda K: K.layers.Permute((1, 3)), None),
    (lambda K: K.layers.Permute([2, 1, 2]), None),
    (lambda K: K.layers.TimeDistributed("dense"), None),
    (lambda K: K.layers.RepeatVector(2), (None, 3, 4)),
    (lambda K: K.layers.Permute((2, 1)), (None, 3, 4, 5)),
    (lambda K: K.layers.TimeDistributed(K.layers.Dense(2)), (None, 3)),
])
def test_error_texts_match_keras(keras, make, shape):
    def attempt(K):
        with pytest.raises((ValueError, TypeError)) as error:
            layer = make(K)
            if K is keras:
                layer(keras.Input(shape[1:]))
            else:
                layer.build_from_shape(shape)
        return error

    theirs, ours = attempt(keras), attempt(_Ours)
    assert ours.type is theirs.type
    assert str(ours.value) == str(theirs.value)


def test_summary_text_matches_keras(keras, capsys):
    texts = []
    for K in (keras, minikeras):
        L = _namespace(K, keras)
        model = K.Sequential([K.layers.Input((4, 5)), L.TimeDistributed(L.Dense(3)), L.Permute((2, 1)),
                              L.Masking()])
        capsys.readouterr()
        model.summary()
        texts.append(capsys.readouterr().out)
    assert texts[1] == texts[0]


def _train_side_by_side(keras, build, x, y, optimizer):
    reference, ours = twin(keras, build, lambda K: {"loss": "mse", "optimizer": optimizer(K)})
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    expected = reference.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    return ours


def _namespace(K, keras):
    return keras.layers if K is keras else _Ours.layers


def test_time_distributed_dense_model_trains_like_keras(keras):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 4, 3)).astype(np.float32)
    y = x.sum(axis=(1, 2))[:, None]

    def build(K):
        L = _namespace(K, keras)
        return K.Sequential([K.layers.Input((4, 3)), L.TimeDistributed(L.Dense(2)), K.layers.Flatten(),
                             K.layers.Dense(1)])

    ours = _train_side_by_side(keras, build, x, y, lambda K: K.optimizers.Adam(1e-2))
    assert ours.layers[0].input_grad_needed is False


def test_dense_on_rank_3_input_trains_like_keras(keras):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 4, 3)).astype(np.float32)
    y = np.tanh(x[:, :, 0]).mean(axis=1, keepdims=True)

    def build(K):
        return K.Sequential([K.layers.Input((4, 3)), K.layers.Dense(3), K.layers.Dense(5, activation="tanh"),
                             K.layers.Flatten(), K.layers.Dense(1)])

    _train_side_by_side(keras, build, x, y, lambda K: K.optimizers.SGD(0.05, momentum=0.9))


@pytest.mark.filterwarnings("ignore:Layer 'reshape' .* does not support masking")
def test_sequence_layers_train_like_keras(keras):
    """Masking, Permute, RepeatVector and TimeDistributed(Conv2D) inside one trained model (Reshape drops
    the mask in both libraries, with the same warning)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((32, 3, 4, 4, 1)).astype(np.float32)
    x[::3, 1] = 0.0
    y = x.mean(axis=(1, 2, 3))

    def build(K):
        L = _namespace(K, keras)
        return K.Sequential([K.layers.Input((3, 4, 4, 1)), L.Masking(),
                             L.TimeDistributed(L.Conv2D(2, 3, activation="relu")), K.layers.Reshape((3, 8)),
                             L.Permute((2, 1)), K.layers.Flatten(), L.Dense(4, activation="tanh"),
                             L.RepeatVector(2), L.Dense(1), K.layers.Flatten(), K.layers.Dense(1)])

    _train_side_by_side(keras, build, x, y, lambda K: K.optimizers.RMSprop(1e-2))


@pytest.mark.parametrize("wrapped", [False, True])
def test_per_timestep_softmax_output_trains_like_keras(keras, wrapped):
    """Sequence labelling: a softmax over the last axis of a (batch, T, classes) output, from Dense on the
    rank-3 input or from TimeDistributed(Dense) (whose stacked output Keras does not treat as logits)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 5, 3)).astype(np.float32)
    y = np.argmax(x, axis=-1)

    def build(K):
        L = _namespace(K, keras)
        head = L.Dense(3, activation="softmax")
        return K.Sequential([K.layers.Input((5, 3)), L.Dense(6, activation="relu"),
                             L.TimeDistributed(head) if wrapped else head])

    reference, ours = twin(keras, build, lambda K: {"loss": "sparse_categorical_crossentropy",
                                                    "optimizer": K.optimizers.Adam(1e-2), "metrics": ["accuracy"]})
    expected = reference.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)


def test_masks_match_keras_through_embedding_time_distributed_and_masking(keras):
    from minikeras.layers.embeddings import Embedding
    from tests.test_embeddings import MaskRecorder

    x = np.array([[3, 1, 0, 0], [2, 0, 5, 0]])
    embedded = keras.layers.Embedding(6, 3, mask_zero=True)(x)
    distributed = keras.layers.TimeDistributed(keras.layers.Dense(2))(embedded)
    after_td = MaskRecorder()
    ours = minikeras.Sequential([minikeras.layers.Input((4,)), Embedding(6, 3, mask_zero=True),
                                 TimeDistributed(core.Dense(2)), after_td])
    ours(x)
    np.testing.assert_array_equal(after_td.received_mask, np.asarray(distributed._keras_mask))
    features = np.zeros((2, 3, 2), np.float32)
    features[0, 1] = 1.0
    masked = keras.layers.Masking()(features)
    after_masking = MaskRecorder()
    minikeras.Sequential([minikeras.layers.Input((3, 2)), core.Masking(), after_masking])(features)
    np.testing.assert_array_equal(after_masking.received_mask, np.asarray(masked._keras_mask))

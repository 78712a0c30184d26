"""Embedding against real Keras: forward values, the weight gradient, masks, get_config, errors, and a
small text classifier trained side by side."""
import numpy as np
import pytest

from minikeras.layers.embeddings import Embedding
from tests.compat.test_training_compat import assert_same_history, assert_same_weights, twin


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4), (4,)])
def test_forward_and_weight_gradient_match_keras(keras, shape):
    import tensorflow as tf

    rng = np.random.default_rng(len(shape))
    indices = rng.integers(0, 7, shape)
    indices.flat[:3] = 2  # repeated indices: their gradients add up
    theirs = keras.layers.Embedding(7, 3, embeddings_initializer="glorot_uniform")
    theirs.build(shape)
    ours = Embedding(7, 3)
    ours(indices)
    ours.set_weights(theirs.get_weights())
    y = ours(indices)
    with tf.GradientTape() as tape:
        y_tf = theirs(indices)
        r = tf.constant(rng.standard_normal(y_tf.shape).astype(np.float32))
        objective = tf.reduce_sum(y_tf * r)
    expected_grad = tf.convert_to_tensor(tape.gradient(objective, theirs.embeddings))
    np.testing.assert_array_equal(y, y_tf.numpy())
    assert ours.backward(r.numpy()) is None
    np.testing.assert_allclose(ours.embeddings.grad, expected_grad.numpy(), rtol=1e-5, atol=1e-6)


def test_float_indices_are_truncated_like_keras(keras):
    x = np.array([[1.7, 2.2, -0.5, 4.99]], np.float32)
    theirs = keras.layers.Embedding(5, 2)
    theirs.build((None, 4))
    ours = Embedding(5, 2)
    ours.build((None, 4))
    ours.set_weights(theirs.get_weights())
    np.testing.assert_array_equal(ours(x), theirs(x).numpy())


def test_compute_mask_matches_keras(keras):
    x = np.array([[0, 3, 1, 0]])
    for mask_zero in (False, True):
        theirs = keras.layers.Embedding(4, 2, mask_zero=mask_zero)
        ours = Embedding(4, 2, mask_zero=mask_zero)
        expected = theirs.compute_mask(x, None)
        actual = ours.compute_mask(x, None)
        assert ours.supports_masking == theirs.supports_masking
        if expected is None:
            assert actual is None
        else:
            np.testing.assert_array_equal(actual, expected.numpy())


@pytest.mark.parametrize("kwargs", [
    {"input_dim": 10, "output_dim": 3},
    {"input_dim": 10, "output_dim": 3, "mask_zero": True, "embeddings_regularizer": "l2",
     "embeddings_constraint": "max_norm", "activity_regularizer": "l1", "embeddings_initializer": "he_normal"},
])
def test_config_matches_keras(keras, kwargs):
    expected = keras.layers.Embedding(**kwargs).get_config()
    actual = Embedding(**kwargs).get_config()
    assert list(actual) == list(expected)
    assert actual == expected


def test_error_texts_match_keras(keras):
    for args in [(0, 3), (3.0, 3), (True, 3), (3, -1)]:
        with pytest.raises(ValueError) as theirs:
            keras.layers.Embedding(*args)
        with pytest.raises(ValueError) as ours:
            Embedding(*args)
        assert str(ours.value) == str(theirs.value)


def test_out_of_range_index(keras):
    """Keras's TF gather fails (InvalidArgumentError) for an index >= input_dim and wraps negative ones
    (ops.take); minikeras raises a ValueError naming the layer, the index and input_dim for both."""
    import tensorflow as tf

    with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[0,1\] = 10 is not in \[0, 10\)"):
        keras.layers.Embedding(10, 2)(np.array([[1, 10]]))
    with pytest.raises(ValueError, match="Embedding layer 'embedding' received the index 10"):
        Embedding(10, 2)(np.array([[1, 10]]))


def _train_text_classifier(keras, x, y, optimizer, batch_size, int_input=False):
    def build(K):
        embedding = K.layers.Embedding if K is keras else Embedding
        return K.Sequential([K.layers.Input((6,), dtype="int32" if int_input else None), embedding(20, 4),
                             K.layers.Flatten(), K.layers.Dense(1, activation="sigmoid")])

    reference, ours = twin(keras, build, lambda K: {"loss": "binary_crossentropy", "optimizer": optimizer(K)})
    np.testing.assert_allclose(ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    expected = reference.fit(x, y, batch_size=batch_size, epochs=3, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=batch_size, epochs=3, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    assert ours.layers[0].input_grad_needed is False


@pytest.mark.parametrize("int_input", [True, False])
def test_text_classifier_trains_like_keras_with_adam(keras, int_input):
    """Adam with no index repeated within a batch (one sample of distinct indices per step)."""
    rng = np.random.default_rng(0)
    x = np.argsort(rng.random((24, 20)), axis=1)[:, :6]
    y = ((x[:, 0] + x[:, 3]) % 2).astype(np.float32)
    _train_text_classifier(keras, x, y, lambda K: K.optimizers.Adam(), batch_size=1, int_input=int_input)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "Nadam", "AdamW",
                                       "Adamax"])
def test_text_classifier_with_repeated_indices_trains_like_keras(keras, optimizer):
    """Repeated indices in a batch: Keras's TensorFlow backend hands the optimizer the gather's gradient as
    sparse slices, squared (Adamax: taken absolute) per lookup before repeats are summed; minikeras's
    Embedding reproduces that."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 20, (64, 6))
    y = ((x[:, 0] + x[:, 3]) % 2).astype(np.float32)
    rate = 0.5 if optimizer in ("SGD", "Adagrad", "Adadelta") else 0.01
    _train_text_classifier(keras, x, y, lambda K: getattr(K.optimizers, optimizer)(rate), batch_size=16)


def test_regularized_constrained_embedding_trains_like_keras(keras):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 12, (48, 5)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[x[:, 1].astype(int) % 3]

    def build(K):
        embedding = K.layers.Embedding if K is keras else Embedding
        return K.Sequential([K.layers.Input((5,)),
                             embedding(12, 3, embeddings_regularizer=K.regularizers.L2(1e-2),
                                       embeddings_constraint=K.constraints.MaxNorm(0.1, axis=1)),
                             K.layers.Flatten(), K.layers.Dense(3, activation="softmax")])

    reference, ours = twin(keras, build, lambda K: {"loss": "categorical_crossentropy",
                                                    "optimizer": K.optimizers.SGD(0.5, momentum=0.9)})
    expected = reference.fit(x, y, batch_size=12, epochs=3, shuffle=False, verbose=0)
    actual = ours.fit(x, y, batch_size=12, epochs=3, shuffle=False, verbose=0)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)


@pytest.mark.parametrize("optimizer", ["Adam", "Adamax", "Adadelta", "SGD"])
@pytest.mark.parametrize("dense_term", [False, True])
def test_an_embedding_shared_by_two_inputs_trains_like_keras(keras, optimizer, dense_term):
    """One Embedding called on two inputs: TensorFlow concatenates the two calls' sparse slices, so the
    per-lookup squares and absolute values run over both calls' lookups; with an L2 term the gradient is
    densified (summed first)."""
    import minikeras

    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 6, (16, 3)), rng.integers(0, 6, (16, 3))
    a[:, 0] = b[:, 1] = 2  # the same row looked up by both calls in every sample
    y = rng.standard_normal((16, 1)).astype(np.float32)

    def build(K):
        first, second = K.Input((3,)), K.Input((3,))
        embed = K.layers.Embedding(6, 4, embeddings_regularizer=K.regularizers.L2(0.01) if dense_term else None)
        joined = K.layers.Concatenate()([K.layers.Flatten()(embed(first)), K.layers.Flatten()(embed(second))])
        model = K.Model([first, second], K.layers.Dense(1)(joined))
        model.compile(optimizer=getattr(K.optimizers, optimizer)(0.05), loss="mse")
        return model

    reference, ours = build(keras), build(minikeras)
    ours.set_weights(reference.get_weights())
    for start in range(0, 16, 4):
        batch = [a[start:start + 4], b[start:start + 4]]
        reference.train_on_batch(batch, y[start:start + 4])
        ours.train_on_batch(batch, y[start:start + 4])
    for mine, theirs in zip(ours.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)

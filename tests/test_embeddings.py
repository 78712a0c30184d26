"""Embedding: the gather, its weight gradient against finite differences (float64), the segment sum,
index checks, masks through a Sequential, config and argument errors."""
import warnings

import numpy as np
import pytest

from minikeras import Sequential, layers
from minikeras.layers.embeddings import Embedding, segment_row_sums
from minikeras.layers.time_distributed import TimeDistributed
from tests.conftest import numerical_gradient


class MaskRecorder(layers.Layer):
    """Test-only: passes its input through and keeps the mask it was given."""

    supports_masking = True

    def call(self, inputs, training=False, mask=None):
        self.received_mask = mask
        return inputs


def test_forward_gathers_rows_and_truncates_float_indices_like_keras_cast():
    layer = Embedding(6, 3)
    layer.build((None, 2))
    table = layer.embeddings.value
    np.testing.assert_array_equal(layer(np.array([[1.7, 5.0], [-0.5, 2.2]])), table[[[1, 5], [0, 2]]])
    assert layer(np.zeros((2, 3, 4))).shape == (2, 3, 4, 3)
    assert layer.compute_output_shape((None, 3, 4)) == (None, 3, 4, 3)


@pytest.mark.parametrize("indices", [np.array([[0, 3, 3], [5, 3, 0]]), np.array([[[1, 1], [1, 1]], [[4, 2], [0, 1]]])])
def test_embeddings_gradient_matches_finite_differences(indices):
    layer = Embedding(6, 3, dtype="float64")
    y = layer(indices)
    r = np.random.default_rng(0).standard_normal(y.shape)
    layer.forward(indices.astype(np.float64))
    assert layer.backward(r) is None

    def objective(table):
        saved = layer.embeddings.value.copy()
        layer.embeddings.value[...] = table
        value = float(np.sum(layer.forward(indices.astype(np.float64)) * r))
        layer.embeddings.value[...] = saved
        return value

    np.testing.assert_allclose(layer.embeddings.grad, numerical_gradient(objective, layer.embeddings.value),
                               atol=1e-7)
    assert layer.embeddings.grad.dtype == np.float64


@pytest.mark.parametrize("vocabulary", [1, 7, 1000])
def test_segment_row_sums_equals_add_at(vocabulary):
    rng = np.random.default_rng(vocabulary)
    indices = rng.integers(0, vocabulary, 300)
    rows = rng.standard_normal((300, 5)).astype(np.float32)
    expected = np.zeros((vocabulary, 5), np.float32)
    np.add.at(expected, indices, rows)
    out = np.full((vocabulary, 5), 9.0, np.float32)
    np.testing.assert_allclose(segment_row_sums(indices, rows, out), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bad, shown", [(10, "10"), (-1, "-1"), (np.nan, "nan"), (np.inf, "inf")])
def test_indices_outside_the_vocabulary_raise_a_clear_error(bad, shown):
    layer = Embedding(10, 2, name="words")
    with pytest.raises(ValueError, match=rf"Embedding layer 'words' received the index {shown}(\.0)?, outside "
                                         r"\[0, 10\): its inputs must be integers from 0 to input_dim - 1 = 9\."):
        layer(np.array([[1.0, bad]]))


def test_compute_mask_and_supports_masking_follow_mask_zero():
    x = np.array([[0, 2, 0]])
    assert Embedding(4, 2).compute_mask(x, None) is None
    assert Embedding(4, 2).supports_masking is False
    masked = Embedding(4, 2, mask_zero=True)
    assert masked.supports_masking is True
    np.testing.assert_array_equal(masked.compute_mask(x, None), [[False, True, False]])


def test_mask_reaches_a_later_layer_through_masking_supporting_layers():
    x = np.array([[3, 1, 0, 0], [2, 0, 5, 0]], np.float32)
    recorder = MaskRecorder()
    model = Sequential([layers.Input((4,)), Embedding(6, 3, mask_zero=True), layers.Dense(2),
                        TimeDistributed(layers.Dense(2)), layers.Dropout(0.5), recorder])
    model(x)
    np.testing.assert_array_equal(recorder.received_mask, x != 0)
    plain = MaskRecorder()
    Sequential([layers.Input((4,)), Embedding(6, 3), plain])(x)
    assert plain.received_mask is None


def test_first_layer_of_a_sequential_skips_its_input_gradient_and_trains():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, (32, 6)).astype(np.float32)
    y = (x[:, 0] > 9).astype(np.float32)
    model = Sequential([layers.Input((6,)), Embedding(20, 4), layers.Flatten(), layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam")
    before = model.layers[0].get_weights()[0]
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert model.layers[0].input_grad_needed is False
    assert np.isfinite(history.history["loss"]).all()
    assert not np.allclose(model.layers[0].get_weights()[0], before)


def test_config_round_trip_and_weights_argument():
    layer = Embedding(5, 2, mask_zero=True, embeddings_regularizer="l2", name="emb")
    config = layer.get_config()
    assert list(config)[3:] == ["input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer",
                                "activity_regularizer", "embeddings_constraint", "mask_zero", "quantization_config"]
    assert Embedding.from_config(config).get_config() == config
    table = np.arange(10.0).reshape(5, 2)
    for weights in (table, [table]):
        preset = Embedding(5, 2, weights=weights)
        assert preset.built
        np.testing.assert_array_equal(preset.get_weights()[0], table)
        np.testing.assert_array_equal(preset(np.array([[4]]))[0, 0], [8.0, 9.0])
    with pytest.raises(ValueError, match=r"weight shape \(5, 2\) is not compatible with provided weight shape "
                                         r"\(3, 2\)"):
        Embedding(5, 2, weights=np.ones((3, 2)))


def test_argument_errors_and_input_length_warning():
    with pytest.raises(ValueError, match=r"^`input_dim` must be a positive integer. "
                                         r"Received: input_dim=3.0 \(of type float\).$"):
        Embedding(3.0, 2)
    with pytest.raises(ValueError, match=r"^`output_dim` must be a positive integer. "
                                         r"Received: output_dim=0 \(of type int\).$"):
        Embedding(3, 0)
    with pytest.raises(ValueError, match="no LoRA"):
        Embedding(3, 2, lora_rank=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Embedding(3, 2, input_length=7)
    assert [str(w.message) for w in caught] == ["Argument `input_length` is deprecated. Just remove it."]

"""Masking, RepeatVector, Permute, TimeDistributed and Dense on rank >= 3 inputs: backward passes against
finite differences (float64), shapes, masks, weights, configs and errors."""
import numpy as np
import pytest

from minikeras import Sequential, layers
from minikeras.layers.convolutional import Conv2D
from minikeras.layers.core import Dense, Masking, Permute, RepeatVector
from minikeras.layers.embeddings import Embedding
from minikeras.layers.time_distributed import TimeDistributed
from tests.conftest import numerical_gradient
from tests.test_embeddings import MaskRecorder
from tests.test_layers import check_layer_gradients

F64 = {"dtype": "float64"}


def sample(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("layer, shape", [
    (lambda: RepeatVector(3, **F64), (2, 4)),
    (lambda: Permute((2, 1), **F64), (2, 3, 4)),
    (lambda: Permute((3, 1, 2), **F64), (2, 4, 3, 5)),
    (lambda: Dense(3, activation="sigmoid", **F64), (2, 3, 2, 4)),
    (lambda: TimeDistributed(Dense(3, activation="tanh", **F64), **F64), (2, 4, 5)),
    (lambda: TimeDistributed(Dense(2, use_bias=False, **F64), **F64), (2, 3, 2, 4)),
    (lambda: TimeDistributed(Conv2D(2, 3, padding="same", activation="relu", **F64), **F64), (2, 3, 5, 4, 2)),
    (lambda: Masking(mask_value=7.0, **F64), (2, 4, 3)),
], ids=["repeat", "permute_2d", "permute_3d", "dense_rank_4", "td_dense", "td_dense_rank_4", "td_conv2d",
        "masking_nothing_masked"])
def test_gradients_match_finite_differences(layer, shape):
    check_layer_gradients(layer(), sample(shape))


def test_masking_zeroes_masked_timesteps_and_their_gradient():
    x = sample((2, 4, 3))
    x[0, 1] = 0.5
    x[1, 3] = 0.5
    x[1, 0, 0] = 0.5  # one feature equal to mask_value does not mask the timestep
    layer = Masking(0.5, **F64)
    y = layer(x)
    kept = np.array([[True, False, True, True], [True, True, True, False]])
    np.testing.assert_array_equal(y, x * kept[..., None])
    np.testing.assert_array_equal(layer.compute_mask(x, None), kept)
    r = sample(y.shape, 1)
    layer.forward(x)
    grad = layer.backward(r)
    np.testing.assert_array_equal(grad, r * kept[..., None])
    # Where a timestep is kept, the output is the identity of that input: its finite differences agree.
    expected = numerical_gradient(lambda value: float(np.sum(layer.forward(value) * r)), x)
    np.testing.assert_allclose(grad[kept], expected[kept], rtol=1e-6)


def test_masking_output_mask_ignores_the_incoming_mask_and_keeps_dtype():
    x = np.zeros((1, 2, 2), np.float32)
    x[0, 0, 1] = 3.0
    layer = Masking()
    assert layer(x).dtype == np.float32
    np.testing.assert_array_equal(layer.output_mask(x, np.array([[False, True]])), [[True, False]])


def test_shapes():
    assert RepeatVector(3).compute_output_shape((None, 5)) == (None, 3, 5)
    assert Permute((3, 1, 2)).compute_output_shape((None, 4, 3, 5)) == (None, 5, 4, 3)
    assert TimeDistributed(Dense(3)).compute_output_shape((None, 4, 5)) == (None, 4, 3)
    assert TimeDistributed(Conv2D(2, 3)).compute_output_shape((None, 4, 8, 8, 1)) == (None, 4, 6, 6, 2)
    assert Dense(5).compute_output_shape((None, 4, 3)) == (None, 4, 5)


@pytest.mark.parametrize("make, message", [
    (lambda: RepeatVector(0), r"^Argument `n` should be a positive integer. Received: n=0$"),
    (lambda: Permute((1, 3)), r"^Invalid permutation argument `dims` for Permute Layer. The set of indices in "
                              r"`dims` must be consecutive and start from 1. Received dims=\(1, 3\)$"),
    (lambda: Permute([0, 1]), r"Received dims=\[0, 1\]$"),
    (lambda: TimeDistributed(3), r"^Please initialize `TimeDistributed` layer with a `keras.layers.Layer` "
                                 r"instance. Received: 3$"),
])
def test_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_repeat_vector_rejects_a_float_count():
    with pytest.raises(TypeError, match=r"^Expected an integer value for `n`, got <class 'float'>.$"):
        RepeatVector(2.0)


@pytest.mark.parametrize("layer, shape, message", [
    (lambda: RepeatVector(2, name="rv"), (2, 3, 4), "layer 'rv' is incompatible with the layer: expected ndim=2, "
                                                    "found ndim=3. Full shape received: (2, 3, 4)"),
    (lambda: Permute((2, 1), name="pm"), (2, 3), "layer 'pm' is incompatible with the layer: expected ndim=3, "
                                                 "found ndim=2. Full shape received: (2, 3)"),
    (lambda: TimeDistributed(Dense(2)), (2, 3), "`TimeDistributed` Layer should be passed an `input_shape` with "
                                                "at least 3 dimensions, received: (2, 3)"),
])
def test_input_rank_errors(layer, shape, message):
    with pytest.raises(ValueError) as error:
        layer()(np.zeros(shape))
    assert message in str(error.value)


def test_time_distributed_uses_the_inner_layer_weights_and_folds_time_into_batch():
    inner = Dense(3)
    wrapper = TimeDistributed(inner)
    x = sample((2, 4, 5)).astype(np.float32)
    y = wrapper(x)
    assert wrapper.weights == inner.weights and len(wrapper.trainable_weights) == 2
    assert wrapper.count_params() == 18
    np.testing.assert_allclose(y, np.stack([inner(x[:, t]) for t in range(4)], axis=1), rtol=1e-6)
    wrapper.trainable = False
    assert wrapper.trainable_weights == [] and len(wrapper.non_trainable_weights) == 2 and not inner.trainable
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 5"):
        wrapper(np.zeros((2, 4, 6)))


def test_time_distributed_first_in_a_sequential_skips_its_input_gradient():
    model = Sequential([layers.Input((4, 3)), TimeDistributed(Dense(2)), layers.Flatten(), Dense(1)])
    wrapper = model.layers[0]
    assert wrapper.input_grad_needed is False and wrapper.layer.input_grad_needed is False
    model.compile(loss="mse", optimizer="sgd")
    model.fit(sample((8, 4, 3)), sample((8, 1)), epochs=1, verbose=0)
    assert wrapper.layer.kernel.grad is not None


def test_time_distributed_passes_the_folded_mask_to_the_inner_layer_and_on():
    x = np.array([[1, 2, 0], [4, 0, 0]], np.float32)
    inner = MaskRecorder()
    after = MaskRecorder()
    model = Sequential([layers.Input((3,)), Embedding(5, 2, mask_zero=True), TimeDistributed(inner), after])
    model(x)
    np.testing.assert_array_equal(inner.received_mask, (x != 0).reshape(-1))
    np.testing.assert_array_equal(after.received_mask, x != 0)


def test_time_distributed_config_round_trip():
    wrapper = TimeDistributed(Dense(3, activation="relu", name="inner"), name="td")
    wrapper.build((None, 4, 5))
    config = wrapper.get_config()
    assert list(config) == ["name", "trainable", "dtype", "layer"]
    assert config["layer"]["class_name"] == "Dense"
    assert config["layer"]["build_config"] == {"input_shape": (None, 5)}
    rebuilt = TimeDistributed.from_config(config)
    assert rebuilt.layer.get_config() == wrapper.layer.get_config()
    assert rebuilt.name == "td"


def test_configs():
    assert Masking(-1.0).get_config()["mask_value"] == -1.0
    assert RepeatVector(3).get_config()["n"] == 3
    assert Permute([2, 1]).get_config()["dims"] == (2, 1)
    for layer in (Masking(2.0), RepeatVector(3), Permute((2, 1))):
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()

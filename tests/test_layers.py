"""Core layers: forward values, backward passes against finite differences (float64), configs, errors."""
import numpy as np
import pytest

from minikeras import layers
from tests.conftest import numerical_gradient


def check_layer_gradients(layer, x, training=False, atol=1e-6):
    """backward() against central differences of sum(layer(x) * r), for x and every trainable weight."""
    rng = np.random.default_rng(0)
    y = layer(x, training=training)
    r = rng.standard_normal(y.shape)

    def objective(_):
        return float(np.sum(layer.forward(x, training=training) * r))

    layer.forward(x, training=training)
    grad_x = layer.backward(r)
    expected_x = numerical_gradient(lambda value: float(np.sum(layer.forward(value, training=training) * r)), x)
    np.testing.assert_allclose(grad_x, expected_x, atol=atol, rtol=1e-5)
    for variable in layer.trainable_weights:
        layer.forward(x, training=training)
        layer.backward(r)
        analytic = variable.grad.copy()

        def with_value(value, variable=variable):
            saved = variable.value.copy()
            variable.value[...] = value
            result = objective(None)
            variable.value[...] = saved
            return result

        np.testing.assert_allclose(analytic, numerical_gradient(with_value, variable.value), atol=atol, rtol=1e-5)


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus",
                                        "gelu", "swish", "leaky_relu"])
def test_dense_gradients_for_each_activation(activation):
    layer = layers.Dense(4, activation=activation, dtype="float64")
    x = np.random.default_rng(1).standard_normal((5, 3)) + 0.1
    check_layer_gradients(layer, x)


def test_dense_gradients_without_bias_and_on_rank_3_inputs():
    check_layer_gradients(layers.Dense(3, use_bias=False, dtype="float64"),
                          np.random.default_rng(2).standard_normal((4, 2)))
    check_layer_gradients(layers.Dense(3, activation="tanh", dtype="float64"),
                          np.random.default_rng(3).standard_normal((2, 5, 4)))


def test_dense_logits_gradient_skips_the_activation():
    layer = layers.Dense(3, activation="softmax", dtype="float64")
    x = np.random.default_rng(4).standard_normal((6, 2))
    layer(x)
    grad_logits = np.random.default_rng(5).standard_normal((6, 3))
    dx = layer.backward(grad_logits, grad_is_logits=True)
    np.testing.assert_allclose(dx, grad_logits @ layer.kernel.value.T)
    np.testing.assert_allclose(layer.kernel.grad, x.T @ grad_logits)


def test_dense_forward_is_x_kernel_plus_bias():
    layer = layers.Dense(2, activation="relu", bias_initializer="ones")
    x = np.array([[1.0, -2.0, 3.0]], dtype=np.float32)
    output = layer(x)
    np.testing.assert_allclose(output, np.maximum(x @ layer.kernel.value + 1.0, 0), rtol=1e-6)
    assert output.dtype == np.float32
    assert [w.shape for w in layer.get_weights()] == [(3, 2), (2,)]


def test_dense_frozen_layer_computes_no_weight_gradients():
    layer = layers.Dense(2, dtype="float64")
    layer.trainable = False
    layer(np.ones((3, 4)))
    layer.backward(np.ones((3, 2)))
    assert layer.kernel.grad is None and layer.trainable_weights == []
    assert len(layer.non_trainable_weights) == 2


@pytest.mark.parametrize("units", [0, -1, 2.5, "a", True])
def test_dense_rejects_bad_units(units):
    with pytest.raises(ValueError, match=r"Received an invalid value for `units`, expected a positive integer"):
        layers.Dense(units)


def test_dense_rejects_unknown_keyword():
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to Dense: {'unitz': 3}"):
        layers.Dense(2, unitz=3)


def test_dense_wrong_feature_count_names_layer_and_shapes():
    layer = layers.Dense(2)
    layer(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 3, but received input "
                                         r"with shape \(1, 5\)"):
        layer(np.ones((1, 5)))


def test_dense_config_matches_keras_keys():
    config = layers.Dense(3, activation="relu").get_config()
    assert list(config) == ["name", "trainable", "dtype", "units", "activation", "use_bias", "kernel_initializer",
                            "bias_initializer", "kernel_regularizer", "bias_regularizer", "kernel_constraint",
                            "bias_constraint", "quantization_config"]
    assert config["activation"] == "relu"
    assert config["dtype"]["config"] == {"name": "float32"}
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    clone = layers.Dense.from_config(config)
    assert clone.get_config() == config


def test_dropout_is_identity_at_inference_and_scaled_in_training():
    layer = layers.Dropout(0.5, seed=3)
    x = np.ones((200, 50), dtype=np.float32)
    np.testing.assert_array_equal(layer(x), x)
    y = layer(x, training=True)
    assert set(np.unique(y)) == {0.0, 2.0}
    assert abs((y == 0).mean() - 0.5) < 0.02


def test_dropout_backward_uses_the_same_mask():
    layer = layers.Dropout(0.25, seed=1, dtype="float64")
    x = np.random.default_rng(0).standard_normal((10, 6))
    y = layer(x, training=True)
    grad = layer.backward(np.ones_like(x))
    np.testing.assert_allclose(grad * x, y)
    np.testing.assert_allclose(np.unique(grad), [0.0, 1 / 0.75])


def test_dropout_seed_is_reproducible_and_noise_shape_shares_the_mask():
    a = layers.Dropout(0.5, seed=7)(np.ones((4, 8)), training=True)
    b = layers.Dropout(0.5, seed=7)(np.ones((4, 8)), training=True)
    np.testing.assert_array_equal(a, b)
    shared = layers.Dropout(0.5, noise_shape=(None, 1), seed=2)(np.ones((6, 5)), training=True)
    assert all(len(set(row)) == 1 for row in shared)


@pytest.mark.parametrize("rate", [1.5, -0.1, "x"])
def test_dropout_rejects_bad_rate(rate):
    with pytest.raises(ValueError, match="Invalid value received for argument `rate`. Expected a float value between"):
        layers.Dropout(rate)


def test_flatten_and_reshape_round_trip_gradients():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    check_layer_gradients(layers.Flatten(dtype="float64"), x)
    check_layer_gradients(layers.Reshape((-1, 2), dtype="float64"), x)
    assert layers.Reshape((-1, 2))(x).shape == (2, 6, 2)
    assert layers.Flatten()(x).shape == (2, 12)


def test_reshape_rejects_a_size_change():
    with pytest.raises(ValueError, match=r"The total size of the tensor must be unchanged. Received: "
                                         r"input_shape=\(6,\), target_shape=\(5,\)"):
        layers.Reshape((5,))(np.ones((2, 6)))


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "softmax", "tanh"])
def test_activation_layer_gradients(activation):
    check_layer_gradients(layers.Activation(activation, dtype="float64"),
                          np.random.default_rng(6).standard_normal((3, 4)) + 0.05)


def test_activity_regularizer_adds_its_loss_and_gradient():
    layer = layers.Dense(2, activity_regularizer="l2", dtype="float64")
    x = np.random.default_rng(7).standard_normal((4, 3))
    y = layer(x)
    np.testing.assert_allclose(layer.losses[0], 0.01 * np.sum(y ** 2) / 4)
    grad = layer.backward_pass(np.zeros_like(y))
    np.testing.assert_allclose(grad, (0.01 * 2 * y / 4) @ layer.kernel.value.T)


def test_layer_names_count_per_class():
    assert [layers.Dense(1).name, layers.Dense(1).name, layers.Dropout(0.1).name] == ["dense", "dense_1", "dropout"]


def test_input_shape_argument_warns_like_keras():
    with pytest.warns(UserWarning, match="Do not pass an `input_shape`/`input_dim` argument to a layer"):
        layers.Dense(2, input_shape=(3,))


def test_dense_refuses_lora_and_quantization():
    with pytest.raises(ValueError, match="no LoRA or quantization"):
        layers.Dense(2, lora_rank=4)


@pytest.mark.parametrize("make_layer, weight", [(lambda: layers.Dense(10**12), "kernel"),
                                                (lambda: layers.LSTM(10**6), "recurrent_kernel")])
def test_a_weight_larger_than_the_machines_memory_is_refused_before_anything_is_drawn(make_layer, weight):
    layer = make_layer()
    with pytest.raises(ValueError, match=rf"Layer '{layer.name}' cannot create its weight '{weight}' of shape .*"
                                         r"more than this machine's memory"):
        layer(np.zeros((1, 3, 4), np.float32))
    assert layer.weights == []


def test_flatten_channels_first_moves_channels_last_before_flattening_as_keras_does():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    layer = layers.Flatten(data_format="channels_first")
    np.testing.assert_array_equal(layer(x), np.moveaxis(x, 1, -1).reshape(2, -1))
    dy = np.random.default_rng(0).standard_normal((2, 60))
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(dy), np.moveaxis(dy.reshape(2, 4, 5, 3), -1, 1))

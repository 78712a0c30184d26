"""BatchNormalization and LayerNormalization: finite-difference gradients (float64) for every option,
the moving statistics, inference mode, frozen layers inside fit, shapes, configs and errors."""
import numpy as np
import pytest

import minikeras
from minikeras.layers.normalization import BatchNormalization, LayerNormalization
from tests.conftest import numerical_gradient
from tests.test_layers import check_layer_gradients


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape) * 2.0 + 0.5


def _randomize_weights(layer, seed=1):
    """Non-trivial gamma/beta/moving statistics, so every term of the gradients is exercised."""
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        value = rng.uniform(0.5, 1.5, variable.shape)
        variable.assign(value if "variance" in variable.name or variable.name == "gamma" else value - 1.0)


BATCH_CASES = [
    ((6, 4), {}),
    ((6, 4), {"center": False}),
    ((6, 4), {"scale": False}),
    ((6, 4), {"center": False, "scale": False}),
    ((3, 4, 5, 2), {}),
    ((3, 4, 5, 2), {"axis": 1, "epsilon": 0.1}),
    ((4, 3, 5), {"axis": -2, "scale": False}),
]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape, kwargs", BATCH_CASES)
def test_batch_normalization_gradients(shape, kwargs, training):
    layer = BatchNormalization(dtype="float64", **kwargs)
    x = _data(shape)
    layer(x)
    _randomize_weights(layer)
    check_layer_gradients(layer, x, training=training)


LAYER_CASES = [
    ((5, 4), {}),
    ((5, 4), {"center": False}),
    ((5, 4), {"scale": False, "epsilon": 0.1}),
    ((5, 4), {"center": False, "scale": False}),
    ((3, 4, 5, 2), {}),
    ((3, 4, 5, 2), {"axis": [1, 2]}),
    ((3, 4, 5, 2), {"axis": (-1, 1)}),
    ((3, 4, 5), {"axis": 1}),
    ((5, 4), {"rms_scaling": True}),
    ((3, 4, 5), {"rms_scaling": True, "axis": [1, 2]}),
]


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape, kwargs", LAYER_CASES)
def test_layer_normalization_gradients(shape, kwargs, training):
    layer = LayerNormalization(dtype="float64", **kwargs)
    x = _data(shape)
    layer(x)
    _randomize_weights(layer)
    check_layer_gradients(layer, x, training=training)


def test_batch_normalization_training_statistics_and_moving_update():
    layer = BatchNormalization(momentum=0.9, epsilon=0.01, dtype="float64")
    x = _data((8, 3, 3, 2))
    y = layer(x, training=True)
    mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(variance + 0.01), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.moving_mean.value, 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(layer.moving_variance.value, 0.9 + 0.1 * variance, rtol=1e-12)
    moving = [v.numpy() for v in (layer.moving_mean, layer.moving_variance)]
    y = layer(x, training=False)
    np.testing.assert_allclose(y, (x - moving[0]) / np.sqrt(moving[1] + 0.01), rtol=1e-12)
    np.testing.assert_array_equal(layer.moving_mean.value, moving[0])


def test_frozen_batch_normalization_runs_in_inference_mode():
    layer = BatchNormalization(dtype="float64")
    x = _data((6, 3))
    layer(x)
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4
    y = layer(x, training=True)
    np.testing.assert_allclose(y, x / np.sqrt(1.001))
    np.testing.assert_array_equal(layer.moving_mean.value, 0.0)


def test_variance_has_no_cancellation_on_large_offsets():
    x = (np.random.default_rng(3).standard_normal((64, 3)) + 1e4).astype(np.float32)
    y = BatchNormalization(epsilon=1e-6)(x, training=True)
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=2e-3)
    y = LayerNormalization(epsilon=1e-6)(x.T)
    np.testing.assert_allclose(y.std(axis=1), 1.0, rtol=2e-3)


def test_float32_stays_float32_and_float64_stays_float64():
    for layer_class in (BatchNormalization, LayerNormalization):
        assert layer_class()(_data((4, 3)), training=True).dtype == np.float32
        layer = layer_class(dtype="float64")
        assert layer(_data((4, 3)), training=True).dtype == np.float64
        assert all(w.dtype == np.float64 for w in layer.weights)


def test_weights_names_and_order():
    layer = BatchNormalization()
    layer.build_from_shape((None, 3))
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.trainable for w in layer.weights] == [True, True, False, False]
    layer = BatchNormalization(scale=False)
    layer.build_from_shape((None, 3))
    assert [w.name for w in layer.weights] == ["beta", "moving_mean", "moving_variance"]
    layer = LayerNormalization(axis=[2, 1])
    layer.build_from_shape((None, 3, 4, 5))
    assert [(w.name, w.shape) for w in layer.weights] == [("gamma", (3, 4)), ("beta", (3, 4))]
    assert layer.get_config()["axis"] == [1, 2]


def test_shape_errors():
    layer = BatchNormalization()
    layer(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected ndim=2, found ndim=3"):
        layer(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"Axis 3 is out of bounds for input shape \(2, 3\)"):
        BatchNormalization(axis=3)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Axis -3 is out of bounds"):
        LayerNormalization(axis=[1, -3])(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="Expected an int or a list/tuple of ints for the argument 'axis'"):
        LayerNormalization(axis=1.5)
    with pytest.raises(ValueError, match="no batch renormalization"):
        BatchNormalization(renorm=True)


def test_config_round_trip():
    layer = BatchNormalization(axis=1, momentum=0.9, center=False, gamma_regularizer="l2")
    assert BatchNormalization.from_config(layer.get_config()).get_config() == layer.get_config()
    layer = LayerNormalization(axis=[1, 2], epsilon=1e-5, beta_constraint="non_neg")
    assert LayerNormalization.from_config(layer.get_config()).get_config() == layer.get_config()


def test_batch_normalization_in_a_model_updates_moving_statistics_only_in_fit():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((32, 4)), rng.standard_normal((32, 1))
    model = minikeras.Sequential([minikeras.layers.Input((4,)), minikeras.layers.Dense(5),
                                  BatchNormalization(), minikeras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    batch_norm = model.layers[1]
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    np.testing.assert_array_equal(batch_norm.moving_mean.value, 0.0)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert not np.allclose(batch_norm.moving_mean.value, 0.0)
    assert batch_norm.gamma.grad is not None


def test_masked_batch_normalization_gradients_and_statistics():
    layer = BatchNormalization(dtype="float64", momentum=0.5)
    x = _data((3, 5, 2))
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    layer(x)
    _randomize_weights(layer)
    moving_mean = layer.moving_mean.numpy()
    r = np.random.default_rng(5).standard_normal(x.shape)

    def objective(value):
        return float(np.sum(layer.forward(value, training=True, mask=mask) * r))

    y = layer.forward(x, training=True, mask=mask)
    kept = x[mask]
    expected = (x - kept.mean(axis=0)) / np.sqrt(kept.var(axis=0) + 1e-3)
    np.testing.assert_allclose(y, layer.gamma.value * expected + layer.beta.value, rtol=1e-6)
    np.testing.assert_allclose(layer.moving_mean.value, 0.5 * moving_mean + 0.5 * kept.mean(axis=0), rtol=1e-6)
    grad_x = layer.backward(r)
    np.testing.assert_allclose(grad_x, numerical_gradient(objective, x), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="The mask provided should be one dimension less than the inputs"):
        layer.forward(x, training=True, mask=mask[0])


def test_first_layer_batch_normalization_skips_its_input_gradient():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((16, 3)) * 4 + 2, rng.standard_normal((16, 1))
    model = minikeras.Sequential([minikeras.layers.Input((3,)), LayerNormalization(), BatchNormalization(),
                                  minikeras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="adam")
    assert [layer.input_grad_needed for layer in model.layers] == [False, True, True]
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.layers[0].gamma.grad is not None

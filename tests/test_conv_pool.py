"""Conv2D followed by MaxPooling2D, run as one step (`ConvMaxPool`): chosen where it applies, and it computes
what the two layers compute one after the other (forward, every gradient, training)."""
import numpy as np
import pytest

import minikeras
from minikeras import layers
from minikeras.layers.conv_pool import ConvMaxPool
from minikeras.models import sequential
from tests.test_layers import check_layer_gradients

# (input shape, Conv2D arguments, MaxPooling2D arguments)
CASES = {
    "course": ((28, 28, 1), {"filters": 16, "kernel_size": 5, "activation": "relu"}, {}),
    "same_uneven_pool": ((6, 9, 2), {"filters": 8, "kernel_size": (3, 2), "padding": "same", "activation": "relu"},
                         {"pool_size": (2, 3)}),
    "linear_no_bias_pool3": ((9, 9, 1), {"filters": 4, "kernel_size": 4, "use_bias": False}, {"pool_size": 3}),
    "pool_same_padding": ((7, 7, 1), {"filters": 5, "kernel_size": 2, "activation": "relu"},
                          {"pool_size": 2, "padding": "same"}),
    "three_channels": ((8, 6, 3), {"filters": 12, "kernel_size": 3, "padding": "same", "activation": "relu"},
                       {"pool_size": (4, 2)}),
}


def model_for(case, dtype="float32", head=True):
    shape, conv, pool = CASES[case]
    stack = [layers.Input(shape), layers.Conv2D(dtype=dtype, bias_initializer="glorot_uniform", **conv),
             layers.MaxPooling2D(dtype=dtype, **pool)]
    if head:
        stack += [layers.Flatten(dtype=dtype), layers.Dense(3, activation="softmax", dtype=dtype)]
    return minikeras.Sequential(stack)


def data(model, rows, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows,) + model.input_shape[1:]).astype(model.layers[0].dtype)
    return x, np.eye(3, dtype=np.float32)[rng.integers(0, 3, rows)]


def without_fusion(monkeypatch, model):
    monkeypatch.setattr(sequential, "fusable", lambda *args: False)
    model._steps_key = None


def steps(model, x):
    model.predict(x, verbose=0)
    return model._steps


def test_the_course_cnn_runs_both_pairs_its_own_way():
    model = minikeras.Sequential([
        layers.Input((28, 28, 1)), layers.Conv2D(16, 5, activation="relu"), layers.MaxPool2D(2),
        layers.Conv2D(8, 4, padding="same", activation="relu"), layers.MaxPool2D(2), layers.Flatten(),
        layers.Dense(10, activation="softmax")])
    first, *rest = steps(model, np.zeros((2, 28, 28, 1), np.float32))
    assert isinstance(first, ConvMaxPool) and first.conv is model.layers[0] and first.pool is model.layers[1]
    # 16 input channels for 8 filters: the second convolution keeps its own layout, so no fusion
    assert rest == model.layers[2:]


@pytest.mark.parametrize("conv, pool, shape", [
    (layers.Conv2D(8, 3, strides=2), layers.MaxPooling2D(), (9, 9, 1)),
    (layers.Conv2D(8, 3, dilation_rate=2), layers.MaxPooling2D(), (9, 9, 1)),
    (layers.Conv2D(8, 3, activation="sigmoid"), layers.MaxPooling2D(), (8, 8, 1)),
    (layers.Conv2D(8, 3, activity_regularizer="l2"), layers.MaxPooling2D(), (8, 8, 1)),
    (layers.Conv2D(8, 3), layers.MaxPooling2D(activity_regularizer="l2"), (8, 8, 1)),
    (layers.Conv2D(8, 3), layers.MaxPooling2D(2, strides=1), (8, 8, 1)),
    (layers.Conv2D(8, 3), layers.MaxPooling2D(2), (9, 9, 1)),  # a 7x7 output is not tiled by 2x2 windows
    (layers.Conv2D(8, 3), layers.MaxPooling2D(2), (8, 8, 3)),  # 4 * 3 channels > 8 filters
    (layers.Conv2D(8, 3), layers.AveragePooling2D(2), (8, 8, 1)),
    (layers.Conv2D(8, 3, groups=1), layers.Dropout(0.1), (8, 8, 1)),
])
def test_pairs_it_does_not_apply_to_run_layer_by_layer(conv, pool, shape):
    model = minikeras.Sequential([layers.Input(shape), conv, pool, layers.Flatten(), layers.Dense(2)])
    assert steps(model, np.zeros((2,) + shape, np.float32)) == model.layers


@pytest.mark.filterwarnings("ignore:Layer 'conv2d' .* was passed an input with a mask")
def test_a_conv2d_subclass_or_a_mask_from_below_keeps_the_layers_apart():
    class MyConv(layers.Conv2D):
        pass

    model = minikeras.Sequential([layers.Input((8, 8, 1)), MyConv(8, 3), layers.MaxPooling2D(), layers.Flatten()])
    assert steps(model, np.zeros((2, 8, 8, 1), np.float32)) == model.layers
    model = minikeras.Sequential([layers.Input((8, 8, 1)), layers.Masking(), layers.Conv2D(8, 3),
                                  layers.MaxPooling2D(), layers.Flatten()])
    assert steps(model, np.zeros((2, 8, 8, 1), np.float32)) == model.layers


@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_gradients_match_finite_differences(case):
    """float64, the input gradient included (the convolution's col2im, from the plane order back)."""
    model = model_for(case, "float64", head=False)
    model._mark_input_grads(True)
    x = np.random.default_rng(1).standard_normal((2,) + model.input_shape[1:])
    check_layer_gradients(model, x)
    assert isinstance(model._steps[0], ConvMaxPool)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_and_layer_by_layer_agree(monkeypatch, case):
    model = model_for(case)
    model._mark_input_grads(True)
    x, _ = data(model, 5)
    results = []
    for fused in (True, False):
        if not fused:
            without_fusion(monkeypatch, model)
        y = model.forward(x, training=True)
        dy = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
        dx = model.backward(dy)
        assert isinstance(model._steps[0], ConvMaxPool) == fused
        results.append((y, dx, [w.grad.copy() for w in model.trainable_weights]))
    (y, dx, grads), (y_plain, dx_plain, grads_plain) = results
    np.testing.assert_array_equal(y, y_plain)
    np.testing.assert_allclose(dx, dx_plain, rtol=1e-5, atol=1e-6)
    for grad, expected in zip(grads, grads_plain):
        np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5)


def test_ties_in_a_window_route_the_gradient_like_the_layers_do(monkeypatch):
    """Exact ties (here from a zero kernel and bias) and windows whose max is not positive."""
    model = model_for("course", head=False)
    model.layers[0].kernel.value[..., :8] = 0
    x, _ = data(model, 3)
    x[0] = 0
    results = []
    for fused in (True, False):
        if not fused:
            without_fusion(monkeypatch, model)
        y = model.forward(x, training=True)
        model.backward(np.ones_like(y))
        results.append((y, [w.grad.copy() for w in model.trainable_weights]))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    for grad, expected in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-4)


def test_training_and_inference_match_layer_by_layer(monkeypatch):
    histories, weights, predictions = [], [], []
    for fused in (True, False):
        minikeras.backend.clear_session()
        minikeras.utils.set_random_seed(3)
        model = model_for("same_uneven_pool")
        if not fused:
            without_fusion(monkeypatch, model)
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        x, y = data(model, 60)
        histories.append(model.fit(x, y, batch_size=16, epochs=3, validation_split=0.2, verbose=0).history)
        weights.append(model.get_weights())
        predictions.append(model.predict(x, verbose=0))
        assert isinstance(model._steps[0], ConvMaxPool) == fused
    for key in histories[0]:
        np.testing.assert_allclose(histories[0][key], histories[1][key], rtol=1e-5)
    for ours, theirs in zip(*weights):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(*predictions, rtol=1e-5, atol=1e-6)


def test_the_plan_follows_the_input_shape_and_the_layers():
    model = model_for("course", head=False)
    assert isinstance(steps(model, np.zeros((2, 28, 28, 1), np.float32))[0], ConvMaxPool)
    model.add(layers.Flatten())
    assert steps(model, np.zeros((2, 28, 28, 1), np.float32))[-1] is model.layers[-1]
    flexible = minikeras.Sequential([layers.Input((None, None, 1)), layers.Conv2D(4, 3), layers.MaxPooling2D()])
    assert isinstance(steps(flexible, np.zeros((1, 6, 6, 1), np.float32))[0], ConvMaxPool)
    assert steps(flexible, np.zeros((1, 7, 7, 1), np.float32)) == flexible.layers
    assert flexible.predict(np.ones((1, 7, 7, 1), np.float32), verbose=0).shape == (1, 2, 2, 4)

"""The Functional API: graphs of layer calls, their forward/backward passes, training with several inputs
and outputs, subclassed models, summaries, configs and graph errors."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import backend, layers
from tests.conftest import numerical_gradient


@pytest.fixture
def float64(monkeypatch):
    monkeypatch.setattr(backend, "_FLOATX", "float64")


def _graph_model():
    """Two inputs, a shared Dense, a merge, a nested Sequential and two outputs."""
    a = keras.Input((4,), name="a")
    b = keras.Input((3,), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    h1 = shared(layers.Dense(4, name="pre")(a))
    h2 = shared(h1)
    joined = layers.Concatenate(name="join")([layers.Add(name="sum")([h1, h2]), b])
    inner = keras.Sequential([layers.Dense(5, activation="sigmoid"), layers.Dense(2)], name="inner")
    out1 = layers.Dense(1, name="reg")(inner(joined))
    out2 = layers.Dense(3, activation="softmax", name="cls")(layers.Multiply(name="gate")([joined, joined]))
    return keras.Model([a, b], [out1, out2])


def test_backward_matches_finite_differences_through_shared_merged_and_nested_layers(float64):
    model = _graph_model()
    rng = np.random.default_rng(0)
    xa, xb = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    r1, r2 = rng.standard_normal((5, 1)), rng.standard_normal((5, 3))
    for layer in model.layers:
        if hasattr(layer, "input_grad_needed"):
            layer.input_grad_needed = True  # training skips the model inputs' gradients; this test wants them

    def objective():
        out1, out2 = model._forward([xa, xb], training=False)
        return float(np.sum(out1 * r1) + np.sum(out2 * r2))

    model._forward([xa, xb], training=False)
    grad_a, grad_b = model._backward([r1, r2])
    for array, analytic in ((xa, grad_a), (xb, grad_b)):
        def at(value, array=array):
            saved = array.copy()
            array[...] = value
            result = objective()
            array[...] = saved
            return result
        np.testing.assert_allclose(analytic, numerical_gradient(at, array), rtol=1e-5, atol=1e-7)
    model._forward([xa, xb], training=False)
    model._backward([r1, r2])
    analytic = {v.path: v.grad.copy() for v in model.trainable_weights}
    assert len(analytic) == len(model.trainable_weights) == 12
    for variable in model.trainable_weights:
        def at(value, variable=variable):
            saved = variable.value.copy()
            variable.value[...] = value
            result = objective()
            variable.value[...] = saved
            return result
        np.testing.assert_allclose(analytic[variable.path], numerical_gradient(at, variable.value), rtol=1e-5,
                                   atol=1e-7, err_msg=variable.path)


def test_an_output_without_gradient_leaves_zero_weight_gradients(float64):
    model = _graph_model()
    rng = np.random.default_rng(1)
    model._forward([rng.standard_normal((2, 4)), rng.standard_normal((2, 3))], training=False)
    model._backward([np.ones((2, 1)), None])
    assert not np.any(model.get_layer("cls").kernel.grad)
    assert np.any(model.get_layer("reg").kernel.grad)


def test_layer_order_names_and_weights():
    model = _graph_model()
    assert [layer.name for layer in model.layers] == ["a", "pre", "shared", "sum", "b", "join", "inner", "gate",
                                                      "reg", "cls"]
    assert model.input_names == ["a", "b"] and model.output_names == ["reg", "cls"]
    assert model.output_shape == [(None, 1), (None, 3)]
    assert model.get_layer("inner").weights[0].path == "inner/dense/kernel" or "inner/" in model.get_layer(
        "inner").weights[0].path
    assert model.get_layer("pre").kernel.path == "pre/kernel"
    assert isinstance(model, keras.Model)


def test_training_with_two_inputs_and_two_outputs_logs_per_output():
    model = _graph_model()
    rng = np.random.default_rng(2)
    xa, xb = rng.random((30, 4)), rng.random((30, 3))
    y1, y2 = rng.random((30, 1)), rng.integers(0, 3, 30)
    model.compile("adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"}, loss_weights=[1.0, 0.5],
                  metrics={"cls": ["accuracy"], "reg": ["mae"]})
    history = model.fit({"a": xa, "b": xb}, [y1, y2], epochs=3, batch_size=8, verbose=0, validation_split=0.2)
    assert sorted(history.history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae", "val_cls_accuracy",
                                       "val_cls_loss", "val_loss", "val_reg_loss", "val_reg_mae"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    logs = model.evaluate([xa, xb], [y1, y2], batch_size=30, verbose=0, return_dict=True)
    out1, out2 = model.predict([xa, xb], verbose=0)
    assert logs["reg_loss"] == pytest.approx(np.mean((out1 - y1) ** 2), rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["reg_loss"] + 0.5 * logs["cls_loss"], rel=1e-5)
    assert out2.shape == (30, 3)
    flat = model.evaluate([xa, xb], [y1, y2], batch_size=30, verbose=0)
    assert flat[:3] == pytest.approx([logs["loss"], logs["reg_loss"], logs["cls_loss"]])


def test_per_output_arguments_are_checked():
    model = _graph_model()
    rng = np.random.default_rng(3)
    data = ([rng.random((4, 4)), rng.random((4, 3))], [rng.random((4, 1)), rng.integers(0, 3, 4)])
    with pytest.raises(ValueError, match=r"one entry per output \(2\). Received 1"):
        model.compile("sgd", loss=["mse"])
    model.compile("sgd", loss={"cls": "mse"})
    with pytest.raises(ValueError, match="Expected keys"):
        model.fit(*data, verbose=0)
    model.compile("sgd", loss=["mse", "sparse_categorical_crossentropy"], metrics=["mae"])
    with pytest.raises(ValueError, match="one list per output"):
        model.fit(*data, verbose=0)
    with pytest.raises(ValueError, match="Unknown output name"):
        model.compile("sgd", loss={"nope": "mse", "reg": "mse"})
        model.fit(*data, verbose=0)
    with pytest.raises(ValueError, match="Model expects 2 input"):
        model.predict(rng.random((4, 4)), verbose=0)


def test_functional_model_equals_the_sequential_it_mirrors():
    rng = np.random.default_rng(4)
    x, y = rng.random((40, 3)), rng.random((40, 2))
    keras.utils.set_random_seed(7)
    inputs = keras.Input((3,))
    outputs = layers.Dense(2)(layers.Dense(6, activation="relu")(inputs))
    functional = keras.Model(inputs, outputs)
    keras.utils.set_random_seed(7)
    sequential = keras.Sequential([keras.Input((3,)), layers.Dense(6, activation="relu"), layers.Dense(2)])
    sequential.set_weights(functional.get_weights())
    for model in (functional, sequential):
        model.compile("adam", "mse")
    h1 = functional.fit(x, y, epochs=3, shuffle=False, verbose=0).history
    h2 = sequential.fit(x, y, epochs=3, shuffle=False, verbose=0).history
    assert h1 == h2
    for w1, w2 in zip(functional.get_weights(), sequential.get_weights()):
        np.testing.assert_array_equal(w1, w2)


def test_subclassed_model_is_traced_from_its_call():
    class TwoLayers(keras.Model):
        def __init__(self):
            super().__init__(name="two_layers")
            self.hidden = layers.Dense(8, activation="relu")
            self.out = layers.Dense(1)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    rng = np.random.default_rng(5)
    x = rng.random((30, 4))
    y = x.sum(axis=1, keepdims=True)
    model = TwoLayers()
    assert model.weights == []
    model.compile("adam", "mse")
    history = model.fit(x, y, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert [layer.name for layer in model.layers] == [model.hidden.name, model.out.name]
    np.testing.assert_allclose(model.predict(x, verbose=0), model(x), rtol=1e-6)
    assert len(model.trainable_weights) == 4


def test_summary_shows_connections_for_graphs_and_not_for_chains():
    lines = []
    _graph_model().summary(print_fn=lines.append)
    text = lines[0]
    assert "Connected to" in text
    assert "shared[0][0]" in text and "pre[0][0]" in text
    assert "join (Concatenate)" in text
    chain_input = keras.Input((3,))
    chain = keras.Model(chain_input, layers.Dense(2)(chain_input))
    lines.clear()
    chain.summary(print_fn=lines.append)
    assert "Connected to" not in lines[0]


def test_config_round_trip_rebuilds_the_same_graph():
    model = _graph_model()
    clone = keras.Model.from_config(model.get_config())
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    clone.set_weights(model.get_weights())
    rng = np.random.default_rng(6)
    x = [rng.random((3, 4)), rng.random((3, 3))]
    for ours, theirs in zip(model.predict(x, verbose=0), clone.predict(x, verbose=0)):
        np.testing.assert_array_equal(ours, theirs)


def test_graph_errors_are_clear():
    a = keras.Input((4,))
    b = keras.Input((4,))
    out = layers.Add()([a, b])
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, out)
    c = keras.Input((4,))
    with pytest.raises(ValueError, match='The name "twin" is used 2 times'):
        keras.Model(c, layers.Dense(2, name="twin")(layers.Dense(3, name="twin")(c)))
    with pytest.raises(ValueError, match="must be KerasTensors"):
        keras.Model(c, np.zeros(3))
    with pytest.raises(ValueError, match="Invalid input shape"):
        model = keras.Model(c, layers.Dense(2)(c))
        model.predict(np.zeros((2, 5)), verbose=0)


def test_keras2_input_output_keywords():
    inputs = keras.Input((3,))
    outputs = layers.Dense(2)(inputs)
    model = keras.Model(input=inputs, output=outputs)
    assert model.inputs == [inputs] and model.outputs == [outputs]
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        keras.Model(inputs=inputs, outputs=outputs, nonsense=1)


def test_a_masked_sequence_output_averages_loss_and_metrics_over_unmasked_steps():
    rng = np.random.default_rng(8)
    x = rng.integers(1, 9, (6, 5)).astype(np.float32)
    x[:3, 3:] = 0
    x[5, 1:] = 0
    y = rng.random((6, 5, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((5,)), layers.Embedding(10, 3, mask_zero=True),
                              layers.LSTM(4, return_sequences=True), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    error = (model.predict(x, verbose=0) - y)[..., 0]
    kept = x != 0
    loss, mae = model.evaluate(x, y, batch_size=6, verbose=0)
    assert loss == pytest.approx(np.sum(error ** 2 * kept) / kept.sum(), rel=1e-5)
    assert mae == pytest.approx(np.sum(np.abs(error) * kept) / kept.sum(), rel=1e-5)

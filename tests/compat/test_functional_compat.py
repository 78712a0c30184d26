"""The Functional API against real Keras: graphs with several inputs and outputs, shared and nested
layers, subclassed models: layer order, summary text, config, and training side by side."""
import json

import numpy as np

import minikeras
from tests.compat.test_training_compat import assert_same_history, assert_same_weights, twin


def graph_model(keras):
    layers = keras.layers
    a = keras.Input((4,), name="a")
    b = keras.Input((3,), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    h1 = shared(layers.Dense(4, name="pre")(a))
    h2 = shared(h1)
    joined = layers.Concatenate(name="join")([layers.Add(name="sum")([h1, h2]), b])
    inner = keras.Sequential([keras.Input((7,)), layers.Dense(5, activation="relu"), layers.Dense(2)], name="inner")
    out1 = layers.Dense(1, name="reg")(inner(joined))
    out2 = layers.Dense(3, activation="softmax", name="cls")(layers.Multiply(name="gate")([joined, joined]))
    return keras.Model([a, b], [out1, out2], name="graph")


def data(samples=40, seed=0):
    rng = np.random.default_rng(seed)
    x = [rng.random((samples, 4)).astype(np.float32), rng.random((samples, 3)).astype(np.float32)]
    y = [rng.random((samples, 1)).astype(np.float32), rng.integers(0, 3, samples)]
    return x, y


def test_graph_model_trains_like_keras(keras):
    reference, ours = twin(keras, graph_model, lambda k: {
        "optimizer": k.optimizers.Adam(0.01), "loss": ["mse", "sparse_categorical_crossentropy"],
        "loss_weights": [1.0, 0.5], "metrics": [["mae"], ["accuracy"]]})
    assert [layer.name for layer in ours.layers] == [layer.name for layer in reference.layers]
    x, y = data()
    expected = reference.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0, validation_split=0.25)
    actual = ours.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0, validation_split=0.25)
    assert_same_history(expected, actual)
    assert_same_weights(reference, ours)
    for theirs, mine in zip(reference.predict(x, verbose=0), ours.predict(x, verbose=0)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), reference.evaluate(x, y, verbose=0), rtol=1e-4)


def test_dict_data_and_dict_losses_like_keras(keras):
    reference, ours = twin(keras, graph_model, lambda k: {
        "optimizer": "sgd", "loss": {"cls": "sparse_categorical_crossentropy", "reg": "mae"},
        "metrics": {"cls": "accuracy"}})
    x, y = data(seed=1)
    feeds = {"a": x[0], "b": x[1]}, {"reg": y[0], "cls": y[1]}
    assert_same_history(reference.fit(*feeds, epochs=2, shuffle=False, verbose=0),
                        ours.fit(*feeds, epochs=2, shuffle=False, verbose=0))
    assert_same_weights(reference, ours)


def test_summary_text_matches_keras(keras):
    for build in (graph_model, lambda k: k.Model(*_chain(k))):
        keras.backend.clear_session()
        expected, actual = [], []
        build(keras).summary(print_fn=expected.append, line_length=120)
        minikeras.backend.clear_session()
        build(minikeras).summary(print_fn=actual.append, line_length=120)
        assert "".join(actual).rstrip("\n") == "".join(expected).rstrip("\n")


def _chain(k):
    inputs = k.Input((5,))
    return inputs, k.layers.Dense(2)(k.layers.Dense(3, activation="relu")(inputs))


def test_config_matches_keras(keras):
    expected = json.loads(json.dumps(graph_model(keras).get_config(), default=list))
    minikeras.backend.clear_session()
    keras.backend.clear_session()
    expected = json.loads(json.dumps(graph_model(keras).get_config(), default=list))
    minikeras.backend.clear_session()
    actual = json.loads(json.dumps(graph_model(minikeras).get_config(), default=list))
    assert actual == expected


def test_keras_config_builds_the_same_model(keras):
    reference = graph_model(keras)
    ours = minikeras.Model.from_config(json.loads(json.dumps(reference.get_config(), default=list)))
    ours.set_weights(reference.get_weights())
    x, _ = data(samples=6, seed=2)
    for theirs, mine in zip(reference.predict(x, verbose=0), ours.predict(x, verbose=0)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_subclassed_model_trains_like_keras(keras):
    def build(k):
        class Residual(k.Model):
            def __init__(self):
                super().__init__()
                self.hidden = k.layers.Dense(4, activation="relu")
                self.skip = k.layers.Add()
                self.out = k.layers.Dense(1)

            def call(self, inputs):
                return self.out(self.skip([inputs, self.hidden(inputs)]))

        model = Residual()
        model(np.zeros((1, 4), np.float32))
        return model

    reference, ours = twin(keras, build, lambda k: {"optimizer": "adam", "loss": "mse"})
    x, y = data(seed=3)
    assert_same_history(reference.fit(x[0], y[0], epochs=3, batch_size=10, shuffle=False, verbose=0),
                        ours.fit(x[0], y[0], epochs=3, batch_size=10, shuffle=False, verbose=0))
    assert_same_weights(reference, ours)


def test_sequential_layers_feed_a_feature_extractor_like_keras(keras):
    def build(k):
        return k.Sequential([k.Input((4,)), k.layers.Dense(6, activation="relu", name="hidden"),
                             k.layers.Dense(2, name="top")])

    reference, ours = build(keras), build(minikeras)
    ours.set_weights(reference.get_weights())
    x, _ = data(samples=5, seed=4)
    expected = keras.Model(reference.inputs, reference.get_layer("hidden").output).predict(x[0], verbose=0)
    actual = minikeras.Model(ours.inputs, ours.get_layer("hidden").output).predict(x[0], verbose=0)
    np.testing.assert_allclose(actual, expected, rtol=1e-6)
    # Keras 2's spelling (Keras 3 says a Sequential "has never been called" here) works too.
    keras2_style = minikeras.Model(ours.input, ours.output).predict(x[0], verbose=0)
    np.testing.assert_allclose(keras2_style, reference.predict(x[0], verbose=0), rtol=1e-6)


def test_frozen_nested_model_stays_put_like_keras(keras):
    def build(k):
        base = k.Sequential([k.Input((4,)), k.layers.Dense(5, activation="relu"),
                             k.layers.BatchNormalization()], name="base")
        base.trainable = False
        inputs = k.Input((4,))
        return k.Model(inputs, k.layers.Dense(1)(base(inputs)))

    reference, ours = twin(keras, build, lambda k: {"optimizer": "adam", "loss": "mse"})
    assert len(ours.trainable_weights) == len(reference.trainable_weights) == 2
    assert len(ours.non_trainable_weights) == len(reference.non_trainable_weights)
    frozen = [w.copy() for w in ours.get_layer("base").get_weights()]
    x, y = data(seed=5)
    assert_same_history(reference.fit(x[0], y[0], epochs=2, batch_size=10, shuffle=False, verbose=0),
                        ours.fit(x[0], y[0], epochs=2, batch_size=10, shuffle=False, verbose=0))
    assert_same_weights(reference, ours)
    for before, after in zip(frozen, ours.get_layer("base").get_weights()):
        np.testing.assert_array_equal(before, after)


def test_masked_sequences_through_a_graph_train_like_keras(keras):
    """Embedding(mask_zero) -> Bidirectional(LSTM) -> GRU, and an LSTM's states as extra outputs, in one graph."""
    def build(k):
        layers = k.layers
        tokens = k.Input((6,), name="tokens")
        embedded = layers.Embedding(12, 4, mask_zero=True)(tokens)
        sequence = layers.Bidirectional(layers.LSTM(3, return_sequences=True))(embedded)
        summary = layers.GRU(4)(sequence)
        _, state_h, state_c = layers.LSTM(2, return_state=True)(embedded)
        joined = layers.Concatenate()([summary, state_h, state_c])
        return k.Model(tokens, layers.Dense(1, activation="sigmoid")(joined))

    reference, ours = twin(keras, build, lambda k: {"optimizer": k.optimizers.SGD(0.5), "loss": "binary_crossentropy",
                                                    "metrics": ["accuracy"]})
    rng = np.random.default_rng(6)
    x = rng.integers(1, 12, (32, 6)).astype(np.float32)
    x[:, 4:] *= rng.random((32, 2)) < 0.5  # padded tails
    y = (x[:, 0] > 6).astype(np.float32)
    assert_same_history(reference.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0),
                        ours.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0))
    assert_same_weights(reference, ours)


def test_summary_of_a_layer_with_several_outputs_matches_keras(keras):
    def build(k):
        inputs = k.Input((5, 3))
        output, state_h, state_c = k.layers.LSTM(2, return_state=True)(inputs)
        return k.Model(inputs, k.layers.Dense(1)(k.layers.Concatenate()([output, state_h, state_c])))

    keras.backend.clear_session()
    minikeras.backend.clear_session()
    expected, actual = [], []
    build(keras).summary(print_fn=expected.append, line_length=130)
    build(minikeras).summary(print_fn=actual.append, line_length=130)
    assert "".join(actual) == "".join(expected)


def test_masked_sequence_outputs_weigh_loss_and_metrics_like_keras(keras):
    """A sequence output that carries the Embedding's mask: Keras averages the loss and the metrics over
    the unmasked timesteps only."""
    def build(k):
        return k.Sequential([k.Input((5,)), k.layers.Embedding(10, 3, mask_zero=True),
                             k.layers.LSTM(4, return_sequences=True), k.layers.TimeDistributed(k.layers.Dense(2)),
                             k.layers.Dense(1)])

    reference, ours = twin(keras, build, lambda k: {"optimizer": "adam", "loss": "mse", "metrics": ["mae"]})
    rng = np.random.default_rng(7)
    x = rng.integers(1, 9, (24, 5)).astype(np.float32)
    x[::3, 3:] = 0
    x[1::4, 1:] = 0
    y = rng.random((24, 5, 1)).astype(np.float32)
    np.testing.assert_allclose(ours.evaluate(x, y, batch_size=8, verbose=0),
                               reference.evaluate(x, y, batch_size=8, verbose=0), rtol=1e-5)
    assert_same_history(reference.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0),
                        ours.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0))
    assert_same_weights(reference, ours)

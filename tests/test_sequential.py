"""Sequential: building, weights, configs, the training loop's arithmetic, and bad input."""
import numpy as np
import pytest

import minikeras
from minikeras import backend, layers, optimizers
from minikeras.models import Sequential
from tests.conftest import numerical_gradient


def linear_model(lr=0.01):
    model = Sequential([layers.Input((1,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(learning_rate=lr), loss="mse")
    return model


# ---------------------------------------------------------------- structure
def test_input_shape_argument_builds_immediately_and_deferred_build_waits():
    built = Sequential([layers.Dense(3, input_shape=(4,)), layers.Dense(1)])
    assert built.built and [w.shape for w in built.get_weights()] == [(4, 3), (3,), (3, 1), (1,)]
    deferred = Sequential()
    deferred.add(layers.Dense(3))
    deferred.compile(loss="mse")
    assert not deferred.built and deferred.get_weights() == []
    with pytest.raises(ValueError, match="You tried to call `count_params` on layer 'sequential_1', but the layer "
                                         "isn't built"):
        deferred.count_params()
    deferred.predict(np.ones((2, 5)), verbose=0)
    assert deferred.count_params() == 18


def test_input_dim_and_build_and_paths():
    model = Sequential([layers.Dense(2, input_dim=3)])
    assert model.input_shape == (None, 3)
    assert [v.path for v in model.weights] == ["sequential/dense/kernel", "sequential/dense/bias"]
    other = Sequential([layers.Dense(2)])
    other.build((None, 7))
    assert other.output_shape == (None, 2) and other.count_params() == 16


def test_add_pop_get_layer():
    model = Sequential([layers.Input((3,)), layers.Dense(2, name="hidden"), layers.Dense(1)])
    assert model.get_layer("hidden") is model.layers[0] and model.get_layer(index=1) is model.layers[1]
    with pytest.raises(ValueError, match=r"No such layer: nope. Existing layers are: \['hidden', 'dense'\]."):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="Was asked to retrieve layer at index 5 but model only has 2 layers."):
        model.get_layer(index=5)
    model.pop()
    assert [l.name for l in model.layers] == ["hidden"] and model.output_shape == (None, 2)
    with pytest.raises(ValueError, match="Only instances of `keras.Layer` can be added to a Sequential model"):
        model.add("dense")
    with pytest.raises(ValueError, match="should have unique names. Name 'hidden' is already"):
        model.add(layers.Dense(1, name="hidden"))
    with pytest.raises(TypeError, match="There are no layers in the model to pop"):
        Sequential().pop()


def test_set_weights_errors_name_the_model_and_shapes():
    model = Sequential([layers.Input((10,)), layers.Dense(32), layers.Dense(1)])
    before = model.get_weights()
    with pytest.raises(ValueError, match="You called `set_weights\\(weights\\)` on layer 'sequential' with a weight "
                                         "list of length 2, but the layer was expecting 4 weights."):
        model.set_weights(before[:2])
    bad = [np.zeros((11, 32))] + before[1:]
    with pytest.raises(ValueError, match=r"Layer sequential weight shape \(10, 32\) is not compatible with "
                                         r"provided weight shape \(11, 32\)."):
        model.set_weights(bad)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_get_config_round_trip():
    model = Sequential([layers.Input((4,)), layers.Dense(3, activation="relu"), layers.Dropout(0.2),
                        layers.Dense(1)])
    config = model.get_config()
    assert [entry["class_name"] for entry in config["layers"]] == ["InputLayer", "Dense", "Dropout", "Dense"]
    assert config["layers"][1]["build_config"] == {"input_shape": (None, 4)}
    assert "build_config" not in config["layers"][2]
    assert config["build_input_shape"] == [None, 4]
    clone = Sequential.from_config(config)
    assert clone.get_config() == config
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]


# ---------------------------------------------------------------- arithmetic
def test_whole_model_gradient_matches_finite_differences():
    backend.set_floatx("float64")
    try:
        model = Sequential([layers.Input((3,)), layers.Dense(4, activation="tanh"), layers.Dense(2, activation="softmax")])
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        x = np.random.default_rng(0).standard_normal((5, 3))
        y = np.eye(2)[[0, 1, 1, 0, 1]]
        model._forward(x, training=True)
        layer = model._loss_folding()
        _, grad = model._loss.value_and_gradient(y, layer._outputs, None, logits=layer.logits)
        model._backward(grad, grad_is_logits=True)
        kernel = model.layers[0].kernel

        def loss_at(value):
            saved = kernel.value.copy()
            kernel.value[...] = value
            result = float(model._loss(y, model._forward(x, training=False)))
            kernel.value[...] = saved
            return result

        np.testing.assert_allclose(kernel.grad, numerical_gradient(loss_at, kernel.value), rtol=1e-5, atol=1e-8)
    finally:
        backend.set_floatx("float32")


def test_epoch_loss_is_the_batch_size_weighted_mean():
    model = linear_model(lr=0.0)
    x = np.linspace(-1, 1, 10).astype(np.float32)
    y = 2 * x + 1
    history = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    full = model.evaluate(x, y, batch_size=10, verbose=0)
    assert history.history["loss"][0] == pytest.approx(full, rel=1e-6)
    assert history.params["steps"] == 3


def test_sgd_fit_matches_hand_computed_updates():
    model = linear_model(lr=0.1)
    model.set_weights([np.array([[0.5]], np.float32), np.array([0.0], np.float32)])
    x = np.array([1.0, 2.0, 3.0], np.float32)
    y = np.array([3.0, 5.0, 7.0], np.float32)
    w, b = 0.5, 0.0
    for start in (0, 2):
        xb, yb = x[start:start + 2], y[start:start + 2]
        err = w * xb + b - yb
        w, b = w - 0.1 * np.mean(2 * err * xb), b - 0.1 * np.mean(2 * err)
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose([model.get_weights()[0][0, 0], model.get_weights()[1][0]], [w, b], rtol=1e-6)


def test_course_linear_regression_learns_two_and_one():
    x = np.linspace(1, 10, 1000)
    model = Sequential()
    model.add(layers.Dense(1, activation="linear", input_shape=(1,)))
    model.compile(loss="mse", optimizer="sgd")
    history = model.fit(x, 2 * x + 1, epochs=20, verbose=0)
    weight, bias = model.get_weights()
    assert abs(weight[0, 0] - 2) < 0.1 and abs(bias[0] - 1) < 0.6
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(np.array([12.0, 14.0]), verbose=0).shape == (2, 1)


def test_validation_split_takes_the_last_samples_before_shuffling():
    model = linear_model(lr=0.0)
    x = np.arange(10, dtype=np.float32)
    y = np.zeros(10, np.float32)
    history = model.fit(x, y, validation_split=0.3, epochs=1, verbose=0)
    expected = model.evaluate(x[7:], y[7:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)
    assert sorted(history.history) == ["loss", "val_loss"]


def test_evaluate_returns_scalar_list_or_dict():
    model = Sequential([layers.Input((2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x, y = np.random.default_rng(0).standard_normal((8, 2)), np.array([0, 1] * 4)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float) and 0 <= accuracy <= 1
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {"accuracy": accuracy, "loss": loss}
    plain = Sequential([layers.Input((2,)), layers.Dense(1)])
    plain.compile(loss="mse")
    assert isinstance(plain.evaluate(x, y, verbose=0), float)


def test_frozen_layer_is_not_updated():
    model = Sequential([layers.Input((2,)), layers.Dense(3), layers.Dense(1)])
    model.layers[0].trainable = False
    model.compile(optimizer="sgd", loss="mse")
    frozen = model.layers[0].get_weights()
    trained = model.layers[1].get_weights()
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0)
    for before, after in zip(frozen, model.layers[0].get_weights()):
        np.testing.assert_array_equal(before, after)
    assert not np.array_equal(trained[0], model.layers[1].get_weights()[0])


def test_inputs_of_every_kind_are_accepted():
    pd = pytest.importorskip("pandas")
    model = Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(loss="mse")
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 0.1, 0.2]})
    model.fit(frame, pd.Series([1.0, 0.0, 1.0]), verbose=0)
    model.fit([[1, 2], [3, 4]], [1, 0], verbose=0)
    model.fit(np.array([[True, False]]), np.array([1]), verbose=0)
    assert model.predict([[1, 2]], verbose=0).dtype == np.float32


def test_sample_weight_and_class_weight_weight_the_loss():
    model = linear_model(lr=0.0)
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    model.set_weights([np.zeros((1, 1), np.float32), np.zeros(1, np.float32)])
    y = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    weighted = model.evaluate(x, y, sample_weight=np.array([1.0, 0, 0, 0]), verbose=0)
    assert weighted == pytest.approx(0.25)
    classifier = Sequential([layers.Input((1,)), layers.Dense(2, activation="softmax")])
    classifier.compile(optimizer=optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    labels = np.array([0, 1, 1, 0])
    plain = classifier.fit(x, labels, epochs=1, verbose=0, shuffle=False).history["loss"][0]
    doubled = classifier.fit(x, labels, epochs=1, verbose=0, shuffle=False,
                             class_weight={0: 2.0, 1: 2.0}).history["loss"][0]
    assert doubled == pytest.approx(2 * plain, rel=1e-6)


def test_stop_training_and_initial_epoch():
    model = linear_model()
    x = np.ones((4, 1))
    history = model.fit(x, x, epochs=5, initial_epoch=3, verbose=0)
    assert history.epoch == [3, 4]


# ---------------------------------------------------------------- bad input
def test_fit_before_compile():
    model = Sequential([layers.Input((1,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="You must call `compile\\(\\)` before using the model."):
        model.fit(np.ones((2, 1)), np.ones(2))


def test_cardinality_error_is_kerass():
    model = linear_model()
    with pytest.raises(ValueError) as info:
        model.fit(np.ones((8, 1)), np.ones(7), verbose=0)
    assert str(info.value) == ("Data cardinality is ambiguous. Make sure all arrays contain the same number of "
                               "samples.'x' sizes: 8\n'y' sizes: 7\n")


def test_wrong_feature_count_fails_before_any_update():
    model = Sequential([layers.Input((10,)), layers.Dense(4), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"layer 'dense' is incompatible with the layer: expected axis -1 of input "
                                         r"shape to have value 10, but received input with shape \(None, 5\)"):
        model.fit(np.ones((8, 5)), np.ones(8), verbose=0)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    with pytest.raises(ValueError, match=r"Expected shape \(None, 10\), but input has incompatible shape \(3,\)"):
        model.predict(np.ones(3), verbose=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "Invalid value for argument `batch_size`: expected a positive integer. Received: batch_size=0"),
    ({"batch_size": 2.5}, "Received: batch_size=2.5"),
    ({"epochs": -1}, "Invalid value for argument `epochs`"),
    ({"validation_split": 1.5}, "Invalid value for argument `validation_split`: expected a float in \\[0, 1\\)"),
    ({"verbose": 3}, "Invalid value for argument `verbose`"),
    ({"nb_epoch": 3}, "renamed `epochs`"),
])
def test_fit_argument_errors(kwargs, message):
    model = linear_model()
    before = model.get_weights()
    with pytest.raises((ValueError, TypeError), match=message):
        model.fit(np.ones((4, 1)), np.ones(4), **kwargs)
    np.testing.assert_array_equal(before[0], model.get_weights()[0])


def test_data_errors():
    model = linear_model()
    with pytest.raises(ValueError, match=r"Expected `x` to contain at least one sample. Received: x with shape \(0, 1\)"):
        model.fit(np.ones((0, 1)), np.ones(0), verbose=0)
    with pytest.raises(TypeError, match="Argument `x` must contain numbers or booleans. Received data of dtype <U1"):
        model.fit(np.array([["a"]]), np.ones(1), verbose=0)
    with pytest.raises(ValueError, match="not sufficient to split it into a validation and training set as "
                                         "specified by `validation_split=0.5`"):
        model.fit(np.ones((1, 1)), np.ones(1), validation_split=0.5, verbose=0)


def test_unknown_names_fail_at_compile():
    model = Sequential([layers.Dense(1)])
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: foo_opt"):
        model.compile(optimizer="foo_opt", loss="mse")
    with pytest.raises(ValueError, match="Could not interpret loss identifier: foo_loss"):
        model.compile(loss="foo_loss")
    with pytest.raises(ValueError, match="Could not interpret metric identifier: foo_metric"):
        model.compile(loss="mse", metrics=["foo_metric"])
    assert not model.compiled


def test_public_face_exports_the_course_names():
    for name in ("Sequential", "Input", "layers", "optimizers", "losses", "metrics", "callbacks", "utils"):
        assert hasattr(minikeras, name)


def test_out_of_range_labels_fail_before_any_update():
    model = Sequential([layers.Input((2,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    labels = np.array([0, 1, 2] * 20 + [3])
    with pytest.raises(ValueError, match="3"):
        model.fit(np.ones((61, 2)), labels, batch_size=4, verbose=0)
    np.testing.assert_array_equal(before[0], model.get_weights()[0])


def test_target_shape_mismatch_fails_before_any_update():
    model = Sequential([layers.Input((2,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"\(None, 3\)|\(64, 3\)|shape"):
        model.fit(np.ones((64, 2)), np.ones((64, 4)), verbose=0)


def test_crossentropy_is_chosen_from_shapes():
    model = Sequential([layers.Input((2,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="crossentropy")
    model.fit(np.ones((4, 2)), np.array([0, 1, 2, 1]), verbose=0)
    assert type(model._loss).__name__ == "LossFunctionWrapper" and model._loss.name == "crossentropy"


def test_custom_activation_predicts_and_explains_what_training_needs():
    model = Sequential([layers.Input((2,)), layers.Dense(2, activation=lambda z: z * 2)])
    assert model.predict(np.ones((1, 2)), verbose=0).shape == (1, 2)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="derivative"):
        model.fit(np.ones((1, 2)), np.ones((1, 2)), verbose=0)

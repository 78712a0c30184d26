"""register_keras_serializable, get_registered_name/object and custom_object_scope: a user's layer
class round-trips through get_config/from_config and `.keras` files."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.saving import load_model, save_model
from minikeras.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from minikeras.saving.serialization_lib import serialize_function


def scale_layer(base, register, package):
    """A user layer, y = factor * x (dL/dx = factor * dL/dy), for either library's `base` Layer class,
    registered as "<package>>Scale"."""

    class Scale(base):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, inputs, training=False):
            return inputs * self.factor

        def backward(self, grad_output):
            return grad_output * self.factor

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    Scale.__module__ = __name__
    return register(package=package)(Scale)


Scale = scale_layer(layers.Layer, register_keras_serializable, "MiniTest")


@register_keras_serializable(package="MiniTest", name="Doubled")
class Doubling(Scale):
    pass


class Unregistered(Scale):
    pass


@register_keras_serializable()
def halve(x):
    return x / 2


def model_with(layer_class):
    model = keras.Sequential([keras.Input((3,)), layer_class(3.0), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_registered_names_and_objects():
    assert get_registered_name(Scale) == "MiniTest>Scale"
    assert get_registered_name(Doubling) == "MiniTest>Doubled"
    assert get_registered_name(Unregistered) == "Unregistered"
    assert get_registered_name(halve) == "Custom>halve"
    assert get_registered_object("MiniTest>Scale") is Scale
    assert get_registered_object("Scale") is None
    assert get_registered_object("Scale", custom_objects={"Scale": Unregistered}) is Unregistered
    assert get_custom_objects()["MiniTest>Doubled"] is Doubling


def test_a_class_without_get_config_cannot_be_registered():
    with pytest.raises(ValueError, match="Cannot register a class that does not have a get_config\\(\\) method."):
        register_keras_serializable()(type("NoConfig", (), {}))


def test_config_records_module_and_registered_name():
    entries = model_with(Doubling).get_config()["layers"][1:]  # after the InputLayer
    assert {key: entries[0][key] for key in ("module", "class_name", "registered_name")} == {
        "module": __name__, "class_name": "Doubling", "registered_name": "MiniTest>Doubled"}
    assert entries[0]["config"]["factor"] == 3.0
    assert entries[1]["module"] == "keras.layers" and entries[1]["registered_name"] is None
    assert serialize_function(halve)["config"] == "Custom>halve"


@pytest.mark.parametrize("layer_class", [Scale, Doubling])
def test_registered_layer_round_trips_through_config_and_keras_file(tmp_path, layer_class):
    model = model_with(layer_class)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    rebuilt = keras.Sequential.from_config(model.get_config())
    assert type(rebuilt.layers[0]) is layer_class and rebuilt.layers[0].factor == 3.0
    save_model(model, tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert type(loaded.layers[0]) is layer_class
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_unregistered_layer_needs_custom_objects_or_a_scope(tmp_path):
    save_model(model_with(Unregistered), tmp_path / "m.keras")
    with pytest.raises(ValueError, match="Could not locate class 'Unregistered'"):
        load_model(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras", custom_objects={"Unregistered": Unregistered})
    assert type(loaded.layers[0]) is Unregistered
    with custom_object_scope({"Unregistered": Unregistered}):
        assert type(load_model(tmp_path / "m.keras").layers[0]) is Unregistered


def test_scope_replaces_the_outer_scope_and_restores_it_on_exit():
    assert custom_object_scope is CustomObjectScope
    with CustomObjectScope({"a": Scale}):
        assert get_registered_object("a") is Scale
        with CustomObjectScope({"b": Doubling}):
            assert get_registered_object("a") is None
            assert get_registered_object("b") is Doubling
        assert get_registered_object("a") is Scale
    assert get_registered_object("a") is None


def test_scope_wins_over_the_registry():
    with CustomObjectScope({"MiniTest>Scale": Doubling}):
        assert keras.Sequential.from_config(model_with(Scale).get_config()).layers[0].__class__ is Doubling


def test_registered_activation_function_round_trips_through_a_keras_file(tmp_path):
    @register_keras_serializable(package="Mine")
    def clipped_double(x):
        return np.clip(2 * x, -1, 1)

    model = keras.Sequential([layers.Input((3,)), layers.Dense(2, activation=clipped_double)])
    assert model.get_config()["layers"][1]["config"]["activation"]["config"] == "Mine>clipped_double"
    save_model(model, tmp_path / "model.keras")
    loaded = load_model(tmp_path / "model.keras")
    assert loaded.layers[0].activation is clipped_double
    assert keras.activations.get("Mine>clipped_double") is clipped_double
    x = np.linspace(-2, 2, 9, dtype=np.float32).reshape(3, 3)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="Could not interpret activation function identifier"):
        keras.activations.get("Mine>missing")

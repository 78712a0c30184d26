"""`keras.layers.serialize` / `deserialize`: layer <-> Keras config dict."""
from minikeras.saving.serialization_lib import deserialize_keras_object, serialize_keras_object


def _layer_classes():
    from minikeras import layers, models

    classes = {name: getattr(layers, name) for name in dir(layers)
               if isinstance(getattr(layers, name), type) and issubclass(getattr(layers, name), layers.Layer)}
    return {**classes, "Sequential": models.Sequential, "Functional": models.Functional, "Model": models.Model}


def serialize(layer):
    """The layer's config entry as Keras writes it, with its build config (once built) and, for a model,
    its compile config."""
    from minikeras.models import Functional, Model

    if isinstance(layer, Functional):
        entry = {"module": "keras.src.models.functional", "class_name": "Functional", "config": layer.get_config(),
                 "registered_name": "Functional"}
    else:
        entry = serialize_keras_object(layer, "keras" if isinstance(layer, Model) else "keras.layers")
    build_config = layer.get_build_config()
    if build_config is not None:
        entry["build_config"] = build_config
    if isinstance(layer, Model):
        entry["compile_config"] = layer.get_compile_config() or {}
    return entry


def deserialize(config, custom_objects=None):
    return deserialize_keras_object(config, _layer_classes(), "layer", custom_objects)

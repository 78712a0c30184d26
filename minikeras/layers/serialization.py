"""`keras.layers.serialize` / `deserialize`: layer <-> Keras config dict."""
from minikeras.saving.serialization_lib import deserialize_keras_object, serialize_keras_object


def _layer_classes():
    from minikeras import layers, models

    classes = {name: getattr(layers, name) for name in dir(layers)
               if isinstance(getattr(layers, name), type) and issubclass(getattr(layers, name), layers.Layer)}
    return {**classes, "Sequential": models.Sequential, "Functional": models.Functional, "Model": models.Model}


def serialize(layer):
    from minikeras.models import Model

    return serialize_keras_object(layer, "keras" if isinstance(layer, Model) else "keras.layers")


def deserialize(config, custom_objects=None):
    return deserialize_keras_object(config, _layer_classes(), "layer", custom_objects)

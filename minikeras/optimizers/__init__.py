"""Optimizers as Keras 3 names them, plus `get`, `serialize` and `deserialize`."""
from minikeras.optimizers import schedules
from minikeras.optimizers.adadelta import Adadelta
from minikeras.optimizers.adagrad import Adagrad
from minikeras.optimizers.adam import Adam
from minikeras.optimizers.adamax import Adamax
from minikeras.optimizers.adamw import AdamW
from minikeras.optimizers.nadam import Nadam
from minikeras.optimizers.optimizer import Optimizer
from minikeras.optimizers.rmsprop import RMSprop
from minikeras.optimizers.sgd import SGD
from minikeras.saving.serialization_lib import serialize_keras_object

# Keras looks built-in optimizers up by lower-cased class name, so "ADAM", "Adam" and "adam" all work.
_BUILT_IN = {cls.__name__.lower(): cls for cls in (Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop, SGD)}


def serialize(optimizer):
    """The optimizer as Keras writes it: {'module', 'class_name', 'config', 'registered_name'}."""
    return serialize_keras_object(optimizer, "keras.optimizers")


def deserialize(config, custom_objects=None):
    """Rebuild an optimizer from `serialize`'s dict (class names case-insensitive for built-ins)."""
    cls = _BUILT_IN.get(str(config["class_name"]).lower()) or (custom_objects or {}).get(config["class_name"])
    if cls is None:
        raise ValueError(f"Could not interpret optimizer identifier: {config['class_name']}")
    return cls.from_config(dict(config.get("config", {})), custom_objects=custom_objects)


def get(identifier):
    """An Optimizer from a name ('adam', 'SGD', ...), a serialized dict or an instance; None stays None."""
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier.lower() in _BUILT_IN:
        return _BUILT_IN[identifier.lower()]()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")


__all__ = ["Adadelta", "Adagrad", "Adam", "Adamax", "AdamW", "Nadam", "Optimizer", "RMSprop", "SGD",
           "deserialize", "get", "schedules", "serialize"]

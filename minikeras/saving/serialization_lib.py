"""Keras's config-dict form of an object ({module, class_name, config, registered_name}) and the
name lookups that `get`/`serialize`/`deserialize` of every object family share."""
import inspect

from minikeras.backend import to_snake_case
from minikeras.saving import object_registration


def serialize_keras_object(obj, module):
    """The dict Keras writes for `obj` (an object with `get_config`), e.g. in `model.get_config()`."""
    if obj is None:
        return None
    cls = type(obj)
    registered_name = None
    if not cls.__module__.startswith("minikeras"):
        # A user's class: Keras records where it lives and the name it is registered under.
        module = None if cls.__module__ == "__main__" else cls.__module__
        registered_name = object_registration.get_registered_name(cls)
    return {"module": module, "class_name": cls.__name__, "config": obj.get_config(),
            "registered_name": registered_name}


def serialize_function(function):
    """The dict Keras writes for a plain function: named by its registered "package>name" when it has one."""
    return {"module": "builtins", "class_name": "function",
            "config": object_registration.get_registered_name(function), "registered_name": "function"}


def deserialize_keras_object(config, known_classes, kind, custom_objects=None):
    """Rebuild an object from its config dict, looking its class up by name; never runs code from the dict."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not deserialize {kind}: expected a dict with a 'class_name' key. Received: {config!r}")
    class_name = config["class_name"]
    classes = {**known_classes, **(custom_objects or {})}
    # A registered class is found by its "package>Name" key first, as in Keras.
    found = object_registration.get_registered_object(config.get("registered_name") or class_name, classes)
    found = found or object_registration.get_registered_object(class_name, classes)
    if found is None:
        raise TypeError(
            f"Could not locate class '{class_name}'. Make sure custom classes are decorated with "
            "`@keras.saving.register_keras_serializable()` or passed in `custom_objects`. "
            f"Full object config: {config}"
        )
    with object_registration.scope_with(custom_objects):
        return found.from_config(config.get("config", {}))


def by_name(classes):
    """Keras's lookup table for built-in classes: each under its class name and its snake_case name."""
    return {name: cls for cls in classes for name in (cls.__name__, to_snake_case(cls.__name__))}


def deserialize_object(config, registry, kind, custom_objects=None):
    """The object described by a Keras config dict (or a bare class name) from `registry`."""
    if isinstance(config, dict):
        class_name, options = config.get("class_name"), config.get("config") or {}
    else:
        class_name, options = config, {}
    cls = {**registry, **(custom_objects or {})}.get(class_name)
    if cls is None:
        raise ValueError(f"Could not interpret {kind} identifier: {config}")
    return cls.from_config(options)


def get_object(identifier, registry, kind, deserialize=None):
    """Keras's `get`: None stays None; a name, a config dict or a class gives an instance; a callable is kept.

    `deserialize(config)` reads config dicts for families whose dicts may also name functions;
    by default a dict names a class of `registry`.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier) if deserialize else deserialize_object(identifier, registry, kind)
    elif isinstance(identifier, str):
        obj = registry.get(identifier)
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if callable(obj):
        return obj
    raise ValueError(f"Could not interpret {kind} identifier: {identifier}")

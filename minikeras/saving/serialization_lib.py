"""Keras's config-dict form of an object ({module, class_name, config, registered_name}) and the
name lookups that `get`/`serialize`/`deserialize` of every object family share."""
import inspect

from minikeras.backend import to_snake_case


def serialize_keras_object(obj, module):
    """The dict Keras writes for `obj` (an object with `get_config`), e.g. in `model.get_config()`."""
    if obj is None:
        return None
    return {"module": module, "class_name": type(obj).__name__, "config": obj.get_config(),
            "registered_name": None}


def serialize_function(function):
    """The dict Keras writes for a plain function that is not registered as serializable."""
    return {"module": "builtins", "class_name": "function", "config": function.__name__,
            "registered_name": "function"}


def deserialize_keras_object(config, known_classes, kind, custom_objects=None):
    """Rebuild an object from its config dict, looking its class up by name; never runs code from the dict."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not deserialize {kind}: expected a dict with a 'class_name' key. Received: {config!r}")
    class_name = config["class_name"]
    classes = {**known_classes, **(custom_objects or {})}
    if class_name not in classes:
        raise TypeError(
            f"Could not locate class '{class_name}'. Make sure custom classes are decorated with "
            "`@keras.saving.register_keras_serializable()` or passed in `custom_objects`. "
            f"Full object config: {config}"
        )
    return classes[class_name].from_config(config.get("config", {}))


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

"""Keras's config-dict form of an object: {module, class_name, config, registered_name}."""


def serialize_keras_object(obj, module):
    """The dict Keras writes for `obj` (an object with `get_config`), e.g. in `model.get_config()`."""
    if obj is None:
        return None
    return {"module": module, "class_name": type(obj).__name__, "config": obj.get_config(),
            "registered_name": None}


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

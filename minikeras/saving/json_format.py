"""`model.to_json()` / `keras.models.model_from_json`: the architecture (and compile settings) as JSON.

The text is Keras 3's: the model's serialized config with `build_config` and `compile_config` (an empty
dict for an uncompiled model). Keras 2's JSON ({class_name, config} with Keras 2 spellings) loads too.
Reading it builds layers from class names only, never running code from the text.
"""
import json

from minikeras.saving import legacy_h5, saving_lib


def model_to_json(model, **kwargs):
    """`model.to_json(**kwargs)`; `kwargs` go to `json.dumps` (e.g. `indent=2`)."""
    config = saving_lib.serialize_model(model)
    config.setdefault("compile_config", {})
    return json.dumps(config, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """The model `json_string` describes, compiled when it records a compile config, weights fresh."""
    if len(json_string) > saving_lib.MAX_JSON_BYTES:
        raise ValueError(f"Cannot read the model JSON: it is {len(json_string)} characters long, too large "
                         "for a model config.")
    try:
        config = json.loads(json_string)
    except saving_lib.JSON_ERRORS as error:
        raise ValueError(f"Cannot read the model JSON: it is not valid JSON ({error}).") from None
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError("Cannot read the model JSON: it does not describe a Keras model "
                         "(expected an object with 'class_name' and 'config').")
    try:
        model = saving_lib._rebuild(legacy_h5.normalize_config(config), custom_objects)
        if config.get("compile_config"):
            model.compile(**saving_lib.deserialize_compile_config(config["compile_config"], custom_objects))
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, MemoryError) as error:
        raise ValueError(f"Cannot rebuild the model from its JSON: {error!s}") from None
    return model

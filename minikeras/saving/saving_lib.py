"""Keras 3's `.keras` format: a zip of `metadata.json`, `config.json` and `model.weights.h5`.

`config.json` is the model's serialized config plus its `build_config` and `compile_config`;
`model.weights.h5` is the `.weights.h5` layout (h5_weights.py), optimizer variables included, so
training resumes exactly where it stopped. Loading reads the three members by name, rebuilds the model
from class names only (no pickle, no eval), compiles it from `compile_config`, then loads the weights.
"""
import datetime
import io
import json
import zipfile

from minikeras.saving import h5_weights

CONFIG_FILENAME = "config.json"
METADATA_FILENAME = "metadata.json"
WEIGHTS_FILENAME = "model.weights.h5"
# The Keras release whose `.keras` layout this writes; Keras itself records its own version here.
KERAS_FORMAT_VERSION = "3.15.1"
# config.json and metadata.json describe a model, not its weights: anything bigger is not a model file
# (and would only make `json.loads` allocate without limit).
MAX_JSON_BYTES = 64 * 2**20
BOMB_FLOOR_BYTES = 1 << 32
BOMB_MAX_EXPANSION = 100
# Why a config text cannot be parsed: not UTF-8, not JSON, or nested deeper than the parser recurses.
JSON_ERRORS = (UnicodeDecodeError, json.JSONDecodeError, RecursionError)


# ----------------------------------------------------------------------------------------- save
def serialize_model(model):
    """config.json's content: {module, class_name, config, registered_name, build_config, compile_config}."""
    from minikeras.models.functional import Functional

    if isinstance(model, Functional):
        # Keras registers Functional under its internal module, unlike Sequential ("keras").
        config = {"module": "keras.src.models.functional", "class_name": "Functional",
                  "config": model.get_config(), "registered_name": "Functional"}
    else:
        config = {"module": "keras", "class_name": type(model).__name__, "config": model.get_config(),
                  "registered_name": None}
    build_config = model.get_build_config()
    if build_config is not None:
        config["build_config"] = build_config
    compile_config = serialize_compile_config(model)
    if compile_config is not None:
        config["compile_config"] = compile_config
    return config


def serialize_compile_config(model):
    """`model.get_compile_config()` with optimizer, losses and metrics as Keras's config dicts."""
    from minikeras import losses, optimizers

    compile_config = model.get_compile_config()
    if compile_config is None:
        return None
    config = dict(compile_config)
    config["optimizer"] = optimizers.serialize(model.optimizer)
    config["loss"] = _map_structure(config["loss"], losses.serialize)
    for key in ("metrics", "weighted_metrics"):
        config[key] = _map_structure(config[key], _serialize_metric)
    if config.get("jit_compile") == "auto":
        config["jit_compile"] = False  # what Keras records for "auto" on TensorFlow
    return config


def _serialize_metric(metric):
    from minikeras import metrics

    return metric if metric is None or isinstance(metric, str) else metrics.serialize(metric)


def _map_structure(value, function):
    """`function` applied to each leaf of a value, a list (of lists) or a dict by output name."""
    if isinstance(value, dict) and "class_name" not in value:
        return {key: _map_structure(item, function) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map_structure(item, function) for item in value]
    return function(value)


def save_model(model, filepath):
    """Write `model` as a `.keras` zip, atomically (a temporary file in the same folder, then a rename)."""
    config = json.dumps(serialize_model(model))
    metadata = json.dumps({"keras_version": KERAS_FORMAT_VERSION,
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    weights = h5_weights.weights_bytes(model)
    with h5_weights.atomic_path(filepath) as temporary, zipfile.ZipFile(temporary, "w") as archive:
        archive.writestr(METADATA_FILENAME, metadata)
        archive.writestr(CONFIG_FILENAME, config)
        archive.writestr(WEIGHTS_FILENAME, weights)


# ----------------------------------------------------------------------------------------- load
def load_model(filepath, custom_objects=None, compile=True):
    """The model stored in a `.keras` zip, compiled (when it was, and `compile=True`) and with its weights."""
    config_bytes, weights_bytes = read_members(filepath)
    try:
        config = json.loads(config_bytes)
    except JSON_ERRORS as error:
        raise ValueError(f"Cannot load '{filepath}': its {CONFIG_FILENAME} is not valid JSON ({error}).") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Cannot load '{filepath}': its {CONFIG_FILENAME} does not describe a Keras model "
                         "(no 'class_name').")
    try:
        model = _rebuild(config, custom_objects)
        if compile and config.get("compile_config"):
            model.compile(**deserialize_compile_config(config["compile_config"], custom_objects))
    except (TypeError, ValueError, KeyError, AttributeError, MemoryError) as error:
        raise ValueError(f"Cannot rebuild the model saved in '{filepath}': {error!s}") from None
    h5_weights.read_weights(model, io.BytesIO(weights_bytes), f"{filepath}/{WEIGHTS_FILENAME}")
    return model


def read_members(filepath):
    """config.json and model.weights.h5 from the zip, read by name (their CRCs checked)."""
    try:
        with zipfile.ZipFile(filepath, "r") as archive:
            names = set(archive.namelist())
            missing = [name for name in (CONFIG_FILENAME, WEIGHTS_FILENAME) if name not in names]
            if missing:
                raise ValueError(f"Cannot load '{filepath}': it is a zip file but not a `.keras` model "
                                 f"(missing {missing}).")
            if archive.getinfo(CONFIG_FILENAME).file_size > MAX_JSON_BYTES:
                raise ValueError(f"Cannot load '{filepath}': its {CONFIG_FILENAME} is "
                                 f"{archive.getinfo(CONFIG_FILENAME).file_size} bytes, too large for a model config.")
            _refuse_decompression_bomb(archive.getinfo(WEIGHTS_FILENAME))
            return archive.read(CONFIG_FILENAME), archive.read(WEIGHTS_FILENAME)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as error:
        raise ValueError(f"Cannot load '{filepath}': it is not a readable `.keras` zip file "
                         f"(truncated, corrupted or another format). Details: {error}") from None


def _refuse_decompression_bomb(info):
    """Keras's guard, before a member is inflated: over 4 GiB declared and over 100 times what is stored."""
    if info.file_size > BOMB_FLOOR_BYTES and info.file_size > BOMB_MAX_EXPANSION * info.compress_size:
        from minikeras.models.summary import readable_memory_size  # only on this error path

        raise ValueError(f"Not allowed: ZIP member '{info.filename}' declares {readable_memory_size(info.file_size)} "
                         f"but only {readable_memory_size(info.compress_size)} are stored on disk; refusing to load "
                         "a potential decompression bomb.")


def _rebuild(config, custom_objects):
    from minikeras.layers import deserialize

    model = deserialize({"class_name": config["class_name"], "config": config.get("config", {})},
                        custom_objects=custom_objects)
    input_shape = (config.get("build_config") or {}).get("input_shape")
    if not model.built and input_shape is not None:
        model.build(tuple(input_shape))
    return model


def deserialize_compile_config(config, custom_objects=None):
    """compile()'s keyword arguments from a compile_config: optimizer, losses and metrics as objects
    or names (a per-output dict stays a dict)."""
    from minikeras import losses, metrics, optimizers

    def loss(value):
        return losses.deserialize(value, custom_objects) if isinstance(value, dict) else value

    def metric(value):
        return metrics.deserialize(value, custom_objects) if isinstance(value, dict) else value

    arguments = dict(config)
    optimizer = arguments.get("optimizer")
    if isinstance(optimizer, dict):
        arguments["optimizer"] = optimizers.deserialize(optimizer, custom_objects)
    arguments["loss"] = _map_structure(arguments.get("loss"), loss)
    for key in ("metrics", "weighted_metrics"):
        arguments[key] = _map_structure(arguments.get(key), metric)
    known = ("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
             "steps_per_execution", "jit_compile", "auto_scale_loss")
    return {key: value for key, value in arguments.items() if key in known}

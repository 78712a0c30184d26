"""Keras 2's full-model `.h5` format (what Keras 3 still writes for `model.save('m.h5')`) and Keras 2's
weights-only `.h5` files (`save_weights('w.h5')`).

A model file holds root attributes `model_config` (JSON {class_name, config}; the layers of a model as
{class_name, config}, without Keras 3's `module`/`registered_name`/`build_config`), `training_config`
(compile's arguments without the optimizer, plus `optimizer_config`), `keras_version` and `backend`; a
group `model_weights` (attributes `layer_names`, `backend`, `keras_version`) with one group per layer whose
attribute `weight_names` lists its datasets, trainable weights first (Keras 2's order), and an empty
`top_level_model_weights`; and a group `optimizer_weights` listing the optimizer's variables. A
weights-only file is the `model_weights` group at the root. Weights go to layers by order (or by layer
name), never by dataset path, as Keras reads them.

Loading reads JSON attributes and numeric datasets only: no pickle, no eval. Keras 2 spellings in a
config (one-element `axis` lists, list-style `inbound_nodes`, `Custom>` optimizers, loss reduction
"auto") are rewritten to Keras 3's before deserialization, as Keras 3 does.
"""
import json
import os
import warnings

import numpy as np

from minikeras.saving import h5_weights, saving_lib

# Keras records the backend that wrote the weights; minikeras's weights have TensorFlow's layouts
# (channels-last kernels, Keras's gate order), so readers must treat them as TensorFlow's.
BACKEND = "tensorflow"
TOP_LEVEL_GROUP = "top_level_model_weights"
# HDF5 keeps attributes in the object header; Keras splits longer name lists into `name0`, `name1`, ...
HDF5_OBJECT_HEADER_LIMIT = 64512
MODEL_CLASSES = ("Sequential", "Functional", "Model")
# Keras 3 writes loss aliases as given ("mse") but cannot read them back; the full function names load
# in Keras 3 and in tf.keras 2.
LOSS_NAMES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
              "msle": "mean_squared_logarithmic_error", "kld": "kl_divergence", "bce": "binary_crossentropy"}
# tf.keras 2.11+ optimizer keys that Keras 3's optimizers do not take.
KERAS2_OPTIMIZER_KEYS = ("is_legacy_optimizer", "jit_compile")


# ----------------------------------------------------------------------------------------- save
def legacy_config(model):
    """`model_config`: the model's config with its layers in Keras 2's {class_name, config} form, spelled
    so that both tf.keras 2 and Keras 3 read it (see `keras2_spelling`)."""
    return keras2_spelling({"class_name": type(model).__name__, "config": _legacy_model_config(model.get_config())})


# Keras 3 keys tf.keras 2 rejects, which Keras 3 does not need either.
KERAS3_ONLY_KEYS = ("quantization_config", "input_axes", "output_axes")
# tf.keras 2 rebuilds an optimizer from a legacy `.h5` file as its legacy class, which rejects these Keras 3
# arguments; at their defaults they are left out (Keras 3 then takes its defaults, the same values).
KERAS3_OPTIMIZER_DEFAULTS = {"weight_decay": None, "use_ema": False, "ema_momentum": 0.99,
                             "ema_overwrite_frequency": None, "loss_scale_factor": None,
                             "gradient_accumulation_steps": None}


def keras2_spelling(config):
    """A model config as tf.keras 2 writes it, which Keras 3 reads too: dtype policies as their dtype name,
    `batch_input_shape` for `batch_shape`, list-style inbound nodes, and no Keras-3-only keys."""
    if isinstance(config, list):
        return [keras2_spelling(item) for item in config]
    if not isinstance(config, dict):
        return config
    if config.get("class_name") == "DTypePolicy":
        return config["config"]["name"]
    spelled = {}
    for key, value in config.items():
        if key in KERAS3_ONLY_KEYS:
            continue
        if key == "inbound_nodes":
            spelled[key] = [_keras2_node(node) for node in value]
        else:
            spelled["batch_input_shape" if key == "batch_shape" else key] = keras2_spelling(value)
    return spelled


def _keras2_node(node):
    """Keras 3's node {args, kwargs} as Keras 2's [[layer name, node index, tensor index, kwargs], ...]."""
    first = node["args"][0]
    return [list(tensor["config"]["keras_history"]) + [{}] for tensor in (first if isinstance(first, list) else [first])]


def _legacy_model_config(config):
    return {**config, "layers": [_legacy_layer_entry(entry) for entry in config["layers"]]}


def _legacy_layer_entry(entry):
    is_model = entry["class_name"] in MODEL_CLASSES and "layers" in entry["config"]
    legacy = {"class_name": entry["class_name"],
              "config": _legacy_model_config(entry["config"]) if is_model else entry["config"]}
    legacy.update({key: entry[key] for key in ("name", "inbound_nodes") if key in entry})
    return legacy


def training_config(model):
    """`training_config`: compile's arguments as Keras 2 objects ({class_name, config}, functions by name),
    loss aliases spelled out, and the optimizer as `optimizer_config`; None for an uncompiled model."""
    config = saving_lib.serialize_compile_config(model)
    if config is None:
        return None
    optimizer = config.pop("optimizer")
    config = _legacy_objects(config)
    config["loss"] = saving_lib._map_structure(config["loss"], _full_loss_name)
    options = {key: value for key, value in optimizer["config"].items()
               if not (key in KERAS3_OPTIMIZER_DEFAULTS and value == KERAS3_OPTIMIZER_DEFAULTS[key])}
    config["optimizer_config"] = {"class_name": optimizer["class_name"], "config": options}
    return config


def _full_loss_name(loss):
    return LOSS_NAMES.get(loss.lower(), loss) if isinstance(loss, str) else loss


def _legacy_objects(value):
    """Keras 3 object dicts as Keras 2 wrote them: {class_name, config}, a plain function as its name."""
    if isinstance(value, dict) and "class_name" in value:
        if value["class_name"] == "function":
            return value["config"]
        return {"class_name": value["class_name"], "config": value["config"]}
    if isinstance(value, dict):
        return {key: _legacy_objects(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_legacy_objects(item) for item in value]
    return value


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """`model.save('m.h5')`: the legacy full-model file, written atomically."""
    import h5py

    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} already exists and `overwrite=False`.")
    attributes = {"keras_version": saving_lib.KERAS_FORMAT_VERSION, "backend": BACKEND,
                  "model_config": json.dumps(legacy_config(model))}
    compiled = training_config(model) if include_optimizer else None
    if compiled is not None:
        attributes["training_config"] = json.dumps(compiled)
    with h5_weights.atomic_path(filepath) as temporary, h5py.File(temporary, "w") as file:
        for key, value in attributes.items():
            file.attrs[key] = value.encode("utf8")
        write_weights_group(file.create_group("model_weights"), model)
        optimizer = getattr(model, "optimizer", None)
        if include_optimizer and optimizer is not None and optimizer.variables:
            _write_arrays(file.create_group("optimizer_weights"), optimizer.variables)


def write_weights_group(group, model):
    """Keras 2's weights layout in `group`: the root of a weights-only file, or `model_weights`."""
    _write_strings(group, "layer_names", [layer.name for layer in model.layers])
    group.attrs["backend"] = BACKEND.encode("utf8")
    group.attrs["keras_version"] = saving_lib.KERAS_FORMAT_VERSION.encode("utf8")
    # Created in name order, as Keras does, so that no group name is created after one it prefixes.
    for layer in sorted(model.layers, key=lambda layer: layer.name):
        _write_arrays(group.create_group(layer.name), _legacy_weights(layer))
    _write_arrays(group.create_group(TOP_LEVEL_GROUP), [])


def _write_arrays(group, variables):
    names = _unique([variable.path for variable in variables])
    _write_strings(group, "weight_names", names)
    for name, variable in zip(names, variables):
        group.create_dataset(name, data=np.asarray(variable.value))


def _unique(names):
    seen = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, -1) + 1
        unique.append(name if not seen[name] else f"{name}_{seen[name]}")
    return unique


def _write_strings(group, name, values):
    encoded = [value.encode("utf8") for value in values]
    data = np.asarray(encoded)
    chunks = 1
    while data.nbytes / chunks > HDF5_OBJECT_HEADER_LIMIT:
        chunks += 1
    if chunks == 1:
        group.attrs[name] = encoded  # a list, as Keras passes it: h5py stores variable-length strings
    else:
        for index, chunk in enumerate(np.array_split(data, chunks)):
            group.attrs[f"{name}{index}"] = chunk


def _legacy_weights(layer):
    """A layer's weights in Keras 2's order: trainable ones, then the others."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


# ----------------------------------------------------------------------------------------- load
def load_model(filepath, custom_objects=None, compile=True):
    """The model in a legacy `.h5` file (Keras 3's or tf.keras 2's), compiled when the file says how
    and `compile=True`, with its weights and optimizer state."""
    filepath = os.fspath(filepath)
    with _open(filepath) as file, h5_weights.corrupted_hdf5_as_value_error(filepath, "Cannot load"):
        model_config = _json_attribute(file, "model_config", filepath)
        if model_config is None:
            raise ValueError(f"No model config found in the file at {filepath}: it holds weights only "
                             "(load them with `model.load_weights`) or is not a Keras model file.")
        training = _json_attribute(file, "training_config", filepath) if compile else None
        model = _rebuild(model_config, training, custom_objects, filepath)
        if "model_weights" not in file:
            raise ValueError(f"Cannot load '{filepath}': it has a model config but no 'model_weights' group.")
        assignments = _layer_assignments(model, file["model_weights"], filepath)
        if training is not None and "optimizer_weights" in file:
            stored = _with_learning_rate(model, _stored_arrays(file["optimizer_weights"], filepath))
            assignments += h5_weights._optimizer_assignments(model, model.optimizer, stored)
        _assign(assignments)
    return model


def _with_learning_rate(model, stored):
    """tf.keras 2 keeps no learning rate among its optimizer weights (the iteration count, then each
    weight's slots, as Keras 3 orders them): the compiled learning rate takes its place."""
    if not stored or any("learning_rate" in dataset.name for dataset in stored):
        return stored
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_weights)
    return stored[:1] + [optimizer.variables[1].value] + stored[1:]


def _rebuild(model_config, training, custom_objects, filepath):
    from minikeras.layers import deserialize

    if not isinstance(model_config, dict) or "class_name" not in model_config or "config" not in model_config:
        raise ValueError(f"Cannot load '{filepath}': its model_config is not a Keras model config "
                         "(expected a dict with 'class_name' and 'config').")
    try:
        model = deserialize(normalize_config(model_config), custom_objects=custom_objects)
        if training is not None:
            model.compile(**compile_arguments(training, custom_objects))
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, MemoryError) as error:
        raise ValueError(f"Cannot rebuild the model saved in '{filepath}': {error!s}") from None
    return model


def normalize_config(entry):
    """A layer or model entry with Keras 2's spellings rewritten as Keras 3 reads them (a new dict)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        return entry
    config = dict(entry["config"])
    if "module" not in entry:  # Keras 3's own entries carry their module and need no rewriting
        axis = config.get("axis")
        if isinstance(axis, list) and len(axis) == 1:
            config["axis"] = int(axis[0])
        config.pop("time_major", None)  # tf.keras 2's recurrent layers; always False in saved models
        for key in ("input_layers", "output_layers"):
            if key in config:
                config[key] = _single_tensor_unwrapped(config[key])
    if isinstance(config.get("layers"), list):
        config["layers"] = [normalize_config(layer) for layer in config["layers"]]
    if isinstance(config.get("layer"), dict):
        config["layer"] = normalize_config(config["layer"])
    normalized = {**entry, "config": config}
    if "inbound_nodes" in entry:
        normalized["inbound_nodes"] = [_keras3_node(node) for node in entry["inbound_nodes"]]
    return normalized


def _single_tensor_unwrapped(structure):
    """Keras 2 listed a single input or output as [[name, node, tensor]]; Keras 3 gives such a model a
    tensor, not a one-element list."""
    if isinstance(structure, list) and len(structure) == 1 and isinstance(structure[0], list):
        return structure[0]
    return structure


def _keras3_node(node):
    """Keras 2's node [[layer_name, node_index, tensor_index, kwargs], ...] as Keras 3's {args, kwargs}."""
    if isinstance(node, dict):
        return node
    tensors = [{"class_name": "__keras_tensor__", "config": {"keras_history": list(item[:3])}} for item in node]
    kwargs = next((item[3] for item in node if len(item) > 3 and item[3]), {})
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}


def compile_arguments(training, custom_objects=None):
    """compile()'s keyword arguments from a `training_config`, Keras 2's or Keras 3's."""
    config = dict(training)
    optimizer = config.pop("optimizer_config", None)
    if isinstance(optimizer, dict):
        class_name = str(optimizer.get("class_name", "")).removeprefix("Custom>")
        options = {key: value for key, value in (optimizer.get("config") or {}).items()
                   if key not in KERAS2_OPTIMIZER_KEYS}
        config["optimizer"] = {"class_name": class_name, "config": options}
    config["loss"] = saving_lib._map_structure(config.get("loss"), _keras3_loss)
    for key in ("metrics", "weighted_metrics"):
        config[key] = _keras3_metrics(config.get(key))
    return saving_lib.deserialize_compile_config(config, custom_objects)


def _keras3_metrics(metrics):
    """tf.keras 2 stored compiled metrics as one list per output, and metric functions as MeanMetricWrapper
    entries: a one-output model's list is unwrapped, and each wrapper becomes its metric's name."""
    if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list):
        metrics = metrics[0]
    if isinstance(metrics, list):
        return [_keras3_metrics(metric) for metric in metrics]
    if isinstance(metrics, dict) and metrics.get("class_name") == "MeanMetricWrapper":
        return metrics["config"].get("name") or metrics["config"].get("fn")
    return metrics


def _keras3_loss(loss):
    """tf.keras 2's loss reduction "auto" meant averaging over the batch, Keras 3's default."""
    if isinstance(loss, dict) and isinstance(loss.get("config"), dict) and loss["config"].get("reduction") == "auto":
        return {**loss, "config": {**loss["config"], "reduction": "sum_over_batch_size"}}
    return loss


def load_weights(model, filepath, skip_mismatch=False, by_name=False):
    """`model.load_weights('w.h5')`: a Keras 2 weights-only file, or the weights of a full-model `.h5`;
    by layer order (layers without weights skipped), or by layer name with `by_name=True`."""
    import h5py

    filepath = os.fspath(filepath)
    with _open(filepath) as file, h5_weights.corrupted_hdf5_as_value_error(filepath, "Cannot read weights from"):
        group = file
        if "layer_names" not in file.attrs and "layer_names0" not in file.attrs and "model_weights" in file:
            group = file["model_weights"]
        if not isinstance(group, h5py.Group) or not _strings(group, "layer_names"):
            raise ValueError(f"'{filepath}' holds no Keras 2 weights (no 'layer_names' attribute).")
        _assign(_layer_assignments(model, group, filepath, skip_mismatch, by_name))


def _layer_assignments(model, group, filename, skip_mismatch=False, by_name=False):
    """(variable, array) pairs for the model's layers from a Keras 2 weights group, all checked first."""
    layer_names = _strings(group, "layer_names")
    stored = {name: _stored_arrays(_member(group, name, filename), filename) for name in layer_names}
    if by_name:
        layers_by_name = {layer.name: layer for layer in model.layers}
        pairs = [(layers_by_name[name], name) for name in layer_names if name in layers_by_name]
    else:
        layers = [layer for layer in model.layers if _legacy_weights(layer)]
        saved = [name for name in layer_names if stored[name]]
        if len(saved) != len(layers):
            raise ValueError(f"Cannot load weights from '{filename}': layer count mismatch. The model has "
                             f"{len(layers)} layers with weights {[layer.name for layer in layers]}, the file "
                             f"has {len(saved)} {saved}; it was saved from a different architecture.")
        pairs = list(zip(layers, saved))
    assignments = []
    for layer, name in pairs:
        entry = h5_weights.WeightEntry(name, layer.name, _legacy_weights(layer))
        problem = h5_weights._mismatch(entry, stored[name])
        if problem:
            message = f"layer '{layer.name}' (saved as '{name}'): {problem}"
            if skip_mismatch:
                warnings.warn(f"Skipping loading weights from '{filename}' for {message}", stacklevel=4)
                continue
            raise ValueError(f"Cannot load weights from '{filename}' into {message}")
        assignments += zip(entry.variables, h5_weights._read(stored[name]))
    if TOP_LEVEL_GROUP in group and _strings(group[TOP_LEVEL_GROUP], "weight_names"):
        raise ValueError(f"Cannot load weights from '{filename}': it holds weights of the model itself "
                         f"({_strings(group[TOP_LEVEL_GROUP], 'weight_names')}), which this model does not have.")
    return assignments


def _assign(assignments):
    for variable, value in assignments:
        variable.value[...] = value


def _member(group, name, filename):
    import h5py

    item = group.get(name)
    if not isinstance(item, h5py.Group):
        raise ValueError(f"Cannot load weights from '{filename}': '{group.name}' lists layer '{name}', "
                         "but has no group of that name.")
    return item


def _stored_arrays(group, filename):
    """The datasets a group's `weight_names` lists, unread: shapes are checked before any data is read."""
    import h5py

    datasets = []
    for name in _strings(group, "weight_names"):
        item = group.get(name)
        if not isinstance(item, h5py.Dataset):
            raise ValueError(f"Cannot load weights from '{filename}': '{group.name}' lists weight '{name}', "
                             "but has no dataset of that name.")
        datasets.append(item)
    return datasets


def _strings(group, name):
    """A list-of-names attribute, whole or split into `name0`, `name1`, ... as Keras writes long ones."""
    if name in group.attrs:
        chunks = [group.attrs[name]]
    else:
        chunks = []
        while f"{name}{len(chunks)}" in group.attrs:
            chunks.append(group.attrs[f"{name}{len(chunks)}"])
    return [value.decode("utf8") if isinstance(value, bytes) else str(value)
            for chunk in chunks for value in np.atleast_1d(chunk)]


def _json_attribute(file, name, filepath):
    value = file.attrs.get(name)
    if value is None:
        return None
    if isinstance(value, np.ndarray) or len(value) > saving_lib.MAX_JSON_BYTES:
        raise ValueError(f"Cannot load '{filepath}': its '{name}' attribute is not a JSON text of a sensible size.")
    try:
        return json.loads(value.decode("utf8") if isinstance(value, bytes) else value)
    except saving_lib.JSON_ERRORS as error:
        raise ValueError(f"Cannot load '{filepath}': its '{name}' attribute is not valid JSON ({error}).") from None


def _open(filepath):
    import h5py

    if not os.path.exists(filepath):
        raise ValueError(f"File not found: filepath={filepath}. Please ensure the file is an accessible `.h5` file.")
    try:
        return h5py.File(filepath, "r")
    except h5_weights.HDF5_READ_ERRORS as error:
        raise ValueError(f"Cannot load '{filepath}': it is not a readable HDF5 file (truncated, corrupted or "
                         f"another format). Details: {error}") from None

"""Keras 3's `.weights.h5` layout: write and read a model's (and its optimizer's) variables.

Keras walks the model as a tree and stores each object's own variables as datasets "0", "1", ... in a
group `<path>/vars` (the model's own at the root `vars`), with the object's name as the group's `name`
attribute. A Sequential or Functional model's children sit in its `layers` list, each named by its class
in snake_case, numbered `_1`, `_2` ... when a class repeats (`layers/dense`, `layers/dense_1`); a
wrapper's or subclassed model's children are named by the attribute that holds them (`forward_layer`,
`layer`), in alphabetical order; a layer reached twice is saved at its first place only. A recurrent
layer keeps its variables in its cell (`layers/lstm/cell/vars`); the optimizer's variables (iteration,
learning rate, then the slots) are in `optimizer/vars`. Paths, not layer names, tie a file to a model,
so auto-generated names need not match.

h5py is imported only here, inside the functions that touch a file.
"""
import contextlib
import io
import os
import uuid
import warnings

import numpy as np

from minikeras.backend import to_snake_case

OPTIMIZER_PATH = "optimizer"
# What h5py raises on a corrupted file once it is open, besides OSError: RuntimeError from its link and
# group walks, KeyError when an object header cannot be parsed, TypeError or UnicodeError for a garbled
# name, OverflowError for an offset beyond any file (and a plain ValueError for a garbled number type).
HDF5_READ_ERRORS = (OSError, RuntimeError, KeyError, TypeError, OverflowError, UnicodeError)


class WeightEntry:
    """One object's own variables and where Keras stores them: group `<path>/vars`, attribute `name`."""

    def __init__(self, path, name, variables):
        self.path = path
        self.name = name
        self.variables = list(variables)

    @property
    def group(self):
        return f"{self.path}/vars" if self.path else "vars"


def weight_entries(model):
    """The model's variables grouped as Keras saves them, in Keras's walk order (optimizer last)."""
    entries = list(_layer_entries(model, "", set()))
    if getattr(model, "optimizer", None) is not None:
        entries.append(WeightEntry(OPTIMIZER_PATH, model.optimizer.name, model.optimizer.variables))
    return entries


def _layer_entries(layer, path, visited):
    from minikeras.layers.recurrent import BaseRNN

    if id(layer) in visited:  # a shared layer is saved once, at its first place
        return
    visited.add(id(layer))
    own = list(getattr(layer, "_variables", []))
    if isinstance(layer, BaseRNN):
        # Keras's recurrent layers hold their variables in a cell sub-layer ("lstm" -> "lstm/cell").
        yield WeightEntry(path, layer.name, [])
        yield WeightEntry(_join(path, "cell"), f"{to_snake_case(type(layer).__name__)}_cell", own)
    else:
        yield WeightEntry(path, layer.name, own)
    for attribute, child in _children(layer):
        if isinstance(child, (list, tuple)):
            used = {}
            for item in child:
                yield from _layer_entries(item, _join(path, attribute, _unique_name(item, used)), visited)
        else:
            yield from _layer_entries(child, _join(path, attribute), visited)


def _children(layer):
    """(attribute name, layer or list of layers) pairs, as Keras's saving walk finds them."""
    from minikeras.layers.layer import Layer
    from minikeras.models.functional import Functional
    from minikeras.models.model import Model
    from minikeras.models.sequential import Sequential

    if isinstance(layer, (Sequential, Functional)):
        return [("layers", layer.layers)]
    children = {}
    for attribute, value in vars(layer).items():
        if attribute.startswith("_"):
            continue
        if isinstance(value, Layer):
            children[attribute] = value
        elif isinstance(value, (list, tuple)) and value and all(isinstance(item, Layer) for item in value):
            children[attribute] = list(value)
    if isinstance(layer, Model):
        # A subclassed model also shows Keras its `layers` list (in assignment order), walked in its
        # alphabetical place: a layer held by an attribute sorting after "layers" is saved under it.
        children["layers"] = [value for value in children.values() if isinstance(value, Layer)]
    return sorted(children.items())


def _unique_name(layer, used):
    name = to_snake_case(type(layer).__name__)
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _join(*parts):
    return "/".join(part for part in parts if part)


# ----------------------------------------------------------------------------------------- write
@contextlib.contextmanager
def atomic_path(filepath):
    """A temporary path in `filepath`'s folder, moved over `filepath` only when the block succeeds,
    so an interrupted write never replaces a good file with a half-written one."""
    folder, name = os.path.split(os.path.abspath(filepath))
    # The writer creates the file itself, so it gets the usual permissions (mkstemp's would be 0600).
    temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        # On disk before the rename, so a power cut cannot leave the new name pointing at unwritten data.
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, filepath)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_weights(model, target):
    """Write the model's variables in Keras 3's layout to `target` (a path or a binary file object)."""
    import h5py

    with h5py.File(target, "w") as file:
        for entry in weight_entries(model):
            group = file.create_group(entry.group)
            group.attrs["name"] = entry.name
            for index, variable in enumerate(entry.variables):
                group.create_dataset(str(index), data=np.asarray(variable.value))


def weights_bytes(model):
    """The `.weights.h5` file as bytes (the `model.weights.h5` member of a `.keras` zip)."""
    buffer = io.BytesIO()
    write_weights(model, buffer)
    return buffer.getvalue()


def save_weights(model, filepath, overwrite=True):
    """`model.save_weights(filepath)`: Keras 3's `.weights.h5`, written atomically."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={filepath}")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} already exists and `overwrite=False`.")
    with atomic_path(filepath) as temporary:
        write_weights(model, temporary)


# ------------------------------------------------------------------------------------------ read
@contextlib.contextmanager
def corrupted_hdf5_as_value_error(filename, action):
    """Inside the block, whatever h5py raises on a corrupted file becomes a ValueError naming the file.

    minikeras's own ValueErrors there already name the file and pass unchanged; h5py's plain ValueErrors
    never do, so the file's name tells them apart.
    """
    try:
        yield
    except (ValueError, *HDF5_READ_ERRORS) as error:
        if type(error) is ValueError and filename in str(error):
            raise
        raise ValueError(f"{action} '{filename}': the HDF5 data is corrupted. Details: {error}") from None


def load_weights(model, filepath, skip_mismatch=False):
    """`model.load_weights(filepath)` for Keras 3's `.weights.h5`."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise ValueError(f"Cannot load weights: file '{filepath}' does not exist.")
    read_weights(model, filepath, filepath, skip_mismatch=skip_mismatch)


def read_weights(model, source, filename, skip_mismatch=False):
    """Load the model's variables from `source` (a path or a binary file object); `filename` names it in errors.

    Every array is read and checked before any is assigned, so a bad file leaves the model unchanged.
    """
    import h5py

    try:
        file = h5py.File(source, "r")
    except HDF5_READ_ERRORS as error:
        raise ValueError(f"Cannot read weights from '{filename}': it is not a readable HDF5 file "
                         f"(truncated, corrupted or another format). Details: {error}") from None
    with file, corrupted_hdf5_as_value_error(filename, "Cannot read weights from"):
        if "model_weights" in file or "layer_names" in file.attrs:
            raise ValueError(f"'{filename}' is a legacy Keras 2 `.h5` file; minikeras reads only Keras 3's "
                             "`.weights.h5` layout so far.")
        if "vars" not in file:
            raise ValueError(f"'{filename}' holds no Keras 3 weights (no root 'vars' group).")
        assignments = _checked_assignments(model, file, filename, skip_mismatch)
    for variable, value in assignments:
        variable.value[...] = value


def _checked_assignments(model, file, filename, skip_mismatch):
    """(variable, array) pairs for every variable the file holds, after checking counts and shapes."""
    entries = weight_entries(model)
    layer_entries = [entry for entry in entries if entry.path != OPTIMIZER_PATH]
    assignments = []
    for entry in layer_entries:
        stored = _stored_datasets(file, entry.group, filename)
        if not entry.variables and not stored:
            continue
        problem = _mismatch(entry, stored)
        if problem:
            if skip_mismatch:
                warnings.warn(f"Skipping loading weights for layer '{entry.name}' from '{filename}': {problem}",
                              stacklevel=4)
                continue
            raise ValueError(f"Cannot load weights from '{filename}' into layer '{entry.name}' "
                             f"(group '{entry.group}'): {problem}")
        assignments += zip(entry.variables, _read(stored))
    _check_nothing_left(file, filename, {entry.group for entry in entries})
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and OPTIMIZER_PATH in file:
        stored = _stored_datasets(file, f"{OPTIMIZER_PATH}/vars", filename)
        assignments += _optimizer_assignments(model, optimizer, stored)
    return assignments


def _stored_datasets(file, group_path, filename):
    """The datasets "0", "1", ... of a `vars` group, unread: shapes are checked before any data is
    read, so a file claiming huge arrays costs nothing."""
    import h5py

    if group_path not in file:
        return []
    group = file[group_path]
    keys = list(group) if isinstance(group, h5py.Group) else None
    if keys is None or sorted(keys) != sorted(str(index) for index in range(len(keys))) \
            or not all(isinstance(group[key], h5py.Dataset) for key in keys):
        raise ValueError(f"Cannot load weights from '{filename}': '{group_path}' is not a group of datasets "
                         "named 0, 1, 2, ...")
    return [group[str(index)] for index in range(len(keys))]


def _read(datasets):
    return [np.asarray(dataset[()]) for dataset in datasets]


def _mismatch(entry, stored):
    """Why `stored` cannot fill `entry`'s variables, or None when it can."""
    if len(stored) != len(entry.variables):
        expected = [variable.name for variable in entry.variables]
        return (f"expected {len(entry.variables)} variables {expected}, but the file has {len(stored)}"
                + (" (the layer's weights are missing from the file)." if not stored else "."))
    for variable, value in zip(entry.variables, stored):
        if value.shape != variable.shape:
            return (f"variable '{variable.name}' has shape {variable.shape}, but the file's has shape "
                    f"{value.shape}.")
        if value.dtype.kind not in "biuf":
            return f"variable '{variable.name}' is stored as {value.dtype}, not as numbers."
    return None


def _check_nothing_left(file, filename, known_groups):
    """Weights the model has no place for mean the file describes another model: refuse rather than
    silently load a part of it."""
    import h5py

    leftovers = []

    def visit(name, item):
        is_vars = name == "vars" or name.endswith("/vars")
        if isinstance(item, h5py.Group) and is_vars and len(item) and name not in known_groups \
                and not name.startswith(OPTIMIZER_PATH + "/"):
            leftovers.append(name)

    file.visititems(visit)
    if leftovers:
        raise ValueError(f"Cannot load weights from '{filename}': it holds weights that this model has no "
                         f"layer for, in groups {sorted(leftovers)}; it was saved from a different architecture.")


def _optimizer_assignments(model, optimizer, stored):
    """The optimizer's variables from the file; built first when needed, skipped with Keras's warning
    when the counts differ (e.g. a file saved before any training step)."""
    if not optimizer.built and len(stored) > len(optimizer.variables):
        optimizer.build(model.trainable_weights)
    variables = optimizer.variables
    if len(stored) != len(variables):
        reason = f"it has {len(variables)} variables whereas the saved optimizer has {len(stored)} variables."
    else:
        reason = next((f"its variable '{v.name}' has shape {v.shape} whereas the saved one has shape {s.shape}."
                       for v, s in zip(variables, stored) if v.shape != s.shape), None)
    if reason:
        warnings.warn(f"Skipping variable loading for optimizer '{optimizer.name}', because {reason}", stacklevel=5)
        return []
    return list(zip(variables, _read(stored)))

"""`keras.saving.save_model` / `load_model` and the weights-file entry points, chosen by file extension."""
import io
import os
import zipfile

from minikeras.saving import h5_weights, legacy_h5, saving_lib
from minikeras.utils.argument_validation import check_bool, check_path


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """`model.save(filepath)`: Keras 3's `.keras` zip, or the legacy Keras 2 format for `.h5`/`.hdf5`."""
    _check_model(model)
    filepath = check_path(filepath, "filepath")
    check_bool(overwrite, "overwrite")
    if filepath.endswith((".h5", ".hdf5")):
        return legacy_h5.save_model(model, filepath, overwrite=overwrite, **kwargs)
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs)}")
    if zipped is False:
        raise ValueError("minikeras saves `.keras` files zipped only: pass `zipped=None` or `zipped=True`.")
    if not filepath.endswith(".keras"):
        raise ValueError(
            "Invalid filepath extension for saving. Please add either a `.keras` extension for the native "
            f"Keras format (recommended) or a `.h5` extension. Received: filepath={filepath}."
        )
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} already exists and `overwrite=False`.")
    saving_lib.save_model(model, filepath)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model saved with `save_model` (or by Keras 3) in a `.keras` zip.

    Loading never runs code from the file; `safe_mode` is accepted for Keras's signature (minikeras has
    no layer that carries code, so there is nothing it would unlock).
    """
    filepath = check_path(filepath, "filepath")
    check_bool(compile, "compile")
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError("`custom_objects` must be a dict mapping names to classes or functions. "
                        f"Received: custom_objects={custom_objects!r} (of type {type(custom_objects).__name__})")
    if not os.path.exists(filepath):
        raise ValueError(f"File not found: filepath={filepath}. Please ensure the file is an accessible "
                         "`.keras` zip file.")
    if filepath.endswith(".keras") or zipfile.is_zipfile(filepath):
        return saving_lib.load_model(filepath, custom_objects=custom_objects, compile=compile)
    if filepath.endswith((".h5", ".hdf5")):
        return legacy_h5.load_model(filepath, custom_objects=custom_objects, compile=compile)
    raise ValueError(f"File format not supported: filepath={filepath}. minikeras supports `.keras` files.")


def save_weights(model, filepath, overwrite=True):
    """`model.save_weights(filepath)`: Keras 3's `.weights.h5`."""
    _check_model(model)
    filepath = check_path(filepath, "filepath")
    check_bool(overwrite, "overwrite")
    h5_weights.save_weights(model, filepath, overwrite=overwrite)


def load_weights(model, filepath, skip_mismatch=False, by_name=False):
    """`model.load_weights(filepath)` from a `.weights.h5` file or the weights inside a `.keras` zip."""
    _check_model(model)
    filepath = check_path(filepath, "filepath")
    check_bool(skip_mismatch, "skip_mismatch")
    check_bool(by_name, "by_name")
    if filepath.endswith(".keras"):
        _, weights = saving_lib.read_members(filepath)
        h5_weights.read_weights(model, io.BytesIO(weights), f"{filepath}/{saving_lib.WEIGHTS_FILENAME}",
                                skip_mismatch=skip_mismatch)
    elif filepath.endswith(".weights.h5"):
        h5_weights.load_weights(model, filepath, skip_mismatch=skip_mismatch)
    elif filepath.endswith((".h5", ".hdf5")):
        legacy_h5.load_weights(model, filepath, skip_mismatch=skip_mismatch, by_name=by_name)
    else:
        raise ValueError(f"File format not supported: filepath={filepath}. Keras 3 only supports V3 "
                         "`.keras` and `.weights.h5` files.")


def _check_model(model):
    from minikeras.models.model import Model

    if not isinstance(model, Model):
        raise TypeError(f"`model` must be a Keras model (a `keras.Model`). Received: model={model!r} "
                        f"(of type {type(model).__name__})")

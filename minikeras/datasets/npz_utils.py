"""`load_npz`: read a Keras data set `.npz` whose arrays may hold pickled Python lists, unpickling only arrays."""
import io
import pickle
import zipfile

import numpy as np

# What a pickled object array of lists of ints needs; anything else in a data set file is refused.
ALLOWED_PICKLE_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
})


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds NumPy arrays and plain Python values and refuses every other class."""

    def find_class(self, module, name):
        if (module, name) in ALLOWED_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"Refusing to deserialize `{module}.{name}` while loading a Keras dataset. "
            "The file may be corrupted or malicious.")


def load_npy_member(file):
    """One `.npy` member: read directly when it holds plain numbers, else through `RestrictedUnpickler`."""
    try:
        return np.lib.format.read_array(file, allow_pickle=False)
    except ValueError:  # an object array, stored as a pickle after the header
        file.seek(0)
        version = np.lib.format.read_magic(file)
        if version[0] == 1:
            np.lib.format.read_array_header_1_0(file)
        elif version[0] in (2, 3):
            np.lib.format.read_array_header_2_0(file)
        else:
            raise ValueError(f"Unsupported `.npy` file version: {version}.")
        return RestrictedUnpickler(file).load()


def load_npz(path):
    """{array name: array} for every `.npy` member of the zip archive at `path`."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                with archive.open(member) as raw:
                    arrays[member[:-len(".npy")]] = load_npy_member(io.BytesIO(raw.read()))
    return arrays

"""Turning what users pass to fit/evaluate/predict into checked float arrays, once, before any work."""
import numpy as np

from minikeras import backend


def _is_pandas(data):
    return type(data).__module__.split(".")[0] == "pandas"


def _pandas_to_numpy(data, dtype):
    """A DataFrame/Series as an array; all-numeric columns of mixed dtypes (float, int and the bool columns
    of `pd.get_dummies`) are cast to `dtype` together, where plain `to_numpy()` would give an object array."""
    from pandas.api.types import is_numeric_dtype

    column_dtypes = data.dtypes if data.ndim == 2 else [data.dtype]
    if all(is_numeric_dtype(column_dtype) for column_dtype in column_dtypes):
        return data.to_numpy(dtype=dtype)
    return data.to_numpy()


class BatchList(list):
    """The arrays of a several-input (or several-output) model, indexed together: `batch[rows]` takes the
    same rows of each, and `len` is the number of samples."""

    def __getitem__(self, rows):
        return BatchList(array[rows] for array in self)

    def __len__(self):
        return len(list.__getitem__(self, 0)) if list.__len__(self) else 0

    @property
    def shape(self):
        return list.__getitem__(self, 0).shape


def to_arrays(data, name, several):
    """`to_array` for one array, or for each array of a list/tuple/dict when the model takes `several`
    (a dict keeps its keys; a list becomes a BatchList)."""
    if isinstance(data, dict):
        return {key: to_array(value, f"{name}['{key}']") for key, value in data.items()}
    if several and isinstance(data, (list, tuple)):
        return BatchList(to_array(item, f"{name}[{index}]") for index, item in enumerate(data))
    return to_array(data, name)


def to_array(data, name, dtype=None):
    """`data` (ndarray of any numeric/bool dtype, list, pandas DataFrame/Series) as a float array.

    Raises a TypeError naming the argument for data that is not numeric.
    """
    if data is None:
        return None
    dtype = dtype or backend.floatx()
    if _is_pandas(data):
        data = _pandas_to_numpy(data, dtype)
    if isinstance(data, (str, bytes, dict, set)):
        raise TypeError(f"Unrecognized data type: {name}={data!r} (of type {type(data)}). "
                        "Expected a NumPy array, a Python list of numbers or a pandas DataFrame/Series.")
    try:
        array = np.asarray(data)
    except ValueError as error:
        raise ValueError(f"Argument `{name}` could not be converted to an array: its rows have different "
                         f"lengths ({error})") from None
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(
            f"Argument `{name}` must contain numbers or booleans. Received data of dtype "
            f"{array.dtype} (of type {type(data).__name__}), e.g. {array.reshape(-1)[:3].tolist()}"
        )
    if array.ndim == 0:
        raise ValueError(f"Argument `{name}` must have at least one dimension (one entry per sample). "
                         f"Received a scalar: {name}={array}")
    if array.dtype != dtype:
        array = array.astype(dtype)
    return array


def check_not_empty(array, name):
    if array is not None and len(array) == 0:
        raise ValueError(f"Expected `{name}` to contain at least one sample. Received: {name} with shape {array.shape}")


def check_cardinality(**arrays):
    """Keras's error when x, y and sample_weight do not have the same number of samples."""
    present = {name: [len(item) for item in a] if isinstance(a, BatchList) else [len(a)]
               for name, a in arrays.items() if a is not None}
    if len({size for sizes in present.values() for size in sizes}) > 1:
        sizes = "\n".join(f"'{name}' sizes: {', '.join(map(str, counts))}" for name, counts in present.items())
        raise ValueError(
            "Data cardinality is ambiguous. Make sure all arrays contain the same number of samples."
            f"{sizes}\n"
        )


def class_weight_to_sample_weight(y, class_weight, classes):
    """One weight per sample: class_weight[label], 1.0 for classes the dict does not name.

    The label is the argmax of a one-hot/probability row, or the (rounded) value of a 1-column y; the keys
    must be class indices of the model's output, 0 to `classes` - 1.
    """
    if not isinstance(class_weight, dict):
        raise TypeError(f"`class_weight` must be a dict mapping class indices to weights. "
                        f"Received: class_weight={class_weight!r} (of type {type(class_weight).__name__})")
    for key in class_weight:
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or not 0 <= key < classes:
            raise ValueError(f"The keys of `class_weight` must be class indices, integers from 0 to {classes - 1} "
                             f"(the model's output has {classes} classes). Received the key {key!r} in "
                             f"class_weight={class_weight!r}")
    labels = y
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    labels = np.round(labels).astype(np.int64).reshape(len(y), -1)[:, 0]
    lookup = np.ones(max([int(k) for k in class_weight] + [int(labels.max(initial=0))]) + 1, dtype=backend.floatx())
    for label, weight in class_weight.items():
        lookup[int(label)] = weight
    return lookup[labels]


def unpack_validation_data(validation_data):
    """(x_val, y_val) or (x_val, y_val, sample_weight_val), with Keras's error otherwise."""
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
        x, y, *rest = validation_data
        return x, y, (rest[0] if rest else None)
    raise ValueError(
        "When passing a tuple or list as `validation_data`, it must contain 2 (x_val, y_val) or 3 "
        f"(x_val, y_val, val_sample_weights) items. Received: validation_data of type "
        f"{type(validation_data).__name__}"
        + (f" with {len(validation_data)} items" if isinstance(validation_data, (tuple, list)) else "")
    )


def check_positive_int(value, name, allow_none=True):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"Invalid value for argument `{name}`: expected a positive integer. "
                         f"Received: {name}={value!r}")

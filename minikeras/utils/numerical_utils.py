"""`to_categorical` and `normalize`, with Keras 3's semantics."""
import numpy as np


def to_categorical(x, num_classes=None):
    """One-hot rows (float64, as Keras 3) for integer labels; a trailing axis of size 1 is dropped.

    Labels are cast to int (so 1.7 -> 1); negative labels count from the end, as in NumPy.
    """
    labels = _numeric_array(x, "to_categorical", "integer class labels")
    labels = labels.astype(np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if num_classes is None:
        num_classes = int(labels.max(initial=-1)) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes <= 0:
        raise ValueError(f"`num_classes` must be a positive integer. Received: num_classes={num_classes!r}")
    out_of_range = (labels >= num_classes) | (labels < -num_classes)
    if out_of_range.any():
        raise ValueError(
            f"`to_categorical` got label {labels[out_of_range].reshape(-1)[0]}, outside the range of "
            f"num_classes={num_classes} (labels must be in [0, {num_classes - 1}])."
        )
    categorical = np.zeros(labels.shape + (num_classes,), dtype=np.float64)
    np.put_along_axis(categorical, (labels % num_classes)[..., np.newaxis], 1.0, axis=-1)
    return categorical


def normalize(x, axis=-1, order=2):
    """x divided by its `order`-norm along `axis` (zero norms left as they are).

    Like Keras, a 1-D array comes back with a leading axis of size 1.
    """
    x = _numeric_array(x, "normalize", "numbers")
    if not (isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) and -x.ndim <= axis < max(x.ndim, 1)):
        raise ValueError(f"Invalid value for argument `axis`: expected an integer in [{-x.ndim}, {x.ndim}) for x of "
                         f"shape {x.shape}. Received: axis={axis!r}")
    if isinstance(order, bool) or not isinstance(order, (int, float, np.number)) or not order > 0:
        raise ValueError("Invalid value for argument `order`: expected a positive number (2 for the L2 norm). "
                         f"Received: order={order!r}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis or -1)


def _numeric_array(x, function, expected):
    array = np.asarray(x)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"`{function}` expects {expected}. Received: x with dtype {array.dtype}")
    return array

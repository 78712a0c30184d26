"""Argument checks shared by the layers, with Keras's error texts."""
import numpy as np


def standardize_tuple(value, n, name, allow_zero=False):
    """Keras's `standardize_tuple`: an int or n ints to a tuple, with Keras's error texts."""
    message = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}"
    if isinstance(value, (int, np.integer)):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(message) from None
        if len(values) != n:
            raise ValueError(message)
        for single in values:
            try:
                int(single)
            except (ValueError, TypeError):
                raise ValueError(message + f"including element {single} of type {type(single)}") from None
        values = tuple(int(v) for v in values)
    bad = {v for v in values if (v < 0 if allow_zero else v <= 0)}
    if bad:
        requirement = ">= 0" if allow_zero else "> 0"
        raise ValueError(message + f", including values {bad} that do not satisfy `value {requirement}`")
    return values

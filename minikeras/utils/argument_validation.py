"""Argument checks shared across the API: each names the argument and the value received."""
import collections.abc
import os

import numpy as np

from minikeras import backend


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


def standardize_data_format(data_format):
    """'channels_last' (Keras's default here) or 'channels_first', in Keras's words otherwise."""
    data_format = backend.image_data_format() if data_format is None else str(data_format).lower()
    if data_format not in {"channels_first", "channels_last"}:
        raise ValueError("The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
                         f"Received: data_format={data_format}")
    return data_format


def standardize_padding(padding, allow_causal=False):
    """'valid' or 'same' (or 'causal' where allowed), lowercased, in Keras's words otherwise."""
    allowed = "{'valid', 'same', 'causal'}" if allow_causal else "{'same', 'valid'}"
    text = padding.lower() if isinstance(padding, str) else padding
    if text not in (("valid", "same", "causal") if allow_causal else ("valid", "same")):
        raise ValueError(f"The `padding` argument must be a list/tuple or one of {allowed}. Received: {padding}")
    return text


def _is_real(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_integer(value, name, minimum=0):
    """`value` as an int >= `minimum`, or a ValueError naming `name`.

    A whole float (3.0) passes, as the arithmetic Keras does with it works; bools do not (`True` is no count).
    """
    if not _is_real(value) or np.isnan(value) or not float(value).is_integer() or value < minimum:
        raise ValueError(f"Invalid value for argument `{name}`: expected an integer >= {minimum}. "
                         f"Received: {name}={value!r}")
    return int(value)


def check_number(value, name, minimum=None, maximum=None, maximum_included=True, allow_none=False):
    """`value` as a float within the bounds given (NaN and bools refused), or a ValueError naming `name`."""
    if value is None and allow_none:
        return None
    in_range = _is_real(value) and not np.isnan(value)
    if in_range and minimum is not None:
        in_range = value >= minimum
    if in_range and maximum is not None:
        in_range = value <= maximum if maximum_included else value < maximum
    if not in_range:
        if maximum is None:
            expected = "a number" if minimum is None else f"a number >= {minimum}"
        else:
            expected = f"a number in [{minimum}, {maximum}{']' if maximum_included else ')'}"
        raise ValueError(f"Invalid value for argument `{name}`: expected {expected}. Received: {name}={value!r}")
    return float(value)


def check_callable(value, name, allow_none=False):
    if not (callable(value) or allow_none and value is None):
        raise TypeError(f"`{name}` must be a callable. Received: {name}={value!r} (of type {type(value).__name__})")
    return value


def check_iterable(value, name):
    if not isinstance(value, collections.abc.Iterable):
        raise TypeError(f"`{name}` must be a list (or another iterable). Received: {name}={value!r} "
                        f"(of type {type(value).__name__})")
    return value


def check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be True or False. Received: {name}={value!r} (of type {type(value).__name__})")
    return bool(value)


def check_path(value, name):
    """A str path for `value` (a str or os.PathLike), or a TypeError naming `name`."""
    try:
        path = os.fspath(value)
    except TypeError:
        raise TypeError(f"`{name}` must be a path (a str or os.PathLike). Received: {name}={value!r} "
                        f"(of type {type(value).__name__})") from None
    if not isinstance(path, str):
        raise TypeError(f"`{name}` must be a str path. Received: {name}={value!r} (of type {type(value).__name__})")
    return path

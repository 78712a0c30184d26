"""pad_sequences: a list of variable-length sequences as one rectangular array."""
import numpy as np

from minikeras.utils.argument_validation import check_integer

_SIDES = ("pre", "post")


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """A `(len(sequences), maxlen) + sample_shape` array of `dtype`, filled with `value`, holding each sequence.

    `maxlen` defaults to the longest sequence. Longer sequences lose their first (`truncating='pre'`) or
    last (`'post'`) steps; shorter ones are padded before (`padding='pre'`) or after (`'post'`) them.
    Empty sequences are rows of `value`.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    if padding not in _SIDES:
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in _SIDES:
        raise ValueError(f'Truncating type "{truncating}" not understood')
    if maxlen is not None:
        maxlen = check_integer(maxlen, "maxlen")
    if np.ndim(value) != 0:
        raise ValueError(f"Invalid value for argument `value`: expected one padding value (a scalar). "
                         f"Received: value={value!r}")
    try:
        np.dtype(dtype)
    except TypeError:
        raise ValueError(f"Invalid value for argument `dtype`: not a NumPy dtype. Received: dtype={dtype!r}") from None
    is_dtype_str = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_dtype_str:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
                         f"You should set `dtype=object` for variable length strings.")
    lengths = [_length(sequence) for sequence in sequences]
    sample_shape = next((np.asarray(s).shape[1:] for s, n in zip(sequences, lengths) if n), ())
    if maxlen is None:
        maxlen = max(lengths, default=0)
    padded = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    for row, (sequence, length) in enumerate(zip(sequences, lengths)):
        if not length or not maxlen:
            continue
        kept = np.asarray(sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen], dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {kept.shape[1:]} of sequence at position {row} is different "
                             f"from expected shape {sample_shape}")
        if padding == "post":
            padded[row, :len(kept)] = kept
        else:
            padded[row, maxlen - len(kept):] = kept
    return padded


def _length(sequence):
    try:
        return len(sequence)
    except TypeError as error:
        raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {sequence}") from error

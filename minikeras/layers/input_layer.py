"""`Input` and `InputLayer`: the declared shape a model starts from."""
import numpy as np

from minikeras import backend
from minikeras.layers.keras_tensor import KerasTensor
from minikeras.layers.layer import Layer
from minikeras.utils.argument_validation import check_integer


class InputLayer(Layer):
    """Declares the input shape of a model; the identity in both passes."""

    builds_at_init = True

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, input_shape=None, batch_input_shape=None, **kwargs):
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        shape = shape if shape is not None else input_shape
        if shape is not None and batch_shape is not None:
            raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
        if shape is None and batch_shape is None:
            raise ValueError("You must pass a `shape` argument.")
        if batch_size is not None:
            check_integer(batch_size, "batch_size", minimum=1)
        if shape is not None:
            shape = (shape,) if isinstance(shape, (int, np.integer)) else _checked_shape(shape)
            batch_shape = (batch_size,) + shape
        super().__init__(name=name or backend.unique_name("input_layer"), dtype=dtype, **kwargs)
        self.batch_shape = _checked_shape(batch_shape)
        for dim in self.batch_shape[1:]:
            if dim is not None and dim <= 0:
                raise ValueError(f"Received an invalid `shape` for `Input`: every dimension must be a positive "
                                 f"integer or None. Received: shape={self.batch_shape[1:]}")
        self.sparse = bool(sparse)
        self.optional = optional
        self.built = True
        self.output_shape = (None,) + self.batch_shape[1:]
        self._output_tensor = KerasTensor(self.output_shape, self.dtype, self)

    @property
    def output(self):
        return self._output_tensor

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "sparse": self.sparse,
                "ragged": False, "name": self.name, "optional": self.optional}

    @classmethod
    def from_config(cls, config):
        config = {k: v for k, v in config.items() if k not in ("ragged",)}
        return cls(**config)


def _checked_shape(shape):
    """`shape` as a tuple of ints and Nones, with Keras's error for anything else (a str, a float dimension)."""
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"Cannot convert '{shape}' to a shape.") from None
    for dim in dims:
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer))):
            raise ValueError(f"Cannot convert '{shape}' to a shape. Found invalid dimension '{dim}' of type "
                             f"'{type(dim)}'.")
    return tuple(None if d is None else int(d) for d in dims)


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False):
    """A symbolic input of the given shape (batch dim excluded), to start a model from."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name, optional=optional)
    return layer.output

"""`Variable`: one array with a name, shared by its layer, the optimizer and the saving code."""
import numpy as np


class Variable:
    """A named NumPy array that is updated in place.

    `value` is the array itself (never rebound after creation, so the layer, the optimizer and
    any buffer holding it stay in sync); `grad` is filled by the owning layer's `backward`.
    """

    def __init__(self, value, name, trainable=True, path=None, constraint=None, dtype=None):
        self.value = np.array(value, dtype=dtype or np.asarray(value).dtype)
        self.name = name
        self.path = path or name
        self.trainable = trainable
        self.constraint = constraint
        self.grad = None
        # For a gradient gathered from row lookups (Embedding), the lookups themselves (a LookupGradient):
        # TensorFlow hands Keras such gradients as sparse slices, which the optimizers square or take the
        # absolute value of per lookup, before repeated rows are summed; None for ordinary gradients.
        self.grad_lookups = None

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def ndim(self):
        return self.value.ndim

    def numpy(self):
        return self.value.copy()

    def assign(self, value):
        value = np.asarray(value)
        if value.shape != self.value.shape:
            raise ValueError(
                f"The shape of the target variable and the shape of the target value in "
                f"`variable.assign(value)` must match. variable.shape={self.value.shape}, "
                f"Received: value.shape={value.shape}. Target variable: {self.path}"
            )
        self.value[...] = value
        return self

    def assign_add(self, value):
        self.value += value
        return self

    def assign_sub(self, value):
        self.value -= value
        return self

    def __array__(self, dtype=None, copy=None):
        return self.value if dtype is None else self.value.astype(dtype)

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, value={self.value}>"

"""`Metric`: the base class of every stateful metric (state in Variables, updated batch by batch)."""
import numpy as np

from minikeras import backend
from minikeras.variables import Variable


class Metric:
    """Accumulates statistics over batches and reduces them to one value.

    update_state(...) adds a batch's statistics to the state Variables (in place);
    result() reads the state; reset_state() zeroes it (Keras calls it between epochs).
    """

    # Which way EarlyStopping and ReduceLROnPlateau count as better in mode 'auto': "up", "down" or None (unknown).
    _direction = None

    def __init__(self, dtype=None, name=None):
        self.name = name or backend.unique_name(backend.to_snake_case(type(self).__name__))
        self._dtype = np.dtype(dtype or backend.floatx()).name
        self._variables = []

    @property
    def dtype(self):
        return self._dtype

    @property
    def variables(self):
        return list(self._variables)

    def add_variable(self, shape, name):
        """A zero-initialised, non-trainable state Variable of the metric's dtype."""
        variable = Variable(
            np.zeros(shape, dtype=self._dtype), name=name, trainable=False, path=f"{self.name}/{name}"
        )
        self._variables.append(variable)
        return variable

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self):
        for variable in self._variables:
            variable.value.fill(0)

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

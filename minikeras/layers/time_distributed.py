"""`TimeDistributed`: one layer applied to every timestep of a sequence (Keras 2's `keras.layers.wrappers`)."""
import numpy as np

from minikeras.layers.layer import Layer
from minikeras.layers.serialization import deserialize, serialize

__all__ = ["TimeDistributed"]


class TimeDistributed(Layer):
    """y[:, t] = layer(x[:, t]) for every timestep t, with the inner layer's weights shared across time.

    Forward folds time into the batch: x (batch, T, ...) -> (batch*T, ...) -> layer -> (batch, T, ...).
    Backward unfolds dy the same way, so the inner layer's weight gradients sum over batch and time and
    dx is the inner layer's input gradient reshaped back to (batch, T, ...).
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `TimeDistributed` layer with a `keras.layers.Layer` instance. "
                             f"Received: {layer}")
        super().__init__(**kwargs)
        self.layer = layer

    @property
    def input_grad_needed(self):
        return getattr(self.layer, "input_grad_needed", True)

    @input_grad_needed.setter
    def input_grad_needed(self, needed):
        if hasattr(self.layer, "input_grad_needed"):
            self.layer.input_grad_needed = needed

    def _sublayers(self):
        return [self.layer]

    def _child_input_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at least 3 dimensions, "
                             f"received: {input_shape}")
        return (input_shape[0],) + tuple(input_shape[2:])

    def check_input_shape(self, input_shape):
        child_shape = self._child_input_shape(input_shape)
        if self.layer.built:
            self.layer.check_input_shape(child_shape)

    def build(self, input_shape):
        self.layer.build_from_shape(self._child_input_shape(input_shape))

    def compute_output_shape(self, input_shape):
        child_output_shape = self.layer.compute_output_shape(self._child_input_shape(input_shape))
        return (child_output_shape[0], input_shape[1]) + tuple(child_output_shape[1:])

    @staticmethod
    def _fold(array):
        return array.reshape((-1,) + array.shape[2:])

    def call(self, inputs, training=False, mask=None):
        # The inner layer's own `call`/`backward`, as Keras calls it: its activity regularizer is not applied.
        self._batch_and_time = inputs.shape[:2]
        if mask is not None and self.layer._call_has_mask:
            outputs = self.layer.call(self._fold(inputs), training=training, mask=self._fold(np.asarray(mask)))
        else:
            outputs = self.layer.call(self._fold(inputs), training=training)
        return outputs.reshape(self._batch_and_time + outputs.shape[1:])

    def backward(self, grad_output):
        grad_input = self.layer.backward(self._fold(grad_output))
        if grad_input is None:
            return None
        return grad_input.reshape(self._batch_and_time + grad_input.shape[1:])

    def get_config(self):
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize(config.pop("layer"), custom_objects=custom_objects)
        return super().from_config({**config, "layer": layer})

"""`Bidirectional`: a recurrent layer run over the sequence in both directions, outputs merged."""
import numpy as np

from minikeras.layers.layer import Layer
from minikeras.layers.serialization import serialize

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _copy_named(layer, prefix, **changes):
    """A fresh, unbuilt copy of `layer` from its config, named `<prefix>_<name>` as Keras names it."""
    name = layer.name[len(prefix) + 1:] if layer.name.startswith(prefix + "_") else layer.name
    return type(layer).from_config({**layer.get_config(), "name": f"{prefix}_{name}", **changes})


class Bidirectional(Layer):
    """y = merge(forward(x), reverse_time(backward(x))), the backward copy running with go_backwards=True.

    merge: concat [y_f, y_b] on the last axis, sum y_f + y_b, ave (y_f + y_b) / 2, mul y_f * y_b, or None
    (the list [y_f, y_b]). Backward: the merge's gradient split to both copies (mul: dy * the other output),
    the backward copy's sequence gradient reversed in time, and dx = dx_f + dx_b.
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a `keras.layers.Layer` instance. "
                             f"Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"`backward_layer` need to be a `keras.layers.Layer` instance. Received: {backward_layer}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be one of "
                             '{"sum", "mul", "ave", "concat", None}')
        super().__init__(**kwargs)
        self.forward_layer = _copy_named(layer, "forward")
        self.backward_layer = backward_layer or _copy_named(layer, "backward", go_backwards=True)
        self._verify_layer_config()
        for copy in (self.forward_layer, self.backward_layer):
            if hasattr(copy, "zero_output_for_mask"):
                copy.zero_output_for_mask = copy.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = weights
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state

    def _verify_layer_config(self):
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` value. Received: "
                f"forward_layer.go_backwards {forward.go_backwards}, backward_layer.go_backwards="
                f"{backward.go_backwards}")
        for attribute in ("stateful", "return_sequences", "return_state"):
            forward_value, backward_value = getattr(forward, attribute), getattr(backward, attribute)
            if forward_value != backward_value:
                raise ValueError(
                    "Forward layer and backward layer are expected to have the same value for attribute "
                    f'"{attribute}", got "{forward_value}" for forward layer and "{backward_value}" for backward layer')

    def _sublayers(self):
        return [self.forward_layer, self.backward_layer]

    @property
    def input_grad_needed(self):
        return self.forward_layer.input_grad_needed

    @input_grad_needed.setter
    def input_grad_needed(self, needed):
        self.forward_layer.input_grad_needed = self.backward_layer.input_grad_needed = needed

    # --- shapes and weights

    def check_input_shape(self, input_shape):
        self.forward_layer.check_input_shape(input_shape)
        self.backward_layer.check_input_shape(input_shape)

    def build(self, input_shape):
        self.forward_layer.build_from_shape(input_shape)
        self.backward_layer.build_from_shape(input_shape)
        if not self._trainable:
            self.trainable = False
        if self._initial_weights:
            self.set_weights(list(self._initial_weights))
            self._initial_weights = None

    def compute_output_shape(self, input_shape):
        output_shape = self.forward_layer.compute_output_shape(input_shape)
        state_shapes = ()
        if self.return_state:
            output_shape, state_shapes = output_shape[0], tuple(output_shape[1:])
        if self.merge_mode == "concat":
            output_shape = tuple(output_shape[:-1]) + (output_shape[-1] * 2,)
        elif self.merge_mode is None:
            return (output_shape, output_shape) + state_shapes * 2
        if self.return_state:
            return (output_shape,) + state_shapes * 2
        return tuple(output_shape)

    def compute_mask(self, inputs, previous_mask):
        if isinstance(previous_mask, (list, tuple)):
            previous_mask = previous_mask[0]
        output_mask = previous_mask if self.return_sequences else None
        return output_mask if self.merge_mode else (output_mask, output_mask)

    # --- passes

    def call(self, inputs, training=False, mask=None):
        y = self.forward_layer.forward(inputs, training=training, mask=mask)
        y_reversed = self.backward_layer.forward(inputs, training=training, mask=mask)
        states = []
        if self.return_state:
            states = y[1:] + y_reversed[1:]
            y, y_reversed = y[0], y_reversed[0]
        if self.return_sequences:
            y_reversed = y_reversed[:, ::-1]
        self._outputs = (y, y_reversed)
        if self.merge_mode == "concat":
            output = np.concatenate([y, y_reversed], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_reversed
        elif self.merge_mode == "ave":
            output = (y + y_reversed) / 2
        elif self.merge_mode == "mul":
            output = y * y_reversed
        else:
            return [y, y_reversed] + states
        return [output] + states if self.return_state else output

    def backward(self, grad_output):
        grads = list(grad_output) if self.return_state or self.merge_mode is None else [grad_output]
        y, y_reversed = self._outputs
        if self.merge_mode is None:
            d_y, d_reversed = (np.zeros_like(out) if g is None else g
                               for g, out in zip(grads[:2], self._outputs))
            state_grads = grads[2:]
        else:
            d_y, d_reversed = self._split_merge_gradient(grads[0], y, y_reversed)
            state_grads = grads[1:]
        if self.return_sequences:
            d_reversed = d_reversed[:, ::-1]
        half = len(state_grads) // 2
        d_x = self.forward_layer.backward_pass(self._with_states(d_y, state_grads[:half]))
        d_x_backward = self.backward_layer.backward_pass(self._with_states(d_reversed, state_grads[half:]))
        return None if d_x is None else d_x + d_x_backward

    def _split_merge_gradient(self, grad, y, y_reversed):
        if grad is None:
            return np.zeros_like(y), np.zeros_like(y_reversed)
        if self.merge_mode == "concat":
            units = y.shape[-1]
            return grad[..., :units], grad[..., units:]
        if self.merge_mode == "sum":
            return grad, grad
        if self.merge_mode == "ave":
            return grad / 2, grad / 2
        return grad * y_reversed, grad * y

    def _with_states(self, grad, state_grads):
        return [grad] + list(state_grads) if self.return_state else grad

    # --- config

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialize(self.forward_layer), "backward_layer": serialize(self.backward_layer)}


    @classmethod
    def from_config(cls, config, custom_objects=None):
        from minikeras.layers import deserialize
        from minikeras.layers import recurrent

        known = {name: getattr(recurrent, name) for name in recurrent.__all__}
        config = dict(config)
        config["layer"] = deserialize(config["layer"], custom_objects={**known, **(custom_objects or {})})
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize(config["backward_layer"],
                                                   custom_objects={**known, **(custom_objects or {})})
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name")
        return cls(**config)

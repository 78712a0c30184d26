"""`Sequential`: a plain stack of layers, each feeding the next."""
import numpy as np

from minikeras import backend
from minikeras.layers.conv_pool import ConvMaxPool, fusable
from minikeras.layers.input_layer import InputLayer, KerasTensor
from minikeras.layers.layer import Layer, _shape_text
from minikeras.models.model import Model


class Sequential(Model):
    """A stack of layers. Forward runs them in order; backward runs their `backward` in reverse."""

    def __init__(self, layers=None, trainable=True, name=None):
        Layer.__init__(self, name=name or backend.unique_name("sequential"), trainable=trainable)
        self._layers = []
        self._input_layer = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        if self._input_layer is not None and self._layers:
            self.build(self._input_layer.batch_shape)

    # ------------------------------------------------------------------ structure
    def add(self, layer, rebuild=True):
        if isinstance(layer, KerasTensor):
            layer = layer.source_layer
        if not isinstance(layer, Layer):
            raise ValueError("Only instances of `keras.Layer` can be added to a Sequential model. "
                             f"Received: {layer} (of type {type(layer)})")
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._layers:
                raise ValueError("An `Input` can only be the first element of a Sequential model. "
                                 f"Received: {layer.name} after {[l.name for l in self._layers]}")
            self._input_layer = layer
            return
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(
                "All layers added to a Sequential model should have unique names. Name "
                f"'{layer.name}' is already the name of a layer in this model. Update the `name` argument "
                "to pass a unique name."
            )
        if not self._layers and self._input_layer is None and layer._batch_input_shape is not None:
            self._input_layer = InputLayer(batch_shape=layer._batch_input_shape)
        self._layers.append(layer)
        if self._input_layer is not None and rebuild:
            self.build(self._input_layer.batch_shape)

    def pop(self, rebuild=True):
        if not self._layers:
            raise TypeError("There are no layers in the model to pop.")
        layer = self._layers.pop()
        if self._input_layer is not None and rebuild and self._layers:
            self.build(self._input_layer.batch_shape)
        return layer

    @property
    def layers(self):
        return list(self._layers)

    def _flat_layers(self):
        return self._layers

    def _output_layer(self):
        return self._layers[-1] if self._layers else None

    def get_layer(self, name=None, index=None):
        if index is not None and name is not None:
            raise ValueError(f"Provide only a layer name or a layer index. Received: index={index}, name={name}.")
        if index is not None:
            if not isinstance(index, (int, np.integer)) or not -len(self._layers) <= index < len(self._layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self._layers)} layers.")
            return self._layers[index]
        if name is not None:
            for layer in self._layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: {[l.name for l in self._layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    # ------------------------------------------------------------------ building
    def build(self, input_shape=None):
        """Build every layer for `input_shape` (batch dim included, e.g. `(None, 10)`)."""
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError("You must provide an `input_shape` argument.")
            input_shape = self._input_layer.batch_shape
        if isinstance(input_shape, (int, np.integer)) or not isinstance(input_shape, (tuple, list)):
            raise ValueError(f"`input_shape` must be a tuple like (None, features). Received: input_shape={input_shape!r}")
        shape = tuple(input_shape)
        if self._input_layer is None or self._input_layer.batch_shape[1:] != shape[1:]:
            self._input_layer = InputLayer(batch_shape=shape)
        for layer in self._layers:
            shape = layer.build_from_shape(shape)
            for variable in layer.weights:
                variable.path = f"{self.name}/{layer.name}/{variable.name}"
        self._mark_input_grads()
        self.built = True
        self.output_shape = shape
        self.input_spec_shape = tuple(self._input_layer.batch_shape)
        self._record_symbolic_chain()

    def _record_symbolic_chain(self):
        """Call the layers on the Input's KerasTensor, as Keras builds a Sequential, so `model.output` and
        `model.layers[i].output` exist (e.g. for `Model(model.input, model.layers[2].output)`); the nodes
        of the previous build are dropped first."""
        from minikeras.layers import keras_tensor

        backend.unique_name("functional")  # Keras builds a Sequential as a Functional, which takes a name
        for node in getattr(self, "_chain_nodes", []):
            if node in node.layer._inbound_nodes:
                node.layer._inbound_nodes.remove(node)
        self._chain_nodes = []
        tensor = self._input_layer.output
        for layer in self._layers:
            tensor = keras_tensor.symbolic_call(layer, tensor)
            if isinstance(tensor, list):
                return
            self._chain_nodes.append(tensor.node)

    def _mark_input_grads(self, needed=False):
        """The first layer with weights needs no input gradient (saving a GEMM per step), unless the model
        itself must return one (`needed`, when nested after trainable layers)."""
        for layer in self._layers:
            _mark_input_grad(layer, needed)
            needed = needed or bool(layer.weights)

    @property
    def input(self):
        if not self.built:
            raise AttributeError(f"Sequential model '{self.name}' has no defined input yet: build it first.")
        return self._input_layer.output

    @property
    def output(self):
        if not self.built or not self._chain_nodes:
            raise AttributeError(f"Sequential model '{self.name}' has no defined output yet: build it first.")
        return self._chain_nodes[-1].outputs[0]

    @property
    def inputs(self):
        return [self.input]

    @property
    def outputs(self):
        return [self.output]

    @property
    def input_shape(self):
        if self._input_layer is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined input shape yet.")
        return self._input_layer.batch_shape

    def _output_count(self):
        return 1

    def _prepare_input(self, x, name):
        """Adapt x's rank as Keras does (add/drop a trailing 1), build on first data, check the shape."""
        if self._input_layer is not None:
            expected = self._input_layer.batch_shape
            if x.ndim == len(expected) - 1 and expected[-1] == 1:
                x = x[..., np.newaxis]
            elif x.ndim == len(expected) + 1 and x.shape[-1] == 1:
                x = x[..., 0]
            if x.ndim != len(expected):
                raise ValueError(
                    f"Invalid input shape for input {name} of model '{self.name}'. Expected shape "
                    f"{_shape_text(expected)}, but input has incompatible shape {_shape_text(x.shape)}"
                )
        elif x.ndim == 1:
            x = x[:, np.newaxis]
        if self.built:
            self._check_input_shapes((None,) + x.shape[1:])
        else:
            self.build((None,) + x.shape[1:])
        if self._layers:
            self._layers[0].check_input_values(x)
        return x

    def _check_input_shapes(self, shape):
        for layer in self._layers:
            layer.check_input_shape(shape)
            shape = layer.compute_output_shape(shape)

    # ------------------------------------------------------------------ passes
    def _forward(self, x, training):
        mask = None
        for layer in self._execution_steps(x.shape):
            outputs = layer.forward(x, training=training, mask=mask)
            if mask is not None or layer.supports_masking:
                mask = layer.output_mask(x, mask)
            x = outputs
        self._output_masks = [mask]
        return x

    def _execution_steps(self, input_shape):
        """The layers in order, a Conv2D and the MaxPooling2D after it joined into one `ConvMaxPool` where
        `fusable` allows (no mask reaches them: no layer before them supports masking). Kept while the
        layers and the input shape stay the same (`_backward` walks the last one back)."""
        key = (tuple(map(id, self._layers)), tuple(input_shape))
        if getattr(self, "_steps_key", None) == key:
            return self._steps
        steps, shape, position = [], tuple(input_shape), 0
        layers = self._layers
        while position < len(layers):
            layer = layers[position]
            if (position + 1 < len(layers) and not any(step.supports_masking for step in steps)
                    and fusable(layer, layers[position + 1], shape)):
                steps.append(ConvMaxPool(layer, layers[position + 1]))
                shape = layers[position + 1].compute_output_shape(layer.compute_output_shape(shape))
                position += 2
                continue
            steps.append(layer)
            shape = layer.compute_output_shape(shape)
            position += 1
        self._steps_key, self._steps = key, steps
        return steps

    def _backward(self, grad, grad_is_logits=False):
        steps = getattr(self, "_steps", self._layers)
        last = len(steps) - 1
        for position in range(last, -1, -1):
            layer = steps[position]
            if position == last and grad_is_logits:
                grad = layer.backward_pass(grad, grad_is_logits=True)
            else:
                grad = layer.backward_pass(grad)
            if grad is None:
                break
        return grad

    build_from_shape = Layer.build_from_shape

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return shape

    # ------------------------------------------------------------------ text and config
    def get_config(self):
        from minikeras.layers import serialize

        layers = []
        if self._input_layer is not None:
            layers.append(serialize(self._input_layer))
        for layer in self._layers:
            entry = serialize(layer)
            layers.append(entry)
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": Layer.get_config(self)["dtype"], "layers": layers}
        if self._input_layer is not None:
            config["build_input_shape"] = list(self._input_layer.batch_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from minikeras.layers import deserialize

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config.get("layers", []):
            model.add(deserialize(entry, custom_objects=custom_objects), rebuild=False)
        shape = config.get("build_input_shape")
        if model._input_layer is not None:
            model.build(model._input_layer.batch_shape)
        elif shape is not None:
            model.build(tuple(shape))
        return model



def _mark_input_grad(layer, needed):
    """Tell `layer` whether its input gradient is used; a nested model passes it on to its own layers."""
    if hasattr(layer, "_mark_input_grads"):
        layer._mark_input_grads(needed)
    elif hasattr(layer, "input_grad_needed"):
        layer.input_grad_needed = needed

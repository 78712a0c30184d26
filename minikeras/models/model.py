"""`Model`: the base of every model, and the way to declare one.

`Model(inputs, outputs)` builds a Functional model from a graph of layer calls. A subclass that
defines `call(inputs)` from minikeras layers is traced: on its first data, `call` runs once on symbolic
`Input`s and the graph it records becomes the model's Functional core, which then trains like any other
(backward passes need the graph, since minikeras has no automatic differentiation).
"""
from minikeras import backend
from minikeras.layers.layer import Layer
from minikeras.models.training import Trainer


class Model(Trainer, Layer):
    """A trainable stack or graph of layers: `compile`, `fit`, `evaluate`, `predict`, `summary`."""

    _graph = None  # a subclassed model's traced Functional core; Sequential and Functional have none

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or {"inputs", "outputs", "input", "output"} & set(kwargs)):
            from minikeras.models.functional import Functional

            cls = Functional  # Python then runs Functional.__init__ with the same arguments
        return super().__new__(cls)

    def __init__(self, *args, name=None, trainable=True, dtype=None, **kwargs):
        if args or kwargs:
            raise TypeError(f"Model.__init__() got unexpected arguments {args or ''} {kwargs or ''}: a subclassed "
                            "Model takes only `name`, `trainable` and `dtype`.".replace("  ", " "))
        super().__init__(name=name or backend.unique_name(backend.to_snake_case(type(self).__name__)),
                         trainable=trainable, dtype=dtype)
        self._graph = None

    def _sublayers(self):
        return self.layers

    def _output_count(self):
        """A subclassed model knows its outputs once its `call` has been traced."""
        return None if self._graph is None else len(self._graph.outputs)

    # ------------------------------------------------------------------ every kind of model
    def __call__(self, inputs, training=None, **kwargs):
        """On KerasTensors: one node of the calling graph (a model used as a layer). On data: the outputs."""
        from minikeras.layers import keras_tensor

        if keras_tensor.is_symbolic(inputs):
            return keras_tensor.symbolic_call(self, inputs, training)
        x = self._prepare_input(self._convert_x(inputs, "inputs"), "inputs")
        return self._forward(x, training=bool(training))

    def forward(self, inputs, training=False, mask=None):
        return self._forward(inputs, training)

    def call(self, inputs, training=False):
        return self._forward(inputs, training)

    def backward(self, grad_output):
        return self._backward(grad_output)

    # ------------------------------------------------------------------ files
    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """The model as a Keras 3 `.keras` file (architecture, weights, compile and optimizer state)."""
        from minikeras.saving import saving_api

        saving_api.save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True):
        """The weights as a Keras 3 `.weights.h5` file."""
        from minikeras.saving import saving_api

        saving_api.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False):
        """Weights from a `.weights.h5`, a `.keras`, or a Keras 2 `.h5` file (by layer order, or `by_name`)."""
        from minikeras.saving import saving_api

        saving_api.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)

    def to_json(self, **kwargs):
        """The architecture as Keras's JSON (`models.model_from_json` rebuilds it)."""
        from minikeras.saving import json_format

        return json_format.model_to_json(self, **kwargs)

    # ------------------------------------------------------------------ a subclassed model
    # A subclassed model delegates everything below to the Functional graph traced from its `call`.
    def _traced(self, input_shape=None):
        if self._graph is None:
            if input_shape is None:
                raise ValueError(f"Model '{self.name}' has not been built yet: call it on data (or `build(input_shape)`) "
                                 "first, so its `call` can be traced.")
            self._trace(input_shape)
        return self._graph

    def _trace(self, input_shape):
        from minikeras.layers.input_layer import Input
        from minikeras.models.functional import Functional

        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        inputs = [Input(batch_shape=(None,) + tuple(shape[1:])) for shape in shapes]
        outputs = self.call(inputs if isinstance(input_shape, list) else inputs[0])
        self._graph = Functional(inputs if isinstance(input_shape, list) else inputs[0], outputs,
                                 name=self.name)
        self.built = True
        self.output_shape = self._graph.output_shape
        self.input_spec_shape = self._graph.input_spec_shape

    def build(self, input_shape=None):
        self._traced(None if input_shape is None else _standard(input_shape))

    @property
    def layers(self):
        if self._graph is None:
            return [value for value in vars(self).values() if isinstance(value, Layer)]
        from minikeras.layers.input_layer import InputLayer

        return [layer for layer in self._graph.layers if not isinstance(layer, InputLayer)]

    def _flat_layers(self):
        return self._traced()._flat_layers()

    def _output_layer(self):
        return self._traced()._output_layer()

    def _output_layers(self):
        return self._graph._output_layers() if self._graph is not None else super()._output_layers()

    def _outputs_by_position(self, y, name):
        return self._graph._outputs_by_position(y, name) if self._graph is not None else y

    @property
    def output_names(self):
        return self._traced().output_names

    def _several_inputs(self, x):
        return self._graph._several_inputs(x) if self._graph is not None else super()._several_inputs(x)

    def _inputs_by_position(self, x, name):
        return self._graph._inputs_by_position(x, name) if self._graph is not None else x

    def _prepare_input(self, x, name):
        if self._graph is None:
            arrays = list(x) if isinstance(x, (list, tuple)) else None
            self._trace([(None,) + a.shape[1:] for a in arrays] if arrays else (None,) + x.shape[1:])
        return self._graph._prepare_input(x, name)

    def _forward(self, x, training):
        outputs = self._graph._forward(x, training)
        self._output_masks = self._graph._output_masks
        return outputs

    def _backward(self, grad, grad_is_logits=False):
        return self._graph._backward(grad, grad_is_logits)

    def build_from_shape(self, input_shape):
        self._traced(_standard(input_shape))
        return self._graph.build_from_shape(input_shape)

    def compute_output_shape(self, input_shape):
        return self._traced(_standard(input_shape)).output_shape

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from minikeras.models.functional import Functional

        if "input_layers" in config and "output_layers" in config:
            return Functional.from_config(config, custom_objects=custom_objects)
        return super().from_config(config)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        from minikeras.models.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)


def _standard(shape):
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return [tuple(s) for s in shape]
    return tuple(shape)



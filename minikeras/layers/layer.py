"""The base `Layer`: weights, naming, building on first call, and the forward/backward contract."""
import inspect
import math
import os
import warnings

import numpy as np

from minikeras import backend
from minikeras.variables import Variable


def _shape_text(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class Layer:
    """A piece of a model with its own forward pass (`call`) and backward pass (`backward`).

    Subclasses create their variables in `build(input_shape)` with `add_weight`, keep in `call`
    whatever `backward` needs, and in `backward(grad_output)` fill `variable.grad` for each of their
    trainable variables and return the gradient with respect to their input.

    Masks (Keras's timestep masks, e.g. from `Embedding(mask_zero=True)`): a layer whose `call` has a
    `mask` argument receives the incoming mask; a layer with `supports_masking = True` passes on
    `compute_mask(inputs, previous_mask)` (by default the incoming mask); any other layer drops it.
    """

    supports_masking = False
    builds_at_init = False  # as Keras's layers built in their constructor, which record no build config

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._call_has_mask = "mask" in inspect.signature(cls.call).parameters

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 batch_input_shape=None, batch_size=None, activity_regularizer=None, **kwargs):
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Expected `name` to be a string. Received: name={name!r} (of type {type(name)})")
        from minikeras import regularizers

        self.name = name or backend.unique_name(backend.to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._dtype = _dtype_name(dtype)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._variables = []
        self.built = False
        self.input_spec_shape = None
        self.output_shape = None
        self.losses = []
        self._inbound_nodes = []
        self._batch_input_shape = _requested_input_shape(input_shape, input_dim, batch_input_shape, batch_size)
        if input_shape is not None or input_dim is not None:
            warnings.warn(
                "Do not pass an `input_shape`/`input_dim` argument to a layer. When using Sequential models, "
                "prefer using an `Input(shape)` object as the first layer in the model instead.",
                stacklevel=3,
            )

    @property
    def dtype(self):
        return self._dtype or backend.floatx()

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Freezing a layer freezes its variables and every layer it holds (as Keras 3 does)."""
        self._trainable = bool(value)
        for variable in self._variables:
            variable.trainable = self._trainable and variable._layer_trainable
        for layer in self._sublayers():
            layer.trainable = value

    def _sublayers(self):
        """The layers this one holds, whose variables count as its own (a wrapper's, a model's)."""
        return []

    def add_weight(self, shape, initializer="glorot_uniform", name=None, trainable=True, regularizer=None,
                   constraint=None, dtype=None):
        """Create a Variable owned by this layer (Keras 3 argument order)."""
        from minikeras import constraints, initializers, regularizers

        dtype = dtype or self.dtype
        self.refuse_oversized_weight(shape, name, dtype)
        initializer = "glorot_uniform" if initializer is None else initializer  # Keras's default for floats
        value = initializers.get(initializer)(tuple(shape), dtype=dtype)
        variable = Variable(value, name=name, trainable=trainable and self._trainable,
                            path=f"{self.name}/{name}", constraint=constraints.get(constraint), dtype=dtype)
        variable._layer_trainable = trainable
        variable.regularizer = regularizers.get(regularizer)
        self._variables.append(variable)
        return variable

    def refuse_oversized_weight(self, shape, name, dtype=None):
        """A ValueError, before anything is drawn, for a weight larger than this machine's memory (a typo
        in `units`, or an edited config), instead of a MemoryError after gigabytes were allocated."""
        size = math.prod(int(n) for n in shape) * np.dtype(dtype or self.dtype).itemsize
        if size > _physical_memory():
            raise ValueError(f"Layer '{self.name}' cannot create its weight '{name}' of shape {tuple(shape)}: it "
                             f"would take {size / 2**30:,.1f} GiB, more than this machine's memory "
                             f"({_physical_memory() / 2**30:,.1f} GiB).")

    @property
    def weights(self):
        sublayers = self._sublayers()
        if not sublayers:
            return list(self._variables)
        return _unique(self._variables + [v for layer in sublayers for v in layer.weights])

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        own = [v for v in self._variables if v.trainable]
        sublayers = self._sublayers()
        if not sublayers:
            return own
        return _unique(own + [v for layer in sublayers for v in layer.trainable_weights])

    @property
    def non_trainable_weights(self):
        trainable = set(map(id, self.trainable_weights))
        return [v for v in self.weights if id(v) not in trainable]

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        variables = self.weights
        _check_weight_list(self, variables, weights)
        for variable, value in zip(variables, weights):
            variable.assign(value)

    def count_params(self):
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't built. "
                "You can build it manually via: `layer.build(input_shape)`."
            )
        return int(sum(v.value.size for v in self.weights))

    def build(self, input_shape):
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def check_input_shape(self, input_shape):
        """Raise Keras's incompatibility error when `input_shape` cannot feed this (built) layer."""

    def build_from_shape(self, input_shape):
        """Build once for `input_shape` (batch dim included; a list of shapes for several inputs) and
        record the output shape."""
        input_shape = _standard_shape(input_shape)
        if not self.built:
            self.check_input_shape(input_shape)
            self.build(input_shape)
            self.built = True
            self.input_spec_shape = input_shape
        else:
            self.check_input_shape(input_shape)
        self.output_shape = self.compute_output_shape(_with_unknown_batch(input_shape))
        return self.output_shape

    def __call__(self, inputs, training=None, **kwargs):
        """On KerasTensors: record the call in the functional graph. On arrays: build and run `forward`."""
        from minikeras.layers import keras_tensor

        mask = kwargs.pop("mask", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}.__call__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        if keras_tensor.is_symbolic(inputs):
            return keras_tensor.symbolic_call(self, inputs, training)
        # The real batch size goes into the shape checks, so their errors show the shape actually given.
        if isinstance(inputs, (list, tuple)):
            inputs = [self._as_input_array(item) for item in inputs]
            self.build_from_shape([item.shape for item in inputs])
        else:
            inputs = self._as_input_array(inputs)
            self.build_from_shape(inputs.shape)
        return self.forward(inputs, training=bool(training), mask=mask)

    def _as_input_array(self, inputs):
        inputs = np.asarray(inputs)
        if inputs.dtype.kind not in "biuf":
            raise ValueError(f"Layer '{self.name}' takes numbers. Received inputs of dtype {inputs.dtype.str} "
                             f"({inputs.dtype}), e.g. {inputs.reshape(-1)[:3].tolist()}")
        if inputs.dtype.name != self.dtype:
            inputs = inputs.astype(self.dtype)
        return inputs

    def _first_node(self, attribute):
        """Keras answers `layer.input`/`layer.output` from the layer's first symbolic call."""
        if not self._inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has no defined {attribute}.")
        return self._inbound_nodes[0]

    @property
    def input(self):
        return self._first_node("input").inputs

    @property
    def output(self):
        outputs = self._first_node("output").outputs
        return outputs[0] if len(outputs) == 1 else outputs

    def check_input_values(self, inputs):
        """Checks on the values (not only the shape) of data a model feeds straight to this layer, run over the
        whole data before fit, evaluate or predict start (Embedding's index range); none by default."""

    def compute_mask(self, inputs, previous_mask):
        return previous_mask

    def output_mask(self, inputs, previous_mask):
        """The mask the next layer sees: computed if this layer supports masking, else dropped (with
        Keras's warning when there was one)."""
        if self.supports_masking:
            return self.compute_mask(inputs, previous_mask)
        if previous_mask is not None and not getattr(self, "_warned_mask_dropped", False):
            self._warned_mask_dropped = True
            warnings.warn(
                f"Layer '{self.name}' (of type {type(self).__name__}) was passed an input with a mask attached "
                "to it. However, this layer does not support masking and will therefore destroy the mask "
                "information. Downstream layers will not see the mask.", stacklevel=3)
        return None

    def forward(self, inputs, training=False, mask=None):
        """`call` (given the incoming mask if it takes one), plus the activity regularization loss."""
        if mask is not None and self._call_has_mask:
            outputs = self.call(inputs, training=training, mask=mask)
        else:
            outputs = self.call(inputs, training=training)
        if self.activity_regularizer is not None:
            self._activity_outputs = outputs
            self.losses = [self.activity_regularizer(outputs) / max(len(outputs), 1)]
        return outputs

    def backward_pass(self, grad_output, **kwargs):
        """`backward`, plus the activity regularizer's gradient on the output."""
        if self.activity_regularizer is not None:
            outputs = self._activity_outputs
            grad_output = grad_output + self.activity_regularizer.gradient(outputs) / max(len(outputs), 1)
        return self.backward(grad_output, **kwargs)

    def call(self, inputs, training=False):
        return inputs

    def backward(self, grad_output):
        return grad_output

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": _dtype_policy(self.dtype)}
        if self.activity_regularizer is not None:
            from minikeras import regularizers

            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    def get_build_config(self):
        if self.builds_at_init or self.input_spec_shape is None:
            return None
        return {"input_shape": self.input_spec_shape}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name")
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _physical_memory():
    """Bytes of RAM (unbounded where the system does not tell)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return math.inf


def _unique(variables):
    """Each variable once, in first-seen order (a layer shared inside a model holds its variables once)."""
    seen = set()
    return [v for v in variables if not (id(v) in seen or seen.add(id(v)))]


def _standard_shape(shape):
    """A shape as a tuple of ints/None, or a list of such shapes for a layer taking several inputs."""
    if isinstance(shape, list) and shape and all(isinstance(item, (tuple, list)) for item in shape):
        return [_standard_shape(item) for item in shape]
    return tuple(None if d is None else int(d) for d in shape)


def _with_unknown_batch(shape):
    if isinstance(shape, list):
        return [_with_unknown_batch(item) for item in shape]
    return (None,) + tuple(shape[1:])


def _dtype_name(dtype):
    if dtype is None:
        return None
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name")
    try:
        return np.dtype(dtype).name
    except TypeError:
        raise ValueError(f"Cannot convert {dtype!r} to a mixed precision DTypePolicy. Valid policies include "
                         "'mixed_float16', 'mixed_bfloat16', and the name of any float dtype such as 'float32'. "
                         f"Received: dtype={dtype!r}") from None


def _dtype_policy(dtype):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": dtype}, "registered_name": None}


def _requested_input_shape(input_shape, input_dim, batch_input_shape, batch_size):
    """The (batch, ...) shape asked for by Keras 2 style `input_shape=`/`input_dim=` arguments, or None."""
    if batch_input_shape is not None:
        return tuple(batch_input_shape)
    if input_shape is not None:
        if isinstance(input_shape, int):
            input_shape = (input_shape,)
        return (batch_size,) + tuple(input_shape)
    if input_dim is not None:
        return (batch_size, int(input_dim))
    return None


def _check_weight_list(owner, variables, weights):
    if not isinstance(weights, (list, tuple)):
        raise TypeError(
            f"`set_weights` expects a list of NumPy arrays. Received: weights of type {type(weights).__name__}"
        )
    if len(weights) != len(variables):
        raise ValueError(
            f"You called `set_weights(weights)` on layer '{owner.name}' with a weight list of length "
            f"{len(weights)}, but the layer was expecting {len(variables)} weights."
        )
    for variable, value in zip(variables, weights):
        shape = np.shape(value)
        if shape != variable.shape:
            raise ValueError(
                f"Layer {owner.name} weight shape {_shape_text(variable.shape)} is not compatible with "
                f"provided weight shape {_shape_text(shape)}."
            )

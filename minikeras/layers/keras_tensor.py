"""`KerasTensor` and `Node`: the symbolic graph a Functional model is declared with.

Calling a layer on KerasTensors runs no numbers: it builds the layer for the tensors' shapes and records
a `Node` (the layer, the tensors it consumed, the tensors it produced). A `Model(inputs, outputs)` walks
these nodes back from its outputs.
"""


class KerasTensor:
    """A symbolic placeholder: a shape (batch dim None), a dtype, and where it came from.

    `node` is the Node that produced it (None for an `Input`), `index` its position among that node's
    outputs; `source_layer` is the layer that produced it.
    """

    def __init__(self, shape, dtype, source_layer, name=None, node=None, index=0):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.source_layer = source_layer
        self.name = name or source_layer.name
        self.node = node
        self.index = index

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def history(self):
        """(layer, node index within the layer's inbound nodes, tensor index): Keras's `_keras_history`."""
        node_index = self.node.layer._inbound_nodes.index(self.node) if self.node is not None else 0
        return self.source_layer, node_index, self.index

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Node:
    """One call of `layer` on symbolic inputs: `inputs` (a KerasTensor or a list of them), the flat
    `input_tensors`, and the flat `outputs` it produced. `training` is a value forced at that call
    (`layer(x, training=False)`), or None to follow the model."""

    def __init__(self, layer, inputs, training=None):
        self.layer = layer
        self.inputs = inputs
        self.input_tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self.training = training
        self.outputs = []

    @property
    def takes_list(self):
        return isinstance(self.inputs, (list, tuple))


def is_symbolic(inputs):
    if isinstance(inputs, (list, tuple)):
        return any(isinstance(item, KerasTensor) for item in inputs)
    return isinstance(inputs, KerasTensor)


def symbolic_call(layer, inputs, training=None):
    """Build `layer` for the KerasTensors' shapes and record the call; returns the output KerasTensor(s)."""
    if isinstance(inputs, (list, tuple)):
        if not all(isinstance(item, KerasTensor) for item in inputs):
            raise TypeError(f"Layer '{layer.name}' was called on a list mixing symbolic tensors (from `Input`) and "
                            f"other values: {inputs}. Every input of a functional layer call must be a KerasTensor.")
        inputs = list(inputs)
        input_shape = [tensor.shape for tensor in inputs]
    else:
        input_shape = inputs.shape
    output_shape = layer.build_from_shape(input_shape)
    node = Node(layer, inputs, training)
    layer._inbound_nodes.append(node)
    shapes = output_shape if is_shape_list(output_shape) else [output_shape]
    node.outputs = [KerasTensor(shape, layer.dtype, layer, node=node, index=index)
                    for index, shape in enumerate(shapes)]
    return node.outputs if is_shape_list(output_shape) else node.outputs[0]


def is_shape_list(shape):
    """Whether `shape` is several shapes (a layer with several outputs), not one shape of ints/None."""
    return isinstance(shape, (list, tuple)) and bool(shape) and all(isinstance(item, (tuple, list)) for item in shape)

"""`Functional`: a model declared as a graph, `Model(inputs, outputs)`.

The graph is the `Node`s recorded when layers were called on KerasTensors. Forward evaluates them in
topological order; backward walks them in reverse, summing the gradients of a tensor used twice. A
layer called at several nodes (a shared layer) keeps one set of cached arrays per node, and its weight
gradients are summed over its nodes.
"""
import numpy as np

from minikeras import backend
from minikeras.layers.input_layer import InputLayer
from minikeras.layers.keras_tensor import KerasTensor
from minikeras.layers.layer import Layer, _shape_text
from minikeras.models.model import Model
from minikeras.models.sequential import _mark_input_grad
from minikeras.utils.data_adapter import BatchList


class Functional(Model):
    """A model whose layers form a directed acyclic graph from `inputs` to `outputs`."""

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **keras2_names):
        inputs, outputs = _keras2_arguments(inputs, outputs, keras2_names)
        Layer.__init__(self, name=name or backend.unique_name("functional"), trainable=trainable)
        self._input_structure = inputs
        self._output_structure = outputs
        self.inputs = _flat_tensors(inputs, "inputs")
        self.outputs = _flat_tensors(outputs, "outputs")
        for tensor in self.inputs:
            if not isinstance(tensor.source_layer, InputLayer):
                raise ValueError(f"All `inputs` of a Functional model must come from `keras.Input`. Received: "
                                 f"{tensor} (produced by layer '{tensor.source_layer.name}')")
        self._nodes, self._layers = _topological_order(self.inputs, self.outputs)
        self._check_unique_names()
        self._shared_layers = {id(layer) for layer in self._layers
                               if sum(node.layer is layer for node in self._nodes) > 1}
        self._mark_input_grads()
        self.built = True
        shapes = [tensor.shape for tensor in self.outputs]
        self.output_shape = shapes[0] if len(shapes) == 1 else shapes
        shapes = [tensor.shape for tensor in self.inputs]
        self.input_spec_shape = shapes[0] if len(shapes) == 1 else shapes

    def _check_unique_names(self):
        seen = {}
        for layer in self._layers:
            seen[layer.name] = seen.get(layer.name, 0) + 1
        for name, count in seen.items():
            if count > 1:
                raise ValueError(f'The name "{name}" is used {count} times in the model. All operation names '
                                 "should be unique.")

    def _mark_input_grads(self, needed=False):
        """A layer needs its input gradient only when something trainable lies upstream of it (or, with
        `needed`, when this model is nested after trainable layers and must return its input gradient)."""
        upstream_weights = {id(tensor): needed for tensor in self.inputs}
        needed = {}
        for node in self._nodes:
            feeds = any(upstream_weights.get(id(tensor), False) for tensor in node.input_tensors)
            needed[id(node.layer)] = needed.get(id(node.layer), False) or feeds
            for tensor in node.outputs:
                upstream_weights[id(tensor)] = feeds or bool(node.layer.weights)
        for layer in self._layers:
            _mark_input_grad(layer, needed.get(id(layer), False))

    # ------------------------------------------------------------------ structure
    @property
    def layers(self):
        return list(self._layers)

    def _flat_layers(self):
        return self._layers

    def _output_layers(self):
        """Per output, its layer when the loss may use that layer's cached logits: not for a shared layer
        (the cache may belong to another node) nor for an output that also feeds another layer."""
        consumed = {id(tensor) for node in self._nodes for tensor in node.input_tensors}
        return [None if id(tensor.source_layer) in self._shared_layers or id(tensor) in consumed
                or tensor.node is None else tensor.source_layer for tensor in self.outputs]

    def _output_layer(self):
        return self._output_layers()[0] if len(self.outputs) == 1 else None

    def _outputs_by_position(self, y, name):
        if isinstance(y, dict):
            return BatchList(_match_structure(y, self.outputs, self.output_names, name))
        return y

    @property
    def input(self):
        return self._input_structure

    @property
    def output(self):
        return self._output_structure

    @property
    def input_shape(self):
        return self.input_spec_shape

    @property
    def input_names(self):
        return [tensor.source_layer.name for tensor in self.inputs]

    @property
    def output_names(self):
        return [tensor.source_layer.name for tensor in self.outputs]

    def get_layer(self, name=None, index=None):
        from minikeras.models.sequential import Sequential

        return Sequential.get_layer(self, name=name, index=index)

    # ------------------------------------------------------------------ data
    def _several_inputs(self, x):
        return len(self.inputs) > 1 or isinstance(x, dict)

    def _inputs_by_position(self, x, name):
        if isinstance(x, dict):
            return BatchList(_match_structure(x, self.inputs, self.input_names, name))
        return x

    def _output_count(self):
        return len(self.outputs)

    def _prepare_input(self, x, name):
        """x as the list of arrays the inputs expect (one array for a one-input model), shapes checked."""
        arrays = _match_structure(x, self.inputs, self.input_names, name)
        for index, (array, tensor) in enumerate(zip(arrays, self.inputs)):
            expected = tensor.shape
            if array.ndim == len(expected) - 1 and expected[-1] == 1:
                array = array[..., np.newaxis]
            if array.ndim != len(expected) or any(e is not None and e != a for e, a in zip(expected[1:],
                                                                                          array.shape[1:])):
                raise ValueError(
                    f"Invalid input shape for input {tensor.name} of model '{self.name}'. Expected shape "
                    f"{_shape_text(expected)}, but input has incompatible shape {_shape_text(array.shape)}")
            arrays[index] = array
        positions = {id(tensor): index for index, tensor in enumerate(self.inputs)}
        for node in self._nodes:
            if not node.takes_list and id(node.input_tensors[0]) in positions:
                node.layer.check_input_values(arrays[positions[id(node.input_tensors[0])]])
        return arrays[0] if len(arrays) == 1 else BatchList(arrays)

    # ------------------------------------------------------------------ passes
    def _forward(self, x, training):
        arrays = x if isinstance(x, list) else [x]
        values = {id(tensor): array for tensor, array in zip(self.inputs, arrays)}
        masks = {}
        for node in self._nodes:
            layer = node.layer
            inputs = [values[id(tensor)] for tensor in node.input_tensors]
            input_masks = [masks.get(id(tensor)) for tensor in node.input_tensors]
            if not node.takes_list:
                inputs, input_masks = inputs[0], input_masks[0]
            elif all(mask is None for mask in input_masks):
                input_masks = None
            node_training = training if node.training is None else bool(node.training) and training
            outputs = layer.forward(inputs, training=node_training, mask=input_masks)
            if id(layer) in self._shared_layers:
                node.state = dict(vars(layer))
            output_mask = layer.output_mask(inputs, input_masks) if (
                input_masks is not None or layer.supports_masking) else None
            outputs = outputs if isinstance(outputs, list) else [outputs]
            output_masks = output_mask if isinstance(output_mask, list) else [output_mask] * len(outputs)
            for tensor, value, mask in zip(node.outputs, outputs, output_masks):
                values[id(tensor)] = value
                if mask is not None:
                    masks[id(tensor)] = mask
        results = [values[id(tensor)] for tensor in self.outputs]
        self._output_masks = [masks.get(id(tensor)) for tensor in self.outputs]
        return results[0] if len(results) == 1 else results

    def _backward(self, grad, grad_is_logits=False):
        grads = grad if isinstance(grad, list) else [grad]
        logits_flags = grad_is_logits if isinstance(grad_is_logits, list) else [grad_is_logits] * len(grads)
        tensor_grads = {}
        logits_tensors = set()
        for tensor, value, is_logits in zip(self.outputs, grads, logits_flags):
            _accumulate(tensor_grads, tensor, value)
            if is_logits:
                logits_tensors.add(id(tensor))
        reached = set()
        for node in reversed(self._nodes):
            layer = node.layer
            output_grads = [tensor_grads.pop(id(tensor), None) for tensor in node.outputs]
            if all(g is None for g in output_grads):
                continue
            if id(layer) in self._shared_layers:
                vars(layer).update(node.state)
            previous_grads = _saved_grads(layer) if id(layer) in reached else None
            reached.add(id(layer))
            if len(output_grads) == 1:
                kwargs = {"grad_is_logits": True} if id(node.outputs[0]) in logits_tensors else {}
                input_grads = layer.backward_pass(output_grads[0], **kwargs)
            else:
                input_grads = layer.backward_pass(output_grads)
            if previous_grads is not None:
                for variable, previous, previous_lookups in previous_grads:
                    variable.grad = variable.grad + previous
                    # a lookup gradient joined by a dense one is densified, as TensorFlow does
                    both = variable.grad_lookups is not None and previous_lookups is not None
                    variable.grad_lookups = previous_lookups.joined(variable.grad_lookups) if both else None
            if input_grads is None:
                continue
            input_grads = input_grads if node.takes_list else [input_grads]
            for tensor, value in zip(node.input_tensors, input_grads):
                _accumulate(tensor_grads, tensor, value)
        for layer in self._layers:
            if id(layer) not in reached:
                for variable in layer.trainable_weights:
                    variable.grad = np.zeros(variable.shape, dtype=variable.dtype)
        results = [tensor_grads.get(id(tensor)) for tensor in self.inputs]
        return results[0] if len(results) == 1 else results

    def build(self, input_shape=None):
        """A functional model is built from the start: its layers were built when called on its tensors."""

    def build_from_shape(self, input_shape):
        expected = self.input_spec_shape if len(self.inputs) > 1 else [self.input_spec_shape]
        given = input_shape if len(self.inputs) > 1 else [input_shape]
        for tensor, want, got in zip(self.inputs, expected, given):
            if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want[1:], got[1:])):
                raise ValueError(f"Input {tensor.name} of model '{self.name}' expects shape {_shape_text(want)}, "
                                 f"but it was called on an input of shape {_shape_text(tuple(got))}")
        return self.output_shape

    def compute_output_shape(self, input_shape):
        return self.output_shape

    def get_build_config(self):
        """As Keras: a functional model rebuilds from its config's graph, not from an input shape."""
        return {"input_shape": None}

    # ------------------------------------------------------------------ text and config
    def is_sequential_like(self):
        """Keras prints a functional model without the "Connected to" column when it is a plain chain."""
        return all(len(node.input_tensors) == 1 for node in self._nodes) and not self._shared_layers and all(
            sum(tensor in node.input_tensors for node in self._nodes) <= 1 for tensor in self.inputs)

    def connections(self, layer):
        """`name[node][tensor]` of every tensor `layer` consumed inside this model, as Keras prints them."""
        texts = []
        for node in layer._inbound_nodes:
            if node not in self._nodes:
                continue
            for tensor in node.input_tensors:
                source, node_index, tensor_index = tensor.history
                texts.append(f"{source.name}[{node_index}][{tensor_index}]")
        return texts

    def get_config(self):
        from minikeras.layers import serialize

        layer_configs = []
        for layer in self._layers:
            entry = serialize(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [_node_config(node) for node in layer._inbound_nodes if node in self._nodes]
            layer_configs.append(entry)
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layer_configs,
            "input_layers": _structure_config(self._input_structure),
            "output_layers": _structure_config(self._output_structure),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from minikeras.layers import deserialize

        layers, tensors = {}, {}
        entries = _entries_feeding_outputs(config)
        for entry in entries:
            layer = deserialize({k: v for k, v in entry.items() if k not in ("name", "inbound_nodes")},
                                custom_objects=custom_objects)
            layers[entry["name"]] = layer
            if isinstance(layer, InputLayer):
                tensors[(layer.name, 0, 0)] = layer.output
        # Nodes are replayed as their inputs become available; a shared layer's later node may consume
        # the output of its own earlier one.
        pending = [(entry["name"], index, node) for entry in entries
                   for index, node in enumerate(entry["inbound_nodes"])]
        next_node = dict.fromkeys(layers, 0)
        while pending:
            progressed = False
            for item in list(pending):
                name, node_index, node = item
                if next_node[name] != node_index or not all(_history_key(argument) in tensors
                                                            for argument in _node_arguments(node)):
                    continue
                outputs = layers[name](_rebuild_arguments(node, tensors))
                for tensor_index, tensor in enumerate(outputs if isinstance(outputs, list) else [outputs]):
                    tensors[(name, node_index, tensor_index)] = tensor
                next_node[name] += 1
                pending.remove(item)
                progressed = True
            if not progressed:
                raise ValueError("The functional config is not a valid graph: layers "
                                 f"{sorted({name for name, _, _ in pending})} consume tensors no layer produces.")
        inputs = _structure_from_config(config["input_layers"], tensors)
        outputs = _structure_from_config(config["output_layers"], tensors)
        return cls(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))


def _keras2_arguments(inputs, outputs, keras2_names):
    """Keras 2 also accepted `Model(input=..., output=...)`."""
    unknown = set(keras2_names) - {"input", "output"}
    if unknown:
        raise TypeError(f"Model() got unexpected keyword arguments {sorted(unknown)}")
    inputs = keras2_names.get("input") if inputs is None else inputs
    outputs = keras2_names.get("output") if outputs is None else outputs
    if inputs is None or outputs is None:
        raise TypeError("A Functional model needs `inputs` and `outputs`: Model(inputs, outputs).")
    return inputs, outputs


def _flat_tensors(structure, name):
    if isinstance(structure, dict):
        items = list(structure.values())
    elif isinstance(structure, (list, tuple)):
        items = list(structure)
    else:
        items = [structure]
    for item in items:
        if not isinstance(item, KerasTensor):
            raise ValueError(f"All `{name}` values must be KerasTensors (from `keras.Input` and layer calls on "
                             f"them). Received: {name}={structure!r} including invalid value {item!r} of type "
                             f"{type(item)}")
    if not items:
        raise ValueError(f"A Functional model needs at least one tensor in `{name}`. Received: {name}={structure!r}")
    return items


def _topological_order(inputs, outputs):
    """The nodes between `inputs` and `outputs` in dependency order, and the layers in Keras's order:
    by decreasing depth (longest path to an output), ties in the order a depth-first walk from the
    outputs first meets them."""
    input_ids = {id(tensor) for tensor in inputs}
    nodes, visited, in_progress = [], set(), set()
    first_seen = {}

    def producer(tensor):
        """The node that computes `tensor` in this graph: its Node, or its InputLayer for a model input."""
        return tensor.source_layer if id(tensor) in input_ids else tensor.node

    def visit(tensor):
        node = producer(tensor)
        if node is None:
            raise ValueError(
                f"Graph disconnected: cannot obtain value for tensor {tensor} at layer '{tensor.source_layer.name}'. "
                f"The following previous layers were accessed without issue: {[l.name for l in first_seen.values()]}. "
                "Pass this `Input` in the model's `inputs`.")
        layer = tensor.source_layer
        first_seen.setdefault(id(layer), layer)
        if id(tensor) in input_ids or id(node) in visited:
            return
        if id(node) in in_progress:
            raise ValueError(f"The graph has a cycle through layer '{node.layer.name}'.")
        in_progress.add(id(node))
        for upstream in node.input_tensors:
            visit(upstream)
        in_progress.discard(id(node))
        visited.add(id(node))
        nodes.append(node)

    for tensor in outputs:
        visit(tensor)
    node_depth, layer_depth = {}, {}
    for node in reversed(nodes):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        for tensor in node.input_tensors:
            parent = producer(tensor)
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for tensor in inputs:
        layer_depth[id(tensor.source_layer)] = node_depth.get(id(tensor.source_layer), 0)
    order = list(first_seen)
    layers = sorted(first_seen.values(), key=lambda layer: (-layer_depth.get(id(layer), 0), order.index(id(layer))))
    return nodes, layers


def _accumulate(tensor_grads, tensor, value):
    if value is None:
        return
    key = id(tensor)
    tensor_grads[key] = value if key not in tensor_grads else tensor_grads[key] + value


def _saved_grads(layer):
    """Copies of the weight gradients an earlier node of a shared layer left (a later backward overwrites them)."""
    return [(v, v.grad.copy(), v.grad_lookups)
            for v in layer.trainable_weights if v.grad is not None]


def _match_structure(data, tensors, names, argument):
    """The arrays for `tensors`, from one array, a list in order, or a dict keyed by input name."""
    if isinstance(data, dict):
        missing = [name for name in names if name not in data]
        if missing:
            raise ValueError(f"Missing data for input(s) {missing} in `{argument}`. Expected keys {names}, "
                             f"received keys {list(data)}.")
        return [data[name] for name in names]
    arrays = list(data) if isinstance(data, (list, tuple)) else [data]
    if len(arrays) != len(tensors):
        raise ValueError(f"Model expects {len(tensors)} input(s) ({names}), but `{argument}` holds {len(arrays)} "
                         "array(s).")
    return arrays


def _tensor_config(tensor):
    source, node_index, tensor_index = tensor.history
    return {"class_name": "__keras_tensor__",
            "config": {"shape": tensor.shape, "dtype": tensor.dtype, "keras_history": [source.name, node_index,
                                                                                        tensor_index]}}


def _node_config(node):
    """A call as Keras records it: the tensors, and `mask=None` for a one-input layer whose call takes a mask."""
    takes_mask = node.layer._call_has_mask or isinstance(node.layer, Model)
    kwargs = {"mask": None} if takes_mask and not node.takes_list else {}
    if node.takes_list:
        return {"args": ([_tensor_config(tensor) for tensor in node.input_tensors],), "kwargs": kwargs}
    return {"args": (_tensor_config(node.inputs),), "kwargs": kwargs}


def _structure_config(structure):
    def entry(tensor):
        source, node_index, tensor_index = tensor.history
        return [source.name, node_index, tensor_index]

    if isinstance(structure, dict):
        return {key: entry(tensor) for key, tensor in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [entry(tensor) for tensor in structure]
    return entry(structure)


def _entries_feeding_outputs(config):
    """The config's layers that the outputs depend on through call arguments.

    Keras also records the operations computing a mask (an Embedding's or Masking's `NotEqual`, `Any`)
    that reach the next layer only through its `mask=` keyword; minikeras's layers pass masks themselves,
    so those operations are left out."""
    by_name = {entry["name"]: entry for entry in config["layers"]}
    outputs = config["output_layers"]
    outputs = outputs.values() if isinstance(outputs, dict) else outputs
    outputs = outputs if outputs and isinstance(outputs[0], (list, tuple)) else [outputs]
    needed, waiting = set(), [output[0] for output in outputs]
    while waiting:
        name = waiting.pop()
        if name in needed or name not in by_name:
            continue
        needed.add(name)
        waiting += [_history_key(argument)[0] for node in by_name[name]["inbound_nodes"]
                    for argument in _node_arguments(node)]
    inputs = config["input_layers"]
    inputs = inputs.values() if isinstance(inputs, dict) else inputs
    needed |= {entry[0] for entry in (inputs if inputs and isinstance(inputs[0], (list, tuple)) else [inputs])}
    return [entry for entry in config["layers"] if entry["name"] in needed]


def _history_key(argument):
    return tuple(argument["config"]["keras_history"])


def _node_arguments(node):
    first = node["args"][0]
    return first if isinstance(first, list) else [first]


def _rebuild_arguments(node, tensors):
    first = node["args"][0]
    if isinstance(first, list):
        return [tensors[_history_key(argument)] for argument in first]
    return tensors[_history_key(first)]


def _structure_from_config(structure, tensors):
    if isinstance(structure, dict):
        return {key: tensors[tuple(value)] for key, value in structure.items()}
    if structure and isinstance(structure[0], (list, tuple)):
        return [tensors[tuple(value)] for value in structure]
    return tensors[tuple(structure)]

"""Merge layers: several inputs in, one output out (Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot), and Keras's functional forms (`add([a, b])`, ...).

`call` gets a list of arrays, `build`/`compute_output_shape` a list of shapes, and `backward` returns the
list of input gradients in input order.
"""
import numpy as np

from minikeras import backend
from minikeras.layers.layer import Layer


def _shape_list(shapes):
    """Shapes as Keras prints them: tuples of ints (or None)."""
    return [tuple(None if d is None else int(d) for d in shape) for shape in shapes]


def _is_shape_list(input_shape):
    return bool(input_shape) and isinstance(input_shape[0], (tuple, list))


def _shown(input_shape):
    """`input_shape` as Keras's error texts print it: a list of tuples, or one tuple."""
    return _shape_list(input_shape) if _is_shape_list(input_shape) else type(input_shape)(input_shape)


def _without_entry(shape, index):
    kept = list(shape)
    del kept[index]
    return tuple(kept)


def _spread_mask(mask, shape):
    """A timestep mask (batch, steps) spread over the feature axes of an input of `shape`."""
    mask = np.asarray(mask, bool)
    return np.broadcast_to(mask.reshape(mask.shape + (1,) * (len(shape) - mask.ndim)), shape)


def _sum_to_shape(grad, shape):
    """The gradient of an input of `shape` that was broadcast (after lower-rank inputs got new axes at 1,
    as Keras inserts them) to `grad.shape`: the broadcast axes summed away. Always a new array, as
    several inputs may share one gradient and callers accumulate gradients in place."""
    expanded = tuple(shape[:1]) + (1,) * (grad.ndim - len(shape)) + tuple(shape[1:])
    broadcast_axes = tuple(axis for axis, (size, own) in enumerate(zip(grad.shape, expanded)) if own == 1 and size != 1)
    grad = grad.sum(axis=broadcast_axes, keepdims=True) if broadcast_axes else grad.copy()
    return grad.reshape(shape)


class Merge(Layer):
    """Shared list handling: Keras's shape checks on the list of input shapes, broadcasting of
    elementwise merges (non-batch axes aligned on the right), and masks combined with OR.

    Elementwise subclasses define `_merge(inputs, masks)` (inputs brought to one rank, each mask spread
    over its input's features or None) and `_merge_gradients(grad_output)` (before the broadcast sums)."""

    supports_masking = True

    def build(self, input_shape):
        """Nothing to create: `check_input_shape` checked the shapes (Keras's merges, too, build from their
        input shapes, which a saved config records)."""
        self.built = True

    def check_input_shape(self, input_shape):
        if not _is_shape_list(input_shape):
            raise ValueError("A merge layer should be called on a list of inputs. "
                             f"Received: input_shape={_shown(input_shape)} (not a list of shapes)")
        shapes = _shape_list(input_shape)
        batch_sizes = {shape[0] for shape in shapes if shape} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(f"Cannot merge tensors with different batch sizes. Received tensors with shapes {shapes}")
        self._broadcast_shape(shapes)

    @staticmethod
    def _broadcast_shape(shapes):
        """The non-batch output shape, folding Keras's pairwise rule over the inputs: non-batch axes aligned
        on the right, a 1 stretches, an unknown size stays unknown."""
        output = tuple(shapes[0][1:])
        for shape in shapes[1:]:
            shape = tuple(shape[1:])
            longer, shorter = (output, shape) if len(output) >= len(shape) else (shape, output)
            merged = list(longer[:len(longer) - len(shorter)])
            for i, j in zip(longer[len(longer) - len(shorter):], shorter):
                if i is None or j is None:
                    merged.append(None)
                elif i == 1 or j == 1:
                    merged.append(j if i == 1 else i)
                elif i != j:
                    raise ValueError(f"Inputs have incompatible shapes. Received shapes {longer} and {shorter}")
                else:
                    merged.append(i)
            output = tuple(merged)
        return output

    def compute_output_shape(self, input_shape):
        shapes = _shape_list(input_shape)
        batch_sizes = {shape[0] for shape in shapes} - {None}
        batch = batch_sizes.pop() if len(batch_sizes) == 1 else None
        return (batch,) + self._broadcast_shape(shapes)

    def call(self, inputs, training=False, mask=None):
        self._input_shapes = [x.shape for x in inputs]
        rank = max(x.ndim for x in inputs)
        masks = [None] * len(inputs) if mask is None else mask
        aligned, aligned_masks = [], []
        for x, x_mask in zip(inputs, masks):
            shape = x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]
            aligned.append(x.reshape(shape))
            aligned_masks.append(None if x_mask is None else _spread_mask(x_mask, x.shape).reshape(shape))
        return self._merge(aligned, aligned_masks)

    def backward(self, grad_output):
        return [_sum_to_shape(grad, shape) for grad, shape in zip(self._merge_gradients(grad_output),
                                                                  self._input_shapes)]

    def compute_mask(self, inputs, previous_mask):
        if previous_mask is None or any(mask is None for mask in previous_mask):
            return None
        return np.logical_or.reduce([np.asarray(mask, bool) for mask in previous_mask])


class Add(Merge):
    """y = x_1 + ... + x_n (broadcast); dx_i = dy summed over the axes x_i was broadcast along."""

    def _merge(self, inputs, masks):
        return sum(inputs[1:], inputs[0])

    def _merge_gradients(self, grad_output):
        return [grad_output] * len(self._input_shapes)


class Subtract(Merge):
    """y = x_1 - x_2; dx_1 = dy, dx_2 = -dy (each summed over its broadcast axes)."""

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        if len(input_shape) != 2:
            raise ValueError("A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={_shape_list(input_shape)}")

    def _merge(self, inputs, masks):
        return inputs[0] - inputs[1]

    def _merge_gradients(self, grad_output):
        return [grad_output, -grad_output]


class Multiply(Merge):
    """y = x_1 * ... * x_n; dx_i = dy * (product of the other inputs), from prefix and suffix products so
    that no division by a (possibly zero) input is needed. As in Keras, a masked-out entry counts as 1,
    and when every input has a mask, entries masked out in all of them are 0."""

    def _merge(self, inputs, masks):
        self._masks = masks
        self._inputs = [x if mask is None else np.where(mask, x, 1) for x, mask in zip(inputs, masks)]
        output = self._inputs[0]
        for x in self._inputs[1:]:
            output = output * x
        self._kept = np.logical_or.reduce(masks) if all(mask is not None for mask in masks) else None
        return output if self._kept is None else np.where(self._kept, output, 0)

    def _merge_gradients(self, grad_output):
        inputs = self._inputs
        if self._kept is not None:
            grad_output = np.where(self._kept, grad_output, 0)
        grads = [grad_output] * len(inputs)
        prefix = grad_output
        for i in range(1, len(inputs)):
            prefix = prefix * inputs[i - 1]
            grads[i] = prefix
        suffix = None
        for i in range(len(inputs) - 2, -1, -1):
            suffix = inputs[i + 1] if suffix is None else suffix * inputs[i + 1]
            grads[i] = grads[i] * suffix
        return [grad if mask is None else np.where(mask, grad, 0) for grad, mask in zip(grads, self._masks)]


class Average(Merge):
    """y = (x_1 + ... + x_n) / n; dx_i = dy / n (summed over x_i's broadcast axes)."""

    def _merge(self, inputs, masks):
        return sum(inputs[1:], inputs[0]) / len(inputs)

    def _merge_gradients(self, grad_output):
        return [grad_output / len(self._input_shapes)] * len(self._input_shapes)


class _Extremum(Merge):
    """Folds `_beats` over the inputs left to right and remembers, per output element, which input won.
    The whole of dy goes to the winner; on ties the earlier input wins, as TensorFlow's gradient of
    maximum/minimum gives it to the first argument. As in Keras, a masked-out entry never takes over,
    and an entry masked out in all inputs so far gives way to any unmasked one."""

    def _merge(self, inputs, masks):
        output, output_mask = inputs[0], masks[0]
        self._winner = np.zeros(np.broadcast_shapes(*(x.shape for x in inputs)), dtype=np.int32)
        for index, (x, mask) in enumerate(zip(inputs[1:], masks[1:]), start=1):
            takes_over = self._beats(x, output)
            if output_mask is not None:
                takes_over = takes_over | ~output_mask
            if mask is not None:
                takes_over = takes_over & mask
            output_mask = None if output_mask is None or mask is None else output_mask | mask
            self._winner = np.where(takes_over, index, self._winner)
            output = np.where(takes_over, x, output)
        return output

    def _merge_gradients(self, grad_output):
        return [np.where(self._winner == index, grad_output, 0) for index in range(len(self._input_shapes))]


class Maximum(_Extremum):
    """y = max(x_1, ..., x_n) elementwise; dx_i = dy where x_i is the first maximum, else 0."""

    _beats = staticmethod(np.greater)


class Minimum(_Extremum):
    """y = min(x_1, ..., x_n) elementwise; dx_i = dy where x_i is the first minimum, else 0."""

    _beats = staticmethod(np.less)


class Concatenate(Merge):
    """y = the inputs joined along `axis`; backward splits dy back into the inputs' extents."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Invalid value for argument `axis`: expected an integer. Received: axis={axis!r}")
        self.axis = int(axis)

    def check_input_shape(self, input_shape):
        if not _is_shape_list(input_shape):
            raise ValueError(f"A `Concatenate` layer should be called on a list of at least 1 input. "
                             f"Received: input_shape={_shown(input_shape)}")
        shapes = _shape_list(input_shape)
        out_of_range = [shape for shape in shapes if not -len(shape) <= self.axis < len(shape)]
        if out_of_range:
            raise ValueError(f"Invalid value for argument `axis`: the inputs have no axis {self.axis}. "
                             f"Received: axis={self.axis}, input_shape={shapes}")
        # Keras compares the shapes with the entry at index `axis` taken out; unknown sizes match anything.
        reduced = {_without_entry(shape, self.axis) for shape in shapes}
        if len(reduced) == 1:
            return
        ranks = {len(shape) for shape in reduced}
        sizes_per_axis = zip(*reduced) if len(ranks) == 1 else [()]
        if len(ranks) != 1 or any(len(set(sizes) - {None}) > 1 for sizes in sizes_per_axis):
            raise ValueError("A `Concatenate` layer requires inputs with matching shapes except for the "
                             f"concatenation axis. Received: input_shape={shapes}")

    def compute_output_shape(self, input_shape):
        shapes = _shape_list(input_shape)
        output = list(shapes[0])
        for shape in shapes[1:]:
            if output[self.axis] is None or shape[self.axis] is None:
                output[self.axis] = None
                break
            output[self.axis] += shape[self.axis]
        return tuple(output)

    def call(self, inputs, training=False):
        self._split_points = np.cumsum([x.shape[self.axis] for x in inputs[:-1]])
        return np.concatenate(inputs, axis=self.axis)

    def backward(self, grad_output):
        return [part.copy() for part in np.split(grad_output, self._split_points, axis=self.axis)]

    def compute_mask(self, inputs, previous_mask):
        """Each input's mask (all True when it has none) spread over its feature axis, joined along
        `axis`, then reduced with any() over the last axis, as Keras does."""
        if previous_mask is None or all(mask is None for mask in previous_mask):
            return None
        spread = []
        for x, mask in zip(inputs, previous_mask):
            shape = np.shape(x)
            if mask is None:
                spread.append(np.ones(shape, bool))
            else:
                mask = np.asarray(mask, bool)
                spread.append(np.broadcast_to(mask[..., None], shape) if mask.ndim < len(shape) else mask)
        return np.concatenate(spread, axis=self.axis).any(axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """y[b, i, j] = sum_k x1[b, i..., k] * x2[b, k, j...], contracting axes[0] of x1 with axes[1] of x2
    (one batched GEMM); a (batch,) result becomes (batch, 1). dx1 = dy @ x2^T, dx2 = x1^T @ dy.
    normalize=True first maps each x to x * min(1/||x||, 1/epsilon) along its dot axis; its gradient
    is inv * (g - x_hat * sum(g * x_hat)), or g / epsilon where the clamp is active."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Invalid type for argument `axes`: it should be a list or an int. "
                                f"Received: axes={axes}")
            if len(axes) != 2:
                raise ValueError(f"Invalid format for argument `axes`: it should contain two elements. "
                                 f"Received: axes={axes}")
            if not all(isinstance(axis, int) for axis in axes):
                raise ValueError(f"Invalid format for argument `axes`: list elements should be integers. "
                                 f"Received: axes={axes}")
        self.axes = axes
        self.normalize = normalize

    def _axes_as_given(self, shapes):
        """Keras's shape checks index with negative pair entries as they are; an int is taken modulo rank."""
        if isinstance(self.axes, int):
            return [self.axes % len(shape) for shape in shapes] if self.axes < 0 else [self.axes] * 2
        return list(self.axes)

    def check_input_shape(self, input_shape):
        if not _is_shape_list(input_shape) or len(input_shape) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. "
                             f"Received: input_shape={_shown(input_shape)}")
        shape1, shape2 = _shape_list(input_shape)
        if len(shape1) < 2 or len(shape2) < 2:
            raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes "
                             f"{shape1} and {shape2}.")
        axis1, axis2 = self._axes_as_given((shape1, shape2))
        if shape1[axis1] != shape2[axis2]:
            raise ValueError(f"Incompatible input shapes: axis values {shape1[axis1]} (at axis {axis1}) != "
                             f"{shape2[axis2]} (at axis {axis2}). Full input shapes: {shape1}, {shape2}")
        if None not in (shape1[0], shape2[0]) and shape1[0] != shape2[0]:
            raise ValueError(f"Cannot do batch_dot on inputs with different batch sizes. Received inputs with "
                             f"shapes {shape1} and {shape2}.")
        if 0 in (axis1 % len(shape1), axis2 % len(shape2)):
            raise ValueError("Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy "
                             "batch dimension to your inputs using keras.ops.expand_dims(x, 0)")

    def compute_output_shape(self, input_shape):
        shape1, shape2 = (list(shape) for shape in _shape_list(input_shape))
        axis1, axis2 = self._axes_as_given((shape1, shape2))
        shape1.pop(axis1)
        shape2.pop(axis2)
        output = shape1 + shape2[1:]
        return tuple(output + [1] if len(output) == 1 else output)

    def call(self, inputs, training=False):
        self._axes = [axis % x.ndim for axis, x in zip(self._axes_as_given([x.shape for x in inputs]), inputs)]
        if self.normalize:
            self._normalization = [self._l2_normalize(x, axis) for x, axis in zip(inputs, self._axes)]
            inputs = [normalized for normalized, _, _ in self._normalization]
        x1, x2 = inputs
        left = np.moveaxis(x1, self._axes[0], -1)
        right = np.moveaxis(x2, self._axes[1], 1)
        self._left_shape, self._right_shape = left.shape, right.shape
        batch, depth = x1.shape[0], x1.shape[self._axes[0]]
        # x1 as (batch, rows, depth) and x2 as (batch, depth, cols): one batched matrix product.
        self._left = left.reshape(batch, -1, depth)
        self._right = right.reshape(batch, depth, -1)
        kept_axes = left.shape[1:-1] + right.shape[2:]
        return np.matmul(self._left, self._right).reshape((batch,) + (kept_axes or (1,)))

    def backward(self, grad_output):
        grad = grad_output.reshape(self._left.shape[:2] + self._right.shape[2:])
        grads = [np.moveaxis(np.matmul(grad, np.swapaxes(self._right, 1, 2)).reshape(self._left_shape), -1,
                             self._axes[0]),
                 np.moveaxis(np.matmul(np.swapaxes(self._left, 1, 2), grad).reshape(self._right_shape), 1,
                             self._axes[1])]
        if self.normalize:
            grads = [self._normalize_gradient(grad, *normalization, axis)
                     for grad, normalization, axis in zip(grads, self._normalization, self._axes)]
        return grads

    @staticmethod
    def _l2_normalize(x, axis):
        """Keras's l2 normalization: x * min(rsqrt(sum(x^2)), 1/epsilon) along `axis`."""
        with np.errstate(divide="ignore"):
            inverse_norm = 1 / np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True))
        ceiling = np.asarray(1 / backend.epsilon(), dtype=x.dtype)
        clamped = inverse_norm > ceiling
        inverse_norm = np.minimum(inverse_norm, ceiling)
        return x * inverse_norm, inverse_norm, clamped

    @staticmethod
    def _normalize_gradient(grad, normalized, inverse_norm, clamped, axis):
        radial = np.where(clamped, 0, normalized * np.sum(grad * normalized, axis=axis, keepdims=True))
        return inverse_norm * (grad - radial)

    def compute_mask(self, inputs, previous_mask):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """The sum of `inputs` (functional form of `Add`)."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """inputs[0] - inputs[1] (functional form of `Subtract`)."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """The elementwise product of `inputs` (functional form of `Multiply`)."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """The elementwise mean of `inputs` (functional form of `Average`)."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """The elementwise maximum of `inputs` (functional form of `Maximum`)."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """The elementwise minimum of `inputs` (functional form of `Minimum`)."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """`inputs` joined along `axis` (functional form of `Concatenate`)."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """The batched dot product of the two `inputs` (functional form of `Dot`)."""
    return Dot(axes=axes, **kwargs)(inputs)

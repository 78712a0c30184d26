"""Recurrent layers (SimpleRNN, LSTM, GRU) on one shared core, `BaseRNN`.

Every layer runs its input projection for all timesteps as one GEMM, then one GEMM per timestep for the
recurrence; backward through time keeps per-step work to elementwise products and one GEMM, and forms the
kernel, recurrent-kernel and input gradients with one GEMM each over all timesteps.

Keras 2's module path `keras.layers.recurrent`: its cell classes, `RNN` and `StackedRNNCells` are not
implemented, and importing one raises an ImportError that names it.
"""
import functools

import numpy as np

from minikeras import activations, backend, constraints, initializers, regularizers
from minikeras.layers.core import _grad_buffer, _incompatible
from minikeras.layers.layer import Layer
from minikeras.layers.unavailable_layers import missing_layer_getattr
from minikeras.utils.argument_validation import check_bool, check_number

_MISSING = ["RNN", "SimpleRNNCell", "GRUCell", "LSTMCell", "StackedRNNCells"]
__all__ = ["SimpleRNN", "LSTM", "GRU"]

__getattr__ = missing_layer_getattr(__name__, _MISSING, "such recurrent")


def _sigmoid(x, out=None):
    """The logistic function in three array operations (it runs on every timestep), overflow-free."""
    y = np.multiply(x, 0.5, out=out)
    np.tanh(y, out=y)
    y *= 0.5
    y += 0.5
    return y


_WRITING_INTO_OUT = {activations.tanh: np.tanh, activations.sigmoid: _sigmoid}


def _per_step(activation):
    """The activation as the recurrence applies it each step, as f(x, out): the common ones write straight
    into `out` without input checks; any other is computed, then copied there."""
    direct = _WRITING_INTO_OUT.get(activation)
    if direct is not None:
        return direct

    def copied_into(x, out):
        out[...] = activation(x)
        return out

    return copied_into


@functools.lru_cache(maxsize=None)
def _lstm_gates(activation, recurrent_activation, units, dtype):
    """f(z, a): the i, f and o blocks of an LSTM step's z through the recurrent activation and its g block
    through the activation, into a. For the usual sigmoid gates and tanh, all four blocks take the same
    four passes with per-column constants: sigmoid(x) = 0.5 * tanh(0.5 * x) + 0.5 as `_sigmoid` computes
    it, and tanh(x) = 1 * tanh(1 * x) + 0 exactly. Cached, so the constants are made once."""
    u = units
    if activation is activations.tanh and recurrent_activation is activations.sigmoid:
        scale, shift = np.full(4 * u, 0.5, dtype), np.full(4 * u, 0.5, dtype)
        scale[2 * u:3 * u], shift[2 * u:3 * u] = 1, 0

        def usual_gates(z, a):
            np.multiply(z, scale, out=a)
            np.tanh(a, out=a)
            a *= scale
            a += shift

        return usual_gates
    act, gate_act = _per_step(activation), _per_step(recurrent_activation)

    def gates(z, a):
        gate_act(z, out=a)  # all four blocks at once, then the cell input's block replaced
        act(z[:, 2 * u:3 * u], out=a[:, 2 * u:3 * u])

    return gates


@functools.lru_cache(maxsize=None)
def _gradient_of(activation):
    return activations.gradient(activation)


_SLOPES_FROM_OUTPUT = {activations.sigmoid: lambda y: y * (1.0 - y), activations.tanh: lambda y: 1.0 - y * y}


def _derivative(activation, pre_activation, post_activation):
    """activation'(pre_activation) elementwise, for all timesteps at once (the usual gates' straight from
    their outputs: the same products as their gradient rule times ones, without those passes)."""
    slope = _SLOPES_FROM_OUTPUT.get(activation)
    if slope is not None:
        return slope(post_activation)
    return _gradient_of(activation)(pre_activation, post_activation, np.ones_like(post_activation))


def _elementwise(activation, argument):
    """The activation, if it acts on each unit alone: the gates are computed side by side in one array."""
    if activations.serialize(activation) in ("softmax", "log_softmax"):
        raise ValueError(f"minikeras's recurrent layers need an elementwise `{argument}`. "
                         f"Received: {argument}={activations.serialize(activation)}")
    return activation


def _dropout_mask(generator, shape, rate, dtype):
    """Inverted dropout: kept entries scaled by 1 / (1 - rate)."""
    return ((generator.random(shape, dtype=np.float32) >= rate) / (1.0 - rate)).astype(dtype)


class BaseRNN(Layer):
    """A recurrent layer over (batch, timesteps, features): h_t = cell(x_t @ kernel + bias, h_{t-1}, ...).

    Subclasses give the cell as `_recur(projected)` (forward over all steps, returning the state
    sequences, each (T+1, batch, units) with the zero initial state first) and `_recur_backward(d_steps,
    carry)` (returning d(projected) and filling the recurrent kernel's gradient). Masked timesteps carry
    the previous states forward; their output is the carried state, or zeros with `zero_output_for_mask`.
    """

    supports_masking = True
    # The loss never folds into an RNN's output (it is a state, not the activation's output): no logits.
    logits = None
    _gate_count = 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError("Received an invalid value for argument `units`, expected a positive integer, "
                             f"got {units}.")
        for argument, value in (("return_sequences", return_sequences), ("return_state", return_state),
                                ("go_backwards", go_backwards), ("stateful", stateful)):
            check_bool(value, argument)
        if stateful:
            raise ValueError(f"minikeras's {type(self).__name__} is not stateful: each batch starts from zero "
                             "states. Received: stateful=True")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = int(units)
        self.activation = _elementwise(activations.get(activation), "activation")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        # Keras clamps these into [0, 1] silently; a rate outside it is a mistake worth naming
        self.dropout = check_number(dropout, "dropout", minimum=0, maximum=1)
        self.recurrent_dropout = check_number(recurrent_dropout, "recurrent_dropout", minimum=0, maximum=1)
        self.seed = seed
        self._generator = None if seed is None else backend.seeded_generator(seed)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.input_grad_needed = True

    # --- shapes and weights

    @property
    def _state_count(self):
        return 1

    def check_input_shape(self, input_shape):
        if len(input_shape) != 3:
            raise _incompatible(self, f"expected ndim=3, found ndim={len(input_shape)}", input_shape)
        if self.built and input_shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Input 0 with name 'None' of layer '{self.name}' is incompatible with the layer: expected "
                f"axis -1 of input shape to have value {self.kernel.shape[0]}, but received input with shape "
                f"({', '.join(str(d) for d in input_shape)})"
            )

    def build(self, input_shape):
        width = self._gate_count * self.units
        self.refuse_oversized_weight((self.units, width), "recurrent_kernel")  # the larger, made second
        self.kernel = self.add_weight((input_shape[-1], width), self.kernel_initializer, "kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight((self.units, width), self.recurrent_initializer, "recurrent_kernel",
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(self._bias_shape(), self._bias_initializer(), "bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def _bias_shape(self):
        return (self._gate_count * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def _input_bias(self):
        return self.bias.value

    def compute_output_shape(self, input_shape):
        batch = input_shape[0]
        output = (batch, input_shape[1], self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return (output,) + ((batch, self.units),) * self._state_count
        return output

    def compute_mask(self, inputs, previous_mask):
        output_mask = previous_mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * self._state_count
        return output_mask

    # --- forward

    def call(self, inputs, training=False, mask=None):
        x = inputs[:, ::-1] if self.go_backwards else inputs
        batch, steps, input_dim = x.shape
        x_steps = np.ascontiguousarray(x.transpose(1, 0, 2))  # time-major: each step's rows contiguous
        generator = self._generator or backend.random_generator()
        self._input_mask = self._recurrent_mask = None
        if training and 0.0 < self.dropout < 1.0:
            self._input_mask = _dropout_mask(generator, (batch, input_dim), self.dropout, x.dtype)
            x_steps = x_steps * self._input_mask
        if training and 0.0 < self.recurrent_dropout < 1.0:
            self._recurrent_mask = _dropout_mask(generator, (batch, self.units), self.recurrent_dropout, x.dtype)
        self._x_steps = x_steps
        projected = np.dot(x_steps.reshape(-1, input_dim), self.kernel.value).reshape(steps, batch, -1)
        if self.use_bias:
            projected += self._input_bias()
        self._step_keep = self._step_weight = None
        if mask is not None:
            keep = np.asarray(mask, dtype=bool)
            keep = keep[:, ::-1] if self.go_backwards else keep
            self._step_keep = np.ascontiguousarray(keep.T)[:, :, np.newaxis]
            self._step_weight = self._step_keep.astype(x.dtype)
        self._states = self._recur(projected)
        sequence = self._states[0]
        if self.return_sequences:
            output = sequence[1:]
            if self.zero_output_for_mask and self._step_weight is not None:
                output = output * self._step_weight
            output = output.transpose(1, 0, 2).copy()  # a copy even at batch 1: LSTM reuses its state arrays
        else:
            output = sequence[-1].copy()
            if self.zero_output_for_mask and self._step_weight is not None:
                output *= self._step_weight[-1]
        if self.return_state:
            return [output] + [states[-1].copy() for states in self._states]
        return output

    def _carry(self, new, previous, step):
        """The state after step `step`: the new one where the timestep is kept, else the previous one."""
        if self._step_keep is None:
            return new
        return np.where(self._step_keep[step], new, previous)

    def _recurrent_inputs(self, states):
        """h as the recurrence sees it (after recurrent dropout), for one step or all steps."""
        return states if self._recurrent_mask is None else states * self._recurrent_mask

    # --- backward

    def backward(self, grad_output):
        grads = list(grad_output) if self.return_state else [grad_output]
        d_output, d_states = grads[0], grads[1:]
        steps, batch, _ = self._x_steps.shape
        dtype = self._x_steps.dtype
        carry = [np.zeros((batch, self.units), dtype=dtype) if d is None else np.array(d, dtype=dtype)
                 for d in (d_states or [None] * self._state_count)]
        weight = self._step_weight if self.zero_output_for_mask else None
        d_steps = None
        if d_output is not None and self.return_sequences:
            d_steps = np.ascontiguousarray(np.asarray(d_output, dtype=dtype).transpose(1, 0, 2))
            if weight is not None:
                d_steps *= weight
        elif d_output is not None:
            carry[0] += d_output if weight is None else d_output * weight[-1]
        d_projected = self._recur_backward(d_steps, carry).reshape(steps * batch, -1)
        if self.kernel.trainable:
            flat_x = self._x_steps.reshape(steps * batch, -1)
            self.kernel.grad = np.dot(flat_x.T, d_projected, out=_grad_buffer(self.kernel, dtype))
        if self.use_bias and self.bias.trainable:
            self._set_bias_grad(np.add.reduce(d_projected, axis=0))  # without np.sum's wrapper: a step's few rows
        if not self.input_grad_needed:
            return None
        dx = np.dot(d_projected, self.kernel.value.T).reshape(steps, batch, -1)
        if self._input_mask is not None:
            dx *= self._input_mask
        dx = dx.transpose(1, 0, 2)
        return np.ascontiguousarray(dx[:, ::-1] if self.go_backwards else dx)

    def _split_kept(self, grad, step):
        """(the part of a state gradient reaching the new state, the part carried to the previous state)."""
        if self._step_weight is None:
            return grad, None
        kept = grad * self._step_weight[step]
        return kept, grad - kept

    def _set_recurrent_grad(self, states, d_pre):
        """d(recurrent_kernel) = sum over steps of h_{t-1}^T @ d(pre-activation), as one GEMM; the first
        step's h_{t-1} is the zero initial state, which adds nothing."""
        if self.recurrent_kernel.trainable:
            h = self._recurrent_inputs(states[1:-1]).reshape(-1, self.units)
            np.dot(h.T, d_pre[1:].reshape(-1, d_pre.shape[-1]), out=_grad_buffer(self.recurrent_kernel, d_pre.dtype))

    def _set_bias_grad(self, input_part):
        self.bias.grad = input_part

    # --- config

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {
            **config,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            "units": self.units,
        }

    def _weight_options(self):
        """The initializer/regularizer/constraint entries, in Keras's order, and the dropout rates."""
        return {
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
        }

    def _initializer_options(self):
        return {
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }


class SimpleRNN(BaseRNN):
    """Fully connected recurrence: h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias).

    Backward through time: dz_t = activation'(z_t) * (dy_t + dh_t), dh_{t-1} = dz_t @ recurrent_kernel^T;
    dkernel = X^T dZ, drecurrent_kernel = H_{t-1}^T dZ, dx = dZ @ kernel^T over all steps at once.
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, seed=None, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)

    def _recur(self, projected):
        steps, batch, units = projected.shape
        pre = projected  # the recurrence is added in place: pre[t] becomes z_t
        new = np.empty_like(pre)
        states = np.zeros((steps + 1, batch, units), dtype=pre.dtype)
        kernel, act = self.recurrent_kernel.value, _per_step(self.activation)
        for t in range(steps):
            if t:  # every batch starts from zero states, so the first step has no recurrent term
                pre[t] += np.dot(self._recurrent_inputs(states[t]), kernel)
            act(pre[t], out=new[t])
            states[t + 1] = self._carry(new[t], states[t], t)
        self._pre, self._new = pre, new
        return [states]

    def _recur_backward(self, d_steps, carry):
        slope = _derivative(self.activation, self._pre, self._new)
        d_pre = np.empty_like(self._pre)
        kernel_t = self.recurrent_kernel.value.T
        (dh,) = carry
        for t in range(len(d_pre) - 1, -1, -1):
            if d_steps is not None:
                dh = dh + d_steps[t]
            dh, passed = self._split_kept(dh, t)
            np.multiply(dh, slope[t], out=d_pre[t])
            if t == 0:
                break  # what would be carried on is the gradient for the zero initial states: unused
            dh = self._recurrent_inputs(np.dot(d_pre[t], kernel_t))
            if passed is not None:
                dh += passed
        self._set_recurrent_grad(self._states[0], d_pre)
        return d_pre

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, **self._initializer_options(), **self._weight_options()}


class _GatedRNN(BaseRNN):
    """The options LSTM and GRU add: a recurrent activation for the gates, and a seed in the config."""

    def __init__(self, units, recurrent_activation="sigmoid", use_cudnn="auto", **kwargs):
        kwargs.pop("implementation", None)  # Keras's choice of kernel layout: one result either way
        if use_cudnn not in ("auto", True, False):
            raise ValueError("Invalid valid received for argument `use_cudnn`. Expected one of "
                             f"{{'auto', True, False}}. Received: use_cudnn={use_cudnn}")
        super().__init__(units, **kwargs)
        self.recurrent_activation = _elementwise(activations.get(recurrent_activation), "recurrent_activation")
        self.use_cudnn = use_cudnn

    def _head_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation), "use_bias": self.use_bias,
                **self._initializer_options()}


class LSTM(_GatedRNN):
    """Long short-term memory, gates in Keras's order i, f, c, o (column blocks of kernel and bias).

    z_t = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias; i, f, o = recurrent_activation(z_i, z_f, z_o),
    g = activation(z_c); c_t = f * c_{t-1} + i * g; h_t = o * activation(c_t).
    Backward: dc_t = dc_{t+1} * f_{t+1} + dh_t * o * activation'(c_t); dz from (dc * g, dc * c_{t-1},
    dc * i, dh * activation(c_t)) times the gate slopes; dh_{t-1} = dz @ recurrent_kernel^T.
    """

    _gate_count = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        super().__init__(units, recurrent_activation=recurrent_activation, use_cudnn=use_cudnn,
                         activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def _state_count(self):
        return 2

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer

        def forget_gate_ones(shape, dtype=None):
            units = self.units
            return np.concatenate([self.bias_initializer((units,), dtype=dtype), np.ones(units, dtype=dtype),
                                   self.bias_initializer((2 * units,), dtype=dtype)])
        return forget_gate_ones

    def _recur(self, projected):
        steps, batch, _ = projected.shape
        (hidden, cell, cell_new, gates, squashed), step_views, (recurrent, product) = \
            self._forward_arrays(steps, batch, projected.dtype)
        kernel, act = self.recurrent_kernel.value, _per_step(self.activation)
        gate_step = _lstm_gates(self.activation, self.recurrent_activation, self.units, projected.dtype)
        for t, (z, (a, i, f, g, o, c_prev, c, c_squashed, h_prev, h)) in enumerate(zip(projected, step_views)):
            if t:  # every batch starts from zero states: the first step has no recurrent term
                # np.dot: matmul's result, with less call overhead (a batch-1 step is made of small calls)
                z += np.dot(self._recurrent_inputs(h_prev), kernel, out=recurrent)
            gate_step(z, a)
            np.multiply(i, g, out=c)
            if t:  # ... and no carried cell state
                c += np.multiply(f, c_prev, out=product)
            act(c, out=c_squashed)
            if self._step_keep is None:
                np.multiply(o, c_squashed, out=h)
            else:
                h[...] = self._carry(o * c_squashed, h_prev, t)
                cell[t + 1] = self._carry(c, c_prev, t)
        self._pre, self._gates, self._cell_new, self._cell_squashed = projected, gates, cell_new, squashed
        return [hidden, cell]

    def _forward_arrays(self, steps, batch, dtype):
        """The forward pass's arrays, each step's views into them and two per-step work arrays, made once
        per (steps, batch, dtype, masked) and rewritten by every call (batches repeat their shape): a
        batch-1 pass is made of ~1 us calls, and making these every call cost a fifth of it (51 -> 39 us).
        The zero initial states (index 0) are never written; unmasked, each step's new cell state goes
        straight into the carried sequence. `call` hands out copies only, never these arrays."""
        masked = self._step_keep is not None
        key = (steps, batch, np.dtype(dtype), masked)
        cached = self.__dict__.get("_forward_cache")
        if cached is None or cached[0] != key:
            u = self.units
            hidden, cell = np.zeros((2, steps + 1, batch, u), dtype)
            cell_new = np.empty((steps, batch, u), dtype) if masked else cell[1:]
            gates, squashed = np.empty((steps, batch, 4 * u), dtype), np.empty((steps, batch, u), dtype)
            step_views = [(gates[t], gates[t, :, :u], gates[t, :, u:2 * u], gates[t, :, 2 * u:3 * u],
                           gates[t, :, 3 * u:], cell[t], cell_new[t], squashed[t], hidden[t], hidden[t + 1])
                          for t in range(steps)]
            work = np.empty((batch, 4 * u), dtype), np.empty((batch, u), dtype)
            cached = self._forward_cache = key, (hidden, cell, cell_new, gates, squashed), step_views, work
        return cached[1:]

    def _recur_backward(self, d_steps, carry):
        u = self.units
        pre, gates, cell, squashed = self._pre, self._gates, self._states[1], self._cell_squashed
        steps, batch, _ = pre.shape
        (factors, through_cell, d_pre, scratch), step_views = self._backward_arrays(steps, batch, pre.dtype)
        # the gates' slopes (the i, f, o blocks'; block g's is taken with the cell activation below)
        gate_slopes = _derivative(self.recurrent_activation, pre, gates)
        # Each gate's gradient is dc (or dh for o) times a factor known before the loop: fold the slopes in
        np.multiply(gates[..., 2 * u:3 * u], gate_slopes[..., :u], out=factors[:, :, 0])
        np.multiply(cell[:-1], gate_slopes[..., u:2 * u], out=factors[:, :, 1])
        np.multiply(gates[..., :u], _derivative(self.activation, pre[..., 2 * u:3 * u], gates[..., 2 * u:3 * u]),
                    out=factors[:, :, 2])
        np.multiply(squashed, gate_slopes[..., 3 * u:], out=factors[:, :, 3])
        np.multiply(gates[..., 3 * u:], _derivative(self.activation, self._cell_new, squashed), out=through_cell)
        forget, kernel_t = gates[..., u:2 * u], self.recurrent_kernel.value.T
        dh, dc = carry  # the caller's own copies: updated in place below
        masked = self._step_weight is not None
        for t in range(steps - 1, -1, -1):
            through, factors_ifg, factor_o, d_ifg, d_o, d_step = step_views[t]
            if d_steps is not None:
                dh += d_steps[t]
            if masked:
                dh, passed_h = self._split_kept(dh, t)
                dc, passed_c = self._split_kept(dc, t)
            dc += np.multiply(dh, through, out=scratch)
            np.multiply(factors_ifg, dc[:, np.newaxis], out=d_ifg)
            np.multiply(factor_o, dh, out=d_o)
            if t == 0:
                break  # what would be carried on is the gradient for the zero initial states: unused
            dh = self._recurrent_inputs(np.dot(d_step, kernel_t))
            dc *= forget[t]
            if masked:
                dh += passed_h
                dc += passed_c
        d_pre = d_pre.reshape(steps, batch, -1)
        self._set_recurrent_grad(self._states[0], d_pre)
        return d_pre

    def _backward_arrays(self, steps, batch, dtype):
        """The backward pass's arrays (the gate factors, dc's factor through the cell output, d(pre-activation)
        and a work array) and each step's views into them, made once per (steps, batch, dtype) as
        `_forward_arrays` are. d(pre-activation) is returned, but `BaseRNN.backward` only reads it."""
        key = (steps, batch, np.dtype(dtype))
        cached = self.__dict__.get("_backward_cache")
        if cached is None or cached[0] != key:
            u = self.units
            factors, d_pre = np.empty((2, steps, batch, 4, u), dtype)
            through_cell, scratch = np.empty((steps, batch, u), dtype), np.empty((batch, u), dtype)
            step_views = [(through_cell[t], factors[t, :, :3], factors[t, :, 3], d_pre[t, :, :3], d_pre[t, :, 3],
                           d_pre[t].reshape(batch, -1)) for t in range(steps)]
            cached = self._backward_cache = key, (factors, through_cell, d_pre, scratch), step_views
        return cached[1:]

    def get_config(self):
        return {**self._head_config(), "unit_forget_bias": self.unit_forget_bias, **self._weight_options(),
                "seed": self.seed}


class GRU(_GatedRNN):
    """Gated recurrent unit, gates in Keras's order z, r, h (column blocks of kernel and bias).

    reset_after=True (bias (2, 3*units): input row, recurrent row): inner = h_{t-1} @ recurrent_kernel + b_rec,
    z, r = recurrent_activation(x_{z,r} + inner_{z,r}), hh = activation(x_h + r * inner_h);
    reset_after=False: hh = activation(x_h + (r * h_{t-1}) @ recurrent_kernel_h). h_t = z * h_{t-1} + (1 - z) * hh.
    Backward: dhh = dh (1 - z), dz = dh (h_{t-1} - hh), dr through r's product, all times the gate slopes;
    dh_{t-1} = dh z + (recurrent path gradients) @ recurrent_kernel^T.
    """

    _gate_count = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        super().__init__(units, recurrent_activation=recurrent_activation, use_cudnn=use_cudnn,
                         activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        return self.bias.value[0] if self.reset_after else self.bias.value

    def _recurrent_bias(self):
        return self.bias.value[1] if self.use_bias and self.reset_after else None

    def _recur(self, projected):
        steps, batch, _ = projected.shape
        u = self.units
        pre = projected  # pre[t] becomes the gates' pre-activations
        gates = np.empty_like(pre)
        hidden = np.zeros((steps + 1, batch, u), dtype=pre.dtype)
        kernel = self.recurrent_kernel.value
        recurrent_bias = self._recurrent_bias()
        # reset_after keeps h_{t-1} @ recurrent_kernel (+ b_rec); otherwise the reset state r * h_{t-1}
        inner = np.empty_like(pre) if self.reset_after else np.empty((steps, batch, u), dtype=pre.dtype)
        act, gate_act = _per_step(self.activation), _per_step(self.recurrent_activation)
        for t in range(steps):
            z, a, h_in = pre[t], gates[t], self._recurrent_inputs(hidden[t])
            if self.reset_after:
                m = inner[t]
                np.dot(h_in, kernel, out=m)
                if recurrent_bias is not None:
                    m += recurrent_bias
                z[:, :2 * u] += m[:, :2 * u]
                gate_act(z[:, :2 * u], out=a[:, :2 * u])
                z[:, 2 * u:] += a[:, u:2 * u] * m[:, 2 * u:]
            else:
                z[:, :2 * u] += h_in @ kernel[:, :2 * u]
                gate_act(z[:, :2 * u], out=a[:, :2 * u])
                np.multiply(a[:, u:2 * u], h_in, out=inner[t])
                z[:, 2 * u:] += inner[t] @ kernel[:, 2 * u:]
            act(z[:, 2 * u:], out=a[:, 2 * u:])
            candidate = a[:, 2 * u:]
            h = candidate + a[:, :u] * (hidden[t] - candidate)
            hidden[t + 1] = self._carry(h, hidden[t], t)
        self._pre, self._gates, self._inner = pre, gates, inner
        return [hidden]

    def _recur_backward(self, d_steps, carry):
        u = self.units
        pre, gates, inner, hidden = self._pre, self._gates, self._inner, self._states[0]
        slopes = np.empty_like(gates)
        slopes[..., :2 * u] = _derivative(self.recurrent_activation, pre[..., :2 * u], gates[..., :2 * u])
        slopes[..., 2 * u:] = _derivative(self.activation, pre[..., 2 * u:], gates[..., 2 * u:])
        d_pre = np.empty_like(pre)
        d_inner = np.empty_like(pre) if self.reset_after else None
        kernel = self.recurrent_kernel.value
        kernel_t, gate_kernel_t, candidate_kernel_t = kernel.T, kernel[:, :2 * u].T, kernel[:, 2 * u:].T
        (dh,) = carry
        for t in range(len(pre) - 1, -1, -1):
            if d_steps is not None:
                dh = dh + d_steps[t]
            dh, passed = self._split_kept(dh, t)
            a, dz = gates[t], d_pre[t]
            candidate = a[:, 2 * u:]
            np.multiply(dh, hidden[t] - candidate, out=dz[:, :u])
            np.multiply(dh, 1.0 - a[:, :u], out=dz[:, 2 * u:])
            dz[:, 2 * u:] *= slopes[t, :, 2 * u:]
            if self.reset_after:
                np.multiply(dz[:, 2 * u:], inner[t, :, 2 * u:], out=dz[:, u:2 * u])
                dz[:, :2 * u] *= slopes[t, :, :2 * u]
                di = d_inner[t]
                di[:, :2 * u] = dz[:, :2 * u]
                np.multiply(dz[:, 2 * u:], a[:, u:2 * u], out=di[:, 2 * u:])
                back = di @ kernel_t
            else:
                d_reset_state = dz[:, 2 * u:] @ candidate_kernel_t
                np.multiply(d_reset_state, self._recurrent_inputs(hidden[t]), out=dz[:, u:2 * u])
                dz[:, :2 * u] *= slopes[t, :, :2 * u]
                back = dz[:, :2 * u] @ gate_kernel_t + d_reset_state * a[:, u:2 * u]
            dh = dh * a[:, :u] + self._recurrent_inputs(back)
            if passed is not None:
                dh += passed
        self._set_gru_recurrent_grads(hidden, d_pre, d_inner)
        return d_pre

    def _set_gru_recurrent_grads(self, hidden, d_pre, d_inner):
        if self.reset_after:
            self._set_recurrent_grad(hidden, d_inner)
            self._recurrent_bias_grad = d_inner.reshape(-1, d_inner.shape[-1]).sum(axis=0)
            return
        if self.recurrent_kernel.trainable:
            u = self.units
            h = self._recurrent_inputs(hidden[:-1]).reshape(-1, u)
            grad = np.empty(self.recurrent_kernel.shape, dtype=d_pre.dtype)
            grad[:, :2 * u] = h.T @ d_pre[..., :2 * u].reshape(-1, 2 * u)
            grad[:, 2 * u:] = self._inner.reshape(-1, u).T @ d_pre[..., 2 * u:].reshape(-1, u)
            self.recurrent_kernel.grad = grad

    def _set_bias_grad(self, input_part):
        self.bias.grad = np.stack([input_part, self._recurrent_bias_grad]) if self.reset_after else input_part

    def get_config(self):
        return {**self._head_config(), **self._weight_options(), "reset_after": self.reset_after, "seed": self.seed}

"""`Optimizer`: the base class holding what every Keras 3 optimizer shares.

One `apply` does, in Keras 3's order: drop missing gradients, unscale (`loss_scale_factor`), clip
(`clipnorm` | `global_clipnorm` | `clipvalue`), decoupled weight decay w <- w - w * weight_decay * lr,
the subclass's update rule for each variable, the EMA of the weights, the variables' constraints, and
finally `iterations += 1`. The update rules see t = iterations + 1.
"""
import re
import warnings

import numpy as np

from minikeras import backend
from minikeras.optimizers import schedules
from minikeras.utils.argument_validation import check_number
from minikeras.variables import Variable


def keras_cast(value, dtype):
    """`value` in `dtype` as Keras's `ops.cast` of a Python float gives it: rounded through float32 first.

    This only shows with float64 variables; Keras's other scalar operands keep full precision.
    """
    return dtype(np.float32(value))


def step_toward(average, sample, rate, buffer):
    """average <- average + rate * (sample - average), in place; `buffer` is scratch space and may be `sample`."""
    np.subtract(sample, average, out=buffer)
    buffer *= rate
    average += buffer


def decay_and_add(average, decay, sample, sample_weight, buffer):
    """average <- decay * average + sample_weight * sample, in place; `buffer` is scratch space and may be `sample`."""
    np.multiply(sample, sample_weight, out=buffer)
    average *= decay
    average += buffer


# Variables up to this many values share one flat update per step in optimizers whose rule takes many
# passes: a small variable's update costs NumPy's per-call overhead, not arithmetic (an LSTM's bias, a
# course model's Dense kernels), so the rule runs once over all of them gathered into flat arrays.
_SMALL_VARIABLE_SIZE = 4096


class _SmallVariables:
    """Three or more small trainable variables of one dtype, updated together as one flat array: the
    optimizer's slots for them are views of flat slot arrays, and each step gathers their gradients and
    values, runs the update rule once (elementwise, so each value gets the same arithmetic as alone) and
    writes the values back. Its slot and scratch arrays sit at index `index`, after the variables'."""

    def __init__(self, members, variables):
        self.members, self.member_set, self.index = members, frozenset(members), len(variables)
        self.build_order = list(range(len(variables)))
        self.slices, start = [], 0
        for i in members:
            self.slices.append((start, start + variables[i].value.size, variables[i].shape))
            start += variables[i].value.size
        self.dtype, self.size = variables[members[0]].dtype, start
        self.grads, self.values = np.empty(self.size, self.dtype), np.empty(self.size, self.dtype)
        self.grad_views, self.value_views = self.views(self.grads), self.views(self.values)

    @classmethod
    def plan(cls, variables):
        small = [i for i, variable in enumerate(variables) if variable.value.size <= _SMALL_VARIABLE_SIZE]
        if not small:
            return None
        dtype = variables[small[0]].dtype
        members = [i for i in small if variables[i].dtype == dtype]
        return cls(members, variables) if len(members) >= 3 else None

    def views(self, flat):
        """Each member's part of `flat` (a flat array of the group's size), in its variable's shape."""
        return [flat[start:end].reshape(shape) for start, end, shape in self.slices]

    def gather(self, indices, grads, variables):
        """Copy the members' gradients and values in; False (nothing done) when a member is not being
        updated in this step or has a lookup gradient (its squares are per lookup, not of the sum)."""
        if indices == self.build_order:
            chosen = self.members  # the usual step: every variable, in build order
        else:
            positions = {index: position for position, index in enumerate(indices)}
            if any(index not in positions for index in self.members):
                return False
            chosen = [positions[index] for index in self.members]
        for position in chosen:
            variable = variables[position]
            if variable.grad_lookups is not None and grads[position] is variable.grad:
                return False
        for position, grad_view, value_view in zip(chosen, self.grad_views, self.value_views):
            np.copyto(grad_view, grads[position])
            np.copyto(value_view, variables[position].value)
        return True

    def scatter(self, variables_by_index):
        for index, value_view in zip(self.members, self.value_views):
            np.copyto(variables_by_index[index].value, value_view)


# Variables from this many values up are updated a chunk of rows (about _CHUNK_SIZE values) at a time: the
# rule's passes over a chunk then read it from L2, where whole passes over a large variable stream it from
# memory each time (RMSprop on the MNIST MLP's 670k weights: the epoch 2.01 -> 1.91 s median in an
# alternating A/B; chunks of 2^14 and 2^16 values measured alike).
_CHUNKED_VARIABLE_SIZE = 1 << 17
_CHUNK_SIZE = 1 << 15


class _ChunkedVariables:
    """Large trainable variables whose rule runs on consecutive chunks of rows, each chunk under its own
    index (after the variables' and the small group's), where the slot lists hold views of that chunk and
    the scratch lists views of one chunk-sized scratch array per variable (reused chunk after chunk)."""

    def __init__(self, members, variables, first_index):
        self.pieces = {}
        index = first_index
        for member in members:
            shape = variables[member].shape
            rows = max(1, _CHUNK_SIZE // (variables[member].value.size // shape[0]))
            ranges = [(start, min(start + rows, shape[0])) for start in range(0, shape[0], rows)]
            self.pieces[member] = [(index + k, start, stop) for k, (start, stop) in enumerate(ranges)]
            index += len(ranges)

    @classmethod
    def plan(cls, variables, first_index):
        members = [i for i, variable in enumerate(variables)
                   if variable.value.size >= _CHUNKED_VARIABLE_SIZE and variable.shape[0] >= 2]
        return cls(members, variables, first_index) if members else None

    def chunks(self, per_variable):
        """Each member's entry of `per_variable` cut into its chunks, in piece-index order."""
        return [per_variable[member][start:stop] for member, pieces in self.pieces.items()
                for _, start, stop in pieces]

    def scratch(self, scratch, variables):
        """Per piece, views of one chunk-sized scratch array per buffer of each member."""
        per_piece = []
        for member, pieces in self.pieces.items():
            rows = pieces[0][2] - pieces[0][1]
            shared = [np.empty((rows,) + variables[member].shape[1:], buffer.dtype) for buffer in scratch[member]]
            per_piece.extend([buffer[:stop - start] for buffer in shared] for _, start, stop in pieces)
        return per_piece


class Optimizer:
    """Base optimizer: subclasses define `_build_slots`, `_step_constants` and `_update_step`.

    `_step_constants(dtype, learning_rate, step)` returns the scalars of one step (computed once per
    apply and dtype, in that dtype as Keras's TensorFlow ops do); `_update_step(index, gradient, value,
    constants)` updates the array `value` in place with scratch buffers `self._scratch[index]`. With
    `_groups_small_variables` (rules of many elementwise passes), `index` is also the `_SmallVariables`
    group's, whose gradient and value are flat arrays; for a large variable, `index` is also each of its
    chunks' (`_ChunkedVariables`), whose gradient and value are row ranges.
    """

    _scratch_buffers = 1
    _lookups = None
    _groups_small_variables = False
    _chunked = None

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        # Keras 2 spelled the learning rate `lr`; Keras 3 refuses it, minikeras keeps old scripts working.
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=3)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if gradient_accumulation_steps:
            if not gradient_accumulation_steps >= 2:
                raise ValueError(
                    "`gradient_accumulation_steps` must be an integer >= 2. "
                    f"Received: gradient_accumulation_steps={gradient_accumulation_steps}"
                )
            raise ValueError(
                "minikeras does not implement gradient accumulation: pass `gradient_accumulation_steps=None`. "
                f"Received: gradient_accumulation_steps={gradient_accumulation_steps}"
            )
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1):
                raise ValueError(
                    "`ema_overwrite_frequency` must be an integer >= 1 or None. "
                    f"Received: ema_overwrite_frequency={ema_overwrite_frequency}"
                )
        if sum(arg is not None for arg in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        if not isinstance(learning_rate, (float, schedules.LearningRateSchedule)):
            raise ValueError(
                "Argument `learning_rate` should be float, or an instance of LearningRateSchedule. "
                f"Received instead: learning_rate={learning_rate}"
            )
        if isinstance(learning_rate, float):
            check_number(learning_rate, "learning_rate", minimum=0)
        for argument, value in (("weight_decay", weight_decay), ("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                ("global_clipnorm", global_clipnorm)):
            check_number(value, argument, minimum=0, allow_none=True)
        self.name = name if name is not None else backend.unique_name(backend.to_snake_case(self.__class__.__name__))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._small = None
        self._trainable_variables = []
        self._variable_index = {}
        self._scratch = []
        self._excluded_from_weight_decay = set()
        self._weight_decay_exclusion_pattern = None
        self._iteration = Variable(np.array(0, dtype=np.int64), "iteration", trainable=False,
                                   path=f"{self.name}/iteration")
        self._variables = [self._iteration]
        self._learning_rate_variable = None
        self._schedule = None
        self._set_learning_rate(learning_rate)

    # ----------------------------------------------------------------- learning rate and iterations
    @property
    def iterations(self):
        """Number of `apply` calls so far (an int; stored in the int64 variable `iteration`)."""
        return int(self._iteration.value)

    @property
    def learning_rate(self):
        """The current learning rate as a Python float (the schedule's value at `iterations`)."""
        return float(self._current_learning_rate())

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        if self._schedule is not None and not isinstance(learning_rate, schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                "constructor argument, hence its learning rate is not settable. If you need the learning "
                "rate to be settable, you should instantiate the optimizer with a float `learning_rate` argument."
            )
        self._set_learning_rate(learning_rate)

    def _set_learning_rate(self, learning_rate):
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            self._schedule = learning_rate
            if self._learning_rate_variable is not None:
                self._variables.remove(self._learning_rate_variable)
                self._learning_rate_variable = None
        elif self._learning_rate_variable is not None:
            self._learning_rate_variable.value[...] = learning_rate
        else:
            self._learning_rate_variable = Variable(np.array(learning_rate, dtype=backend.floatx()), "learning_rate",
                                                    trainable=False, path=f"{self.name}/learning_rate")
            self._variables.insert(1, self._learning_rate_variable)

    def _current_learning_rate(self):
        if self._schedule is not None:
            return self._schedule(self.iterations)
        return self._learning_rate_variable.value[()]

    # ----------------------------------------------------------------------------- variables
    @property
    def variables(self):
        """iteration, learning_rate (absent with a schedule), then the slots in Keras's order."""
        return self._variables[:]

    def build(self, variables):
        """Index the trainable variables, then create the EMA averages, the slots and the scratch buffers.

        The averages come before the subclass's slots in `variables`, as in Keras. Building twice is a no-op.
        """
        if self.built:
            return
        variables = list(variables)
        if self.use_ema:
            self._averages = self.add_optimizer_variables(variables, "average")
        self._trainable_variables = variables
        self._variable_index = {id(variable): i for i, variable in enumerate(variables)}
        self._scratch = [[np.empty_like(v.value) for _ in range(self._scratch_buffers)] for v in variables]
        self._small = _SmallVariables.plan(variables) if self._groups_small_variables else None
        if self._small is not None:
            self._scratch.append([np.empty(self._small.size, self._small.dtype)
                                  for _ in range(self._scratch_buffers)])
        self._chunked = _ChunkedVariables.plan(variables, len(self._scratch))
        if self._chunked is not None:
            self._scratch.extend(self._chunked.scratch(self._scratch, variables))
        self._build_slots(variables)
        self.built = True

    def _build_slots(self, variables):
        """Create the subclass's per-variable state with `add_optimizer_variables` (none by default)."""

    def add_optimizer_variables(self, trainable_variables, names, initial_value=0.0):
        """Create one slot per name per variable, interleaved per variable like Keras.

        Returns the list of slot arrays for a single name, or a tuple of such lists for a list of names.
        Slot paths are `<optimizer>/<variable path with '/' -> '_'>_<name>`, e.g. `adam/sequential_dense_kernel_momentum`.
        """
        name_list = [names] if isinstance(names, str) else list(names)
        slots = tuple([] for _ in name_list)
        own_variables = trainable_variables is self._trainable_variables  # not the EMA's averages
        group = self._small if own_variables else None
        flat_slots = [np.full(group.size, initial_value, group.dtype) for _ in name_list] if group else []
        flat_views = [group.views(flat) for flat in flat_slots]
        shared = {index: part for part, index in enumerate(group.members)} if group else {}
        for index, variable in enumerate(trainable_variables):
            prefix = variable.path.replace("/", "_")
            for position, (slot_list, slot_name) in enumerate(zip(slots, name_list)):
                value = np.full(variable.shape, initial_value, dtype=variable.dtype)
                slot = Variable(value, f"{prefix}_{slot_name}", trainable=False, path=f"{self.name}/{prefix}_{slot_name}")
                if index in shared:  # before anything holds it: the slot lives in its group's flat array
                    slot.value = flat_views[position][shared[index]]
                self._variables.append(slot)
                slot_list.append(slot.value)
        for slot_list, flat in zip(slots, flat_slots):
            slot_list.append(flat)
        if self._chunked is not None and own_variables:
            for slot_list in slots:
                slot_list.extend(self._chunked.chunks(slot_list))
        return slots[0] if isinstance(names, str) else slots

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Skip weight decay for these variables, or for variables whose name contains one of `var_names`."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer is built.")
        self._excluded_from_weight_decay = {id(variable) for variable in var_list or ()}
        self._weight_decay_exclusion_pattern = re.compile("|".join(set(var_names))) if var_names else None

    # --------------------------------------------------------------------------------- apply
    def apply_gradients(self, grads_and_vars):
        """`apply` for a list of (gradient, variable) pairs; returns `iterations`."""
        grads, trainable_variables = zip(*grads_and_vars)
        self.apply(grads, trainable_variables)
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """Update `trainable_variables` (Variables) in place from `grads` (arrays of the same shapes)."""
        if len(grads) == 0:
            return
        trainable_variables = self._resolve_variables(grads, trainable_variables)
        grads, trainable_variables = self._drop_missing_gradients(grads, trainable_variables)
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        grads = self._clip_gradients(grads)
        learning_rate = self._current_learning_rate()
        indices = [self._variable_index[id(v)] for v in trainable_variables]
        if self.weight_decay is not None:
            self._apply_weight_decay(indices, trainable_variables, learning_rate)
        self._advance_shared_state()
        step = self.iterations + 1
        constants = {}
        group, chunked = self._small, self._chunked
        grouped = group is not None and group.gather(indices, grads, trainable_variables)
        if grouped:
            constants[group.dtype] = self._step_constants(group.dtype.type, learning_rate, step)
            self._lookups = None
            self._update_step(group.index, group.grads, group.values, constants[group.dtype])
            group.scatter(self._trainable_variables)
        for index, grad, variable in zip(indices, grads, trainable_variables):
            if grouped and index in group.member_set:
                continue
            value = variable.value
            if value.dtype not in constants:
                constants[value.dtype] = self._step_constants(value.dtype.type, learning_rate, step)
            self._lookups = variable.grad_lookups if grad is variable.grad else None
            gradient = np.asarray(grad, dtype=value.dtype)
            if chunked is not None and index in chunked.pieces and self._lookups is None:
                for piece, start, stop in chunked.pieces[index]:
                    self._update_step(piece, gradient[start:stop], value[start:stop], constants[value.dtype])
            else:
                self._update_step(index, gradient, value, constants[value.dtype])
        if self.use_ema:
            self._update_moving_averages()
        for variable in trainable_variables:
            if variable.constraint is not None:
                variable.value[...] = variable.constraint(variable.value)
        self._iteration.value += 1

    def _squared(self, gradient, out):
        """gradient**2 into `out`; for a lookup gradient, the per-row sums of its squared lookups."""
        if self._lookups is not None:
            return self._lookups.sums(np.square, out)
        return np.square(gradient, out=out)

    def _absolute(self, gradient, out):
        """|gradient| into `out`; for a lookup gradient, the per-row sums of its lookups' absolute values."""
        if self._lookups is not None:
            return self._lookups.sums(np.abs, out)
        return np.abs(gradient, out=out)

    def _resolve_variables(self, grads, trainable_variables):
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be built on a list "
                    "of variables. Call `optimizer.build(trainable_variables)` first. "
                )
            if len(grads) != len(self._trainable_variables):
                raise ValueError(
                    "When passing `grads` as a list of gradient tensors, the gradients must match "
                    f"`optimizer.variables` one-to-on. Received a list of {len(grads)} gradients, but the "
                    f"optimizer is tracking {len(self._trainable_variables)} trainable variables."
                )
            return self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        for variable in trainable_variables:
            if id(variable) not in self._variable_index:
                raise ValueError(
                    f"Unknown variable: {variable}. This optimizer can only be called for the variables it was "
                    "originally built with. When working with a new set of variables, you should recreate a "
                    "new optimizer instance."
                )
        return trainable_variables

    @staticmethod
    def _drop_missing_gradients(grads, trainable_variables):
        if all(g is not None for g in grads):
            return grads, trainable_variables
        kept = [(g, v) for g, v in zip(grads, trainable_variables) if g is not None]
        if not kept:
            raise ValueError("No gradients provided for any variable.")
        missing = [v.path for g, v in zip(grads, trainable_variables) if g is None]
        warnings.warn(
            f"Gradients do not exist for variables {missing} when minimizing the loss. "
            "If using `model.compile()`, did you forget to provide a `loss` argument?",
            stacklevel=3,
        )
        return [g for g, _ in kept], [v for _, v in kept]

    def _clip_gradients(self, grads):
        """clipnorm: g * c / max(||g||, c) per gradient; global_clipnorm: all g * c * min(1/||all||, 1/c); clipvalue: clip(g, -c, c)."""
        if self.clipnorm and self.clipnorm > 0:
            return [self._clip_by_norm(np.asarray(g)) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            grads = [np.asarray(g) for g in grads]
            dtype = grads[0].dtype.type
            norm = np.sqrt(dtype(sum(np.sum(np.square(g)) for g in grads)))
            scale = dtype(self.global_clipnorm) * min(dtype(1) / norm, dtype(1.0 / self.global_clipnorm))
            return [g * scale for g in grads]
        if self.clipvalue and self.clipvalue > 0:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def _clip_by_norm(self, grad):
        norm = np.sqrt(np.sum(np.square(grad)))
        if norm == 0:
            return grad
        return (grad * grad.dtype.type(self.clipnorm)) / max(norm, grad.dtype.type(self.clipnorm))

    def _uses_weight_decay(self, variable):
        if id(variable) in self._excluded_from_weight_decay:
            return False
        pattern = self._weight_decay_exclusion_pattern
        return pattern is None or pattern.search(variable.name) is None

    def _apply_weight_decay(self, indices, trainable_variables, learning_rate):
        for index, variable in zip(indices, trainable_variables):
            if self._uses_weight_decay(variable):
                value = variable.value
                dtype = value.dtype.type
                decay = self._scratch[index][0]
                np.multiply(value, keras_cast(self.weight_decay, dtype), out=decay)
                decay *= dtype(learning_rate)
                value -= decay

    def _advance_shared_state(self):
        """Hook for state shared by all variables, advanced once per apply before the updates (Nadam)."""

    def _update_moving_averages(self):
        """average <- m * average + (1 - m) * w, m = ema_momentum (0 on the first step, so average starts at w)."""
        for index, (variable, average) in enumerate(zip(self._trainable_variables, self._averages)):
            dtype = average.dtype.type
            momentum = dtype(self.ema_momentum) if self.iterations != 0 else dtype(0)
            decay_and_add(average, momentum, variable.value, dtype(1) - momentum, self._scratch[index][0])
        if self.ema_overwrite_frequency and (self.iterations + 1) % self.ema_overwrite_frequency == 0:
            self.finalize_variable_values(self._trainable_variables)

    def finalize_variable_values(self, var_list):
        """With `use_ema`, overwrite the model variables with their moving averages (end of `fit`)."""
        if self.use_ema:
            for variable, average in zip(var_list, self._averages):
                variable.value[...] = average

    def _step_constants(self, dtype, learning_rate, step):
        raise NotImplementedError(f"{self.__class__.__name__} must define `_step_constants`.")

    def _update_step(self, index, gradient, value, constants):
        raise NotImplementedError(f"{self.__class__.__name__} must define `_update_step`.")

    # -------------------------------------------------------------------------------- config
    def get_config(self):
        if self._schedule is not None:
            learning_rate = schedules.serialize(self._schedule)
        else:
            learning_rate = float(self._learning_rate_variable.value)
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

"""compile, fit, evaluate, predict and the *_on_batch calls: the training loop shared by every model.

A model class mixing this in provides `_forward(x, training)`, `_backward(grad, grad_is_logits)`,
`_output_layer()`, `_prepare_input(x)` (checks/adapts x and builds the model), `_output_count()` (None
while unknown) and the Layer API.
"""
import math
import signal
import threading

import numpy as np

from minikeras import activations, backend, losses, metrics as metrics_module, optimizers
from minikeras.utils import data_adapter

_VERBOSE_VALUES = (0, 1, 2, "auto")


class Trainer:
    """The Keras training API over a model that knows its forward and backward passes."""

    compiled = False
    optimizer = None
    loss = None
    _initial_epoch = None
    _output_masks = (None,)
    stop_training = False
    history = None

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Configure the model for training: resolve optimizer, loss and metric names now, so a typo fails here."""
        resolved_optimizer = optimizers.get(optimizer)
        per_output = isinstance(loss, (list, tuple, dict))
        outputs = self._output_count()
        if isinstance(loss, (list, tuple)) and outputs is not None and len(loss) != outputs:
            raise ValueError(f"`loss` must have one entry per output ({outputs}). Received {len(loss)}: loss={loss}")
        if not (loss_weights is None or isinstance(loss_weights, (list, tuple, dict))
                or isinstance(loss_weights, (int, float, np.integer, np.floating)) and not isinstance(loss_weights, bool)):
            raise ValueError("Expected `loss_weights` argument to be a float (single output case) or a list, tuple, or "
                             f"dict (multiple output case). Received instead: loss_weights={loss_weights} of type "
                             f"{type(loss_weights)}")
        resolved_loss = None if loss is None or per_output or _chosen_from_shapes(loss) else losses.resolve(loss)
        for identifier in _flat_identifiers(loss) if per_output else []:
            losses.resolve(identifier)
        metric_ids = _as_list(metrics, "metrics")
        weighted_ids = _as_list(weighted_metrics, "weighted_metrics")
        for identifier in _flat_identifiers([metric_ids, weighted_ids]):
            if not (isinstance(identifier, str) and identifier in ("accuracy", "acc")):
                metrics_module.get(identifier)
        self.optimizer = resolved_optimizer
        self.loss = loss
        self._loss = resolved_loss
        self._metric_ids = metric_ids
        self._weighted_metric_ids = weighted_ids
        self._metrics = None
        self._log_names = []
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._loss_weights = loss_weights
        self._heads = None
        self._compile_config = {
            "optimizer": optimizer, "loss": loss, "loss_weights": loss_weights, "metrics": metrics,
            "weighted_metrics": weighted_metrics, "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution, "jit_compile": jit_compile,
        }
        self.compiled = True

    def get_compile_config(self):
        return dict(self._compile_config) if self.compiled else None

    def _check_compiled(self):
        if not self.compiled:
            raise ValueError("You must call `compile()` before using the model.")
        if self.loss is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")

    @property
    def metrics(self):
        """The loss tracker and the compiled metrics (built on the first batch), as Keras lists them."""
        if not self.compiled:
            return []
        heads = [tracker for _, _, _, tracker in self._heads or ()]
        return [self._loss_tracker] + [metric for metric, _, _ in self._metrics or ()] + heads

    @property
    def metrics_names(self):
        names = ["loss"]
        if self._metrics:
            names += [m.name for m, _, _ in self._metrics]
        return names + [tracker.name for _, _, _, tracker in self._heads or ()]

    def _build_metrics(self, y, y_pred):
        """Metric objects need y's and the prediction's shapes (Keras's rule for 'accuracy')."""
        if self._metrics is not None:
            return
        if self._heads is None:
            self._metrics = [(metrics_module.resolve(i, y, y_pred), False, None) for i in self._metric_ids]
            self._metrics += [(metrics_module.resolve(i, y, y_pred), True, None) for i in self._weighted_metric_ids]
            self._log_names = _unique_log_names(self._metrics)
            return
        self._metrics, self._log_names = [], []
        y = list(y)  # a BatchList indexes rows; here each output's array is wanted
        for weighted, identifiers in ((False, self._metric_ids), (True, self._weighted_metric_ids)):
            for index, ids in enumerate(self._per_output(identifiers, "metrics", default=[])):
                for identifier in ids if isinstance(ids, (list, tuple)) else [ids]:
                    metric = metrics_module.resolve(identifier, y[index], y_pred[index])
                    self._metrics.append((metric, weighted, index))
                    self._log_names.append(f"{self._heads[index][0]}_{metric.name}")

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    def _logs(self):
        logs = {"loss": float(self._loss_tracker.result())}
        for (metric, _, _), name in zip(self._metrics or (), self._log_names):
            logs[name] = float(metric.result())
        for name, _, _, tracker in self._heads or ():
            logs[f"{name}_loss"] = float(tracker.result())
        return dict(sorted(logs.items()))

    # ------------------------------------------------------------------ one step
    def _loss_folding(self, loss=None, layer=None):
        """The output layer, when Keras computes this loss from that layer's logits (see losses)."""
        loss = loss or self._loss
        layer = layer or self._output_layer()
        fold = getattr(loss, "folds_activation", None)
        if fold and layer is not None and getattr(layer, "activation", None) is not None:
            if activations.serialize(layer.activation) == fold:
                return layer
        return None

    def _regularization(self, variables):
        """Sum of the weight-regularization losses of `variables` and the activity losses of the last forward pass."""
        total = 0.0
        for variable in variables:
            if variable.regularizer is not None:
                total += float(variable.regularizer(variable.value))
        for layer in self._flat_layers():
            for value in layer.losses:
                total += float(value)
        return total

    def _loss_and_gradient(self, y, y_pred, sample_weight):
        """The loss, its gradient (per output for several outputs) and whether each is w.r.t. logits.

        Several outputs: the total is the loss_weights-weighted sum; each output's own (unweighted) loss
        goes to its tracker, a plain mean over batches, as Keras logs `<output>_loss`.
        """
        masks = self._output_masks
        if self._heads is None:
            fold_layer = self._loss_folding()
            logits = fold_layer.logits if fold_layer is not None else None
            loss_value, grad = self._loss.value_and_gradient(y, y_pred, sample_weight, logits=logits,
                                                             **_mask_argument(masks[0]))
            return float(loss_value), grad, logits is not None
        total, grads, flags = 0.0, [], []
        for (_, loss, weight, tracker), target, prediction, layer, mask in zip(self._heads, y, y_pred,
                                                                             self._output_layers(), masks):
            fold_layer = self._loss_folding(loss, layer) if layer is not None else None
            logits = fold_layer.logits if fold_layer is not None else None
            value, grad = loss.value_and_gradient(target, prediction, sample_weight, logits=logits,
                                                  **_mask_argument(mask))
            tracker.update_state(value)
            total += weight * float(value)
            grads.append(grad * weight if weight != 1 else grad)
            flags.append(logits is not None)
        return total, grads, flags

    def _train_step(self, x, y, sample_weight, variables=None):
        """One update; `variables` are the trainable ones when the caller took them for many steps (fit,
        once an epoch: walking the layers for them costs 2 us, a hundredth of a batch-1 LSTM step)."""
        variables = self.trainable_weights if variables is None else variables
        y_pred = self._forward(x, training=True)
        loss_value, grad, grad_is_logits = self._loss_and_gradient(y, y_pred, sample_weight)
        loss_value += self._regularization(variables)
        self._backward(grad, grad_is_logits=grad_is_logits)
        for variable in variables:
            if variable.regularizer is not None:
                variable.grad = variable.grad + variable.regularizer.gradient(variable.value)
                variable.grad_lookups = None  # a dense term joins a lookup gradient: TensorFlow densifies it
        self.optimizer.apply([v.grad for v in variables], variables)
        self._update_trackers(loss_value, y, y_pred, sample_weight, len(x))

    def _test_step(self, x, y, sample_weight):
        y_pred = self._forward(x, training=False)
        loss_value, _, _ = self._loss_and_gradient(y, y_pred, sample_weight)
        loss_value += self._regularization(self.trainable_weights)
        self._update_trackers(loss_value, y, y_pred, sample_weight, len(x))

    def _update_trackers(self, loss_value, y, y_pred, sample_weight, batch_size):
        self._build_metrics(y, y_pred)
        self._loss_tracker.update_state(loss_value, sample_weight=batch_size)
        targets = list(y) if self._heads is not None else None
        for metric, weighted, index in self._metrics:
            target, prediction = (y, y_pred) if index is None else (targets[index], y_pred[index])
            weights = sample_weight if weighted else None
            mask = self._output_masks[index or 0]
            if mask is not None:  # Keras weighs metrics of a masked output by its mask
                weights = mask.astype(prediction.dtype) if weights is None else _with_mask(weights, mask)
            metric.update_state(target, prediction, sample_weight=weights)

    # ------------------------------------------------------------------ data
    def _prepare_xy(self, x, y, sample_weight, class_weight=None, names=("x", "y", "sample_weight")):
        """Convert and check x, y and the weights once, before any work; build the model if needed."""
        x_name, y_name, w_name = names
        if y is None:
            raise ValueError(f"Argument `{y_name}` is required to compute the loss. Received: {y_name}=None")
        x = self._convert_x(x, x_name)
        y = self._outputs_by_position(data_adapter.to_arrays(y, y_name, self._several_outputs()), y_name)
        sample_weight = data_adapter.to_array(sample_weight, w_name)
        data_adapter.check_cardinality(**{x_name: x, y_name: y, w_name: sample_weight})
        data_adapter.check_not_empty(x, x_name)
        if class_weight is not None and sample_weight is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
        if sample_weight is not None and sample_weight.ndim > 1:
            if sample_weight.shape[1:] != (1,) * (sample_weight.ndim - 1):
                raise ValueError(f"`{w_name}` must have one weight per sample, shape ({len(x)},). "
                                 f"Received: {w_name} with shape {sample_weight.shape}")
            sample_weight = sample_weight.reshape(len(x))
        x = self._prepare_input(x, x_name)
        if class_weight is not None:
            if self._several_outputs():
                raise ValueError("`class_weight` is only supported for Models with a single output.")
            classes = max(2, self.output_shape[-1])  # one sigmoid unit tells two classes apart
            sample_weight = data_adapter.class_weight_to_sample_weight(y, class_weight, classes)
        self._check_targets(y)
        return x, y, sample_weight

    def _convert_x(self, x, name):
        """x as a float array, or a BatchList of them (in input order) for a model with several inputs."""
        if x is None:
            raise ValueError(f"Argument `{name}` is required. Received: {name}=None")
        return self._inputs_by_position(data_adapter.to_arrays(x, name, self._several_inputs(x)), name)

    def _several_inputs(self, x):
        """Whether `x` holds one array per model input (a list or dict of them)."""
        return isinstance(x, dict)

    def _inputs_by_position(self, x, name):
        """A dict of inputs as the list the model's inputs expect; anything else unchanged."""
        return x

    def _several_outputs(self):
        return isinstance(self.output_shape, list)

    def _outputs_by_position(self, y, name):
        """A dict of targets as the list in output order; anything else unchanged."""
        return y

    def _output_layers(self):
        """Per output, the layer producing it (None where its logits cannot be used)."""
        return [None] * len(self.output_shape)

    def _per_output(self, identifiers, argument, default):
        """compile's `loss`/`metrics`/`loss_weights` as one entry per output (dict by output name, list in
        order, or one value for all)."""
        names = [name for name, *_ in self._heads] if self._heads else self.output_names
        if isinstance(identifiers, dict):
            unknown = [key for key in identifiers if key not in names]
            if unknown:
                raise ValueError(f"Unknown output name(s) {unknown} in `{argument}`. The model's outputs are {names}.")
            if argument == "loss" and len(identifiers) != len(names):
                raise ValueError(f"Expected keys {names} in loss dict, but found loss.keys()={list(identifiers)}")
            return [identifiers.get(name, default) for name in names]
        if isinstance(identifiers, (list, tuple)) and identifiers:
            if argument == "metrics" and identifiers and not all(isinstance(i, (list, tuple)) for i in identifiers):
                raise ValueError(f"Invalid `{argument}`: a model with several outputs takes a dict keyed by output "
                                 f"name or a list with one list per output ({names}). Received: {argument}={identifiers}")
            if len(identifiers) != len(names):
                raise ValueError(f"`{argument}` must have one entry per output ({len(names)}: {names}). "
                                 f"Received {len(identifiers)}: {argument}={identifiers}")
            return list(identifiers)
        if isinstance(identifiers, (list, tuple)) or identifiers is None:
            identifiers = default
        return [identifiers] * len(names)

    def _build_heads(self, y):
        """For several outputs: (name, loss, weight, tracker) per output, resolved against the targets."""
        names = self.output_names
        self._heads = [(name, None, 1.0, None) for name in names]
        loss_ids = self._per_output(self.loss, "loss", default=None)
        weights = self._per_output(self._loss_weights, "loss_weights", default=1.0)
        heads = []
        for name, identifier, weight, target, shape in zip(names, loss_ids, weights, y, self.output_shape):
            stand_in = np.broadcast_to(np.asarray(0.5, dtype=target.dtype), (len(target),) + tuple(shape[1:]))
            heads.append((name, losses.resolve(identifier, target, stand_in), float(weight),
                          metrics_module.Mean(name=f"{name}_loss")))
        self._heads = heads

    def _check_targets(self, y):
        """Run the loss once on the whole of y against a constant prediction of the model's output shape.

        Label ranges and shape mismatches then fail here, with the loss's clear error, before any update.
        """
        if self._several_outputs():
            if self._heads is None:
                self._build_heads(y)
            stand_ins = [np.broadcast_to(np.asarray(0.5, dtype=target.dtype), (len(target),) + tuple(shape[1:]))
                         for target, shape in zip(y, self.output_shape)]
            for (_, loss, _, _), target, stand_in in zip(self._heads, y, stand_ins):
                loss(target, stand_in)
                loss.check_targets(target)
            self._check_metrics(y, stand_ins)
            return
        stand_in = np.broadcast_to(np.asarray(0.5, dtype=y.dtype), (len(y),) + tuple(self.output_shape[1:]))
        if self._loss is None:
            identifier = self.loss
            if isinstance(identifier, dict):
                identifier = next(iter(identifier.values())) if len(identifier) == 1 else identifier
            elif isinstance(identifier, (list, tuple)) and len(identifier) == 1:
                identifier = identifier[0]
            self._loss = losses.resolve(identifier, y, stand_in)
        self._loss(y, stand_in)
        self._loss.check_targets(y)
        self._check_metrics(y, stand_in)

    def _check_metrics(self, y, stand_in):
        """The compiled metrics, run once on the stand-in and reset: a target they cannot take fails here."""
        self._build_metrics(y, stand_in)
        targets = list(y) if self._heads is not None else None
        for metric, _, index in self._metrics:
            target, prediction = (y, stand_in) if index is None else (targets[index], stand_in[index])
            try:
                metric.update_state(target, prediction)
            except ValueError as error:
                raise ValueError(f"Metric '{metric.name}' cannot take targets of shape {target.shape} against outputs "
                                 f"of shape {(None,) + prediction.shape[1:]}: {error}") from None
            finally:
                metric.reset_state()

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1, **kwargs):
        """Train for `epochs` epochs of mini-batch gradient descent; returns a History."""
        from minikeras.callbacks import CallbackList

        _check_fit_kwargs(kwargs, "fit")
        self._check_compiled()
        _check_args(batch_size=batch_size, epochs=epochs, verbose=verbose, validation_split=validation_split,
                    initial_epoch=initial_epoch, validation_batch_size=validation_batch_size,
                    validation_freq=validation_freq)
        if steps_per_epoch is not None or validation_steps is not None:
            raise ValueError("`steps_per_epoch` and `validation_steps` are only supported for data generators; "
                             "minikeras fits arrays, which are always used whole.")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"Invalid value for argument `shuffle`: expected True or False. Received: shuffle={shuffle!r}")
        batch_size = batch_size or 32
        x, y, sample_weight = self._prepare_xy(x, y, sample_weight, class_weight)
        if validation_data is not None:
            vx, vy, vw = data_adapter.unpack_validation_data(validation_data)
            val = self._prepare_xy(vx, vy, vw, names=("x_val", "y_val", "sample_weight_val"))
        elif validation_split:
            split_at = int(len(x) * (1.0 - validation_split))
            if split_at == 0 or split_at == len(x):
                raise ValueError(
                    f"Training data contains {len(x)} samples, which is not sufficient to split it into a "
                    f"validation and training set as specified by `validation_split={validation_split}`. Either "
                    "provide more data, or a different value for the `validation_split` argument."
                )
            val = (x[split_at:], y[split_at:], None if sample_weight is None else sample_weight[split_at:])
            x, y = x[:split_at], y[:split_at]
            sample_weight = None if sample_weight is None else sample_weight[:split_at]
        else:
            val = None

        steps = math.ceil(len(x) / batch_size)
        verbose = 1 if verbose == "auto" else verbose
        callback_list = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        self._initial_epoch = None
        # NumPy's warnings stay quiet, as TensorFlow is: an inf or NaN shows in the loss (TerminateOnNaN stops on it)
        with _InterruptBetweenSteps() as interrupts, np.errstate(all="ignore"):
            callback_list.on_train_begin()
            initial_epoch = self._initial_epoch or initial_epoch  # BackupAndRestore resumes an interrupted fit
            epoch_logs = {}
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                callback_list.on_epoch_begin(epoch)
                order = _epoch_order(len(x), shuffle)
                variables = self.trainable_weights
                logs_wanted = bool(callback_list.batch_listeners("on_train_batch_end"))  # building logs costs ~10 us
                for step in range(steps):
                    index = slice(step * batch_size, (step + 1) * batch_size)
                    if order is not None:
                        index = order[index]
                    callback_list.on_train_batch_begin(step)
                    weights = None if sample_weight is None else sample_weight[index]
                    interrupts.hold()
                    self._train_step(x[index], y[index], weights, variables)
                    interrupts.release()
                    callback_list.on_train_batch_end(step, self._logs() if logs_wanted else None)
                    if self.stop_training:
                        break
                epoch_logs = self._logs()
                if val is not None and _should_validate(epoch, validation_freq):
                    val_logs = self._run_evaluation(*val, validation_batch_size or batch_size, callback_list)
                    epoch_logs.update({"val_" + name: value for name, value in val_logs.items()})
                    epoch_logs = dict(sorted(epoch_logs.items()))
                callback_list.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
            self.optimizer.finalize_variable_values(self.trainable_weights)
            callback_list.on_train_end(epoch_logs)
        return self.history

    # ------------------------------------------------------------------ evaluate
    def _run_evaluation(self, x, y, sample_weight, batch_size, callback_list):
        self.reset_metrics()
        callback_list.on_test_begin()
        logs_wanted = bool(callback_list.batch_listeners("on_test_batch_end"))
        for step in range(math.ceil(len(x) / batch_size)):
            index = slice(step * batch_size, (step + 1) * batch_size)
            callback_list.on_test_batch_begin(step)
            weights = None if sample_weight is None else sample_weight[index]
            self._test_step(x[index], y[index], weights)
            callback_list.on_test_batch_end(step, self._logs() if logs_wanted else None)
        logs = self._logs()
        callback_list.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """Loss (and metrics) over the data, batch-size-weighted like Keras; a scalar without metrics."""
        from minikeras.callbacks import CallbackList

        _check_fit_kwargs(kwargs, "evaluate")
        self._check_compiled()
        _check_args(batch_size=batch_size, verbose=verbose)
        batch_size = batch_size or 32
        x, y, sample_weight = self._prepare_xy(x, y, sample_weight)
        verbose = 1 if verbose == "auto" else verbose
        callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                     epochs=1, steps=math.ceil(len(x) / batch_size))
        logs = self._run_evaluation(x, y, sample_weight, batch_size, callback_list)
        return logs if return_dict else self._flatten_logs(logs)

    def _flatten_logs(self, logs):
        """[loss, metrics in compile order] (a scalar when there is only the loss), as Keras returns.

        Keras looks the logs up by each metric's own name, then appends the keys it did not find, sorted:
        a metric name given twice therefore repeats a value, and the renamed copy comes last.
        """
        names = self.metrics_names
        values = [logs[n] for n in names if n in logs] + [logs[k] for k in sorted(logs) if k not in names]
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ predict
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's output for every sample, computed batch by batch with `training=False`."""
        from minikeras.callbacks import CallbackList

        _check_args(batch_size=batch_size, verbose=verbose)
        batch_size = batch_size or 32
        x = self._convert_x(x, "x")
        data_adapter.check_not_empty(x, "x")
        x = self._prepare_input(x, "x")
        steps = math.ceil(len(x) / batch_size)
        verbose = 1 if verbose == "auto" else verbose
        callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                     epochs=1, steps=steps)
        callback_list.on_predict_begin()
        rows = _predict_rows(x, batch_size, callback_list)
        output = None
        for start in range(0, len(x), rows):
            steps_here = range(start // batch_size, math.ceil(min(start + rows, len(x)) / batch_size))
            for step in steps_here:
                callback_list.on_predict_batch_begin(step)
            batch = self._forward(x[start:start + rows], training=False)
            pieces = batch if isinstance(batch, list) else [batch]
            if output is None:
                output = [np.empty((len(x),) + piece.shape[1:], dtype=piece.dtype) for piece in pieces]
            for buffer, piece in zip(output, pieces):
                buffer[start:start + len(piece)] = piece
            for step in steps_here:
                done = slice(step * batch_size - start, (step + 1) * batch_size - start)
                callback_list.on_predict_batch_end(step, {"outputs": [piece[done] for piece in pieces]
                                                          if isinstance(batch, list) else batch[done]})
        callback_list.on_predict_end()
        return output if isinstance(batch, list) else output[0]

    # ------------------------------------------------------------------ on_batch
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient update on exactly this batch; returns its loss (and metrics)."""
        self._check_compiled()
        x, y, sample_weight = self._prepare_xy(x, y, sample_weight, class_weight)
        self.reset_metrics()
        with _InterruptBetweenSteps() as interrupts:
            interrupts.hold()
            self._train_step(x, y, sample_weight)
            interrupts.release()
        logs = self._logs()
        return logs if return_dict else self._flatten_logs(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._check_compiled()
        x, y, sample_weight = self._prepare_xy(x, y, sample_weight)
        self.reset_metrics()
        self._test_step(x, y, sample_weight)
        logs = self._logs()
        return logs if return_dict else self._flatten_logs(logs)

    def predict_on_batch(self, x):
        x = self._convert_x(x, "x")
        data_adapter.check_not_empty(x, "x")
        return self._forward(self._prepare_input(x, "x"), training=False)


_PREDICT_CHUNK_BYTES = 1 << 22
_PREDICT_CHUNK_ROWS = 1024


def _predict_rows(x, batch_size, callback_list):
    """Rows per forward pass in predict: `batch_size`, or up to 1024 (about 4 MB of input) when no callback
    but the progress bar watches single batches.

    Inference treats every row alone, so only the GEMMs' row blocking changes, which rounds at the float32
    level; the bigger blocks run BLAS several times faster.
    """
    watchers = [callback for hook in ("on_predict_batch_begin", "on_predict_batch_end")
                for callback in callback_list.batch_listeners(hook) if not getattr(callback, "display_only", False)]
    if watchers:
        return batch_size
    row_bytes = sum(piece[:1].nbytes for piece in (x if isinstance(x, list) else [x]))
    return max(batch_size, min(_PREDICT_CHUNK_ROWS, _PREDICT_CHUNK_BYTES // max(row_bytes, 1)) // batch_size * batch_size)


class _InterruptBetweenSteps:
    """Ctrl-C during fit never lands inside a training step: one arriving there is held until the step is
    done, so no layer is left half-updated; the model keeps the weights of its last whole step, and
    History the epochs that finished. Anywhere else it interrupts at once.

    Only the main thread can set signal handlers; a handler other than Python's default is left alone.
    """

    def __enter__(self):
        self._holding = self._requested = False
        self._previous = None
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._interrupt)
        return self

    def _interrupt(self, signum, frame):
        if not self._holding:
            raise KeyboardInterrupt
        self._requested = True

    def hold(self):
        self._holding = True

    def release(self):
        self._holding = False
        if self._requested:
            self._requested = False
            raise KeyboardInterrupt

    def __exit__(self, exc_type, exc_value, traceback):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _epoch_order(count, shuffle):
    """This epoch's sample order: a fresh permutation when shuffling, else None (slices, no copy).

    After `set_random_seed`, Keras's TensorFlow backend draws the same permutation every epoch; a
    learner comparing runs sees that, so it is reproduced.
    """
    if not shuffle:
        return None
    seed = backend.global_seed()
    generator = np.random.default_rng(seed) if seed is not None else backend.random_generator()
    return generator.permutation(count)


def _should_validate(epoch, validation_freq):
    """Every `validation_freq`-th epoch, or the 1-based epochs a list names."""
    if isinstance(validation_freq, (list, tuple)):
        return epoch + 1 in validation_freq
    return (epoch + 1) % validation_freq == 0


def _unique_log_names(metrics):
    """Keras's log key per (metric, weighted): a repeated name gets `_1`, `_2`...; a weighted metric
    whose name is taken is logged as `weighted_<name>` (then `weighted_<name>_1`...)."""
    counts = {}
    names = []
    for metric, weighted, _ in metrics:
        name = metric.name
        if name in counts and weighted:
            name = f"weighted_{metric.name}"
        if name in counts:
            counts[name] += 1
            name = f"{name}_{counts[name] - 1}"
        else:
            counts[name] = 1
        names.append(name)
    return names


def _chosen_from_shapes(loss):
    """compile's 'crossentropy'/'ce' is resolved from y's and the output's shapes, at the first data."""
    return isinstance(loss, str) and loss.lower() in ("crossentropy", "ce")


def _mask_argument(mask):
    """The loss's `mask=` keyword, only when there is a mask (custom losses need not take one)."""
    return {} if mask is None else {"mask": mask}


def _with_mask(sample_weight, mask):
    """Per-sample weights spread over a (batch, timesteps) mask."""
    weights = np.asarray(sample_weight)
    return weights.reshape(weights.shape + (1,) * (mask.ndim - weights.ndim)) * mask


def _flat_identifiers(identifiers):
    """Every loss/metric identifier in a value, list, list of lists or dict of them, for early checks."""
    if isinstance(identifiers, dict):
        identifiers = list(identifiers.values())
    if not isinstance(identifiers, (list, tuple)):
        return [identifiers]
    flat = []
    for item in identifiers:
        flat += _flat_identifiers(item) if isinstance(item, (list, tuple, dict)) else [item]
    return [item for item in flat if not (isinstance(item, str) and item in ("accuracy", "acc"))]


def _as_list(value, name):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, dict):
        return value
    return [value]


def _check_fit_kwargs(kwargs, method):
    if "nb_epoch" in kwargs:
        raise TypeError("The `nb_epoch` argument was renamed `epochs` in Keras 2. Use `epochs=...`.")
    if kwargs:
        raise TypeError(f"{method}() got an unexpected keyword argument '{next(iter(kwargs))}'")


def _check_args(batch_size=None, epochs=1, verbose="auto", validation_split=0.0, initial_epoch=0,
                validation_batch_size=None, validation_freq=1):
    data_adapter.check_positive_int(batch_size, "batch_size")
    data_adapter.check_positive_int(validation_batch_size, "validation_batch_size")
    if isinstance(validation_freq, (list, tuple)):
        for value in validation_freq:
            data_adapter.check_positive_int(value, "validation_freq")
    elif isinstance(validation_freq, (int, np.integer)) and not isinstance(validation_freq, bool):
        data_adapter.check_positive_int(validation_freq, "validation_freq")
    else:
        raise ValueError("Expected `validation_freq` to be a list or int. "
                         f"Received: validation_freq={validation_freq} of the type {type(validation_freq)}.")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"Invalid value for argument `epochs`: expected a non-negative integer. Received: epochs={epochs!r}")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
        raise ValueError(f"Invalid value for argument `initial_epoch`: expected a non-negative integer. "
                         f"Received: initial_epoch={initial_epoch!r}")
    if verbose not in _VERBOSE_VALUES or isinstance(verbose, bool) and verbose not in (0, 1):
        raise ValueError(f"Invalid value for argument `verbose`: expected 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")
    if not isinstance(validation_split, (int, float, np.floating)) or not 0 <= validation_split < 1:
        raise ValueError(f"Invalid value for argument `validation_split`: expected a float in [0, 1). "
                         f"Received: validation_split={validation_split!r}")

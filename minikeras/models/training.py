"""compile, fit, evaluate, predict and the *_on_batch calls: the training loop shared by every model.

A model class mixing this in provides `_forward(x, training)`, `_backward(grad, grad_is_logits)`,
`_output_layer()`, `_prepare_input(x)` (checks/adapts x and builds the model) and the Layer API.
"""
import math

import numpy as np

from minikeras import backend, losses, metrics as metrics_module, optimizers
from minikeras.utils import data_adapter

_VERBOSE_VALUES = (0, 1, 2, "auto")


class Trainer:
    """The Keras training API over a model that knows its forward and backward passes."""

    compiled = False
    optimizer = None
    loss = None
    stop_training = False
    history = None

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Configure the model for training: resolve optimizer, loss and metric names now, so a typo fails here."""
        resolved_optimizer = optimizers.get(optimizer)
        resolved_loss = None if loss is None or _chosen_from_shapes(loss) else losses.resolve(loss)
        metric_ids = _as_list(metrics, "metrics")
        weighted_ids = _as_list(weighted_metrics, "weighted_metrics")
        for identifier in metric_ids + weighted_ids:
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
        return [self._loss_tracker] + [metric for metric, _ in self._metrics or ()]

    @property
    def metrics_names(self):
        names = ["loss"]
        if self._metrics:
            names += [m.name for m, _ in self._metrics]
        return names

    def _build_metrics(self, y, y_pred):
        """Metric objects need y's and the prediction's shapes (Keras's rule for 'accuracy')."""
        if self._metrics is not None:
            return
        self._metrics = [(metrics_module.resolve(i, y, y_pred), False) for i in self._metric_ids]
        self._metrics += [(metrics_module.resolve(i, y, y_pred), True) for i in self._weighted_metric_ids]
        self._log_names = _unique_log_names(self._metrics)

    def reset_metrics(self):
        self._loss_tracker.reset_state()
        for metric, _ in self._metrics or ():
            metric.reset_state()

    def _logs(self):
        logs = {"loss": float(self._loss_tracker.result())}
        for (metric, _), name in zip(self._metrics or (), self._log_names):
            logs[name] = float(metric.result())
        return dict(sorted(logs.items()))

    # ------------------------------------------------------------------ one step
    def _loss_folding(self):
        """The output layer, when Keras computes this loss from that layer's logits (see losses)."""
        layer = self._output_layer()
        fold = getattr(self._loss, "folds_activation", None)
        if fold and layer is not None and getattr(layer, "activation", None) is not None:
            from minikeras import activations

            if activations.serialize(layer.activation) == fold:
                return layer
        return None

    def _regularization(self):
        """Sum of the weight-regularization and activity losses of the last forward pass."""
        total = 0.0
        for variable in self.trainable_weights:
            if variable.regularizer is not None:
                total += float(variable.regularizer(variable.value))
        for layer in self._flat_layers():
            for value in layer.losses:
                total += float(value)
        return total

    def _train_step(self, x, y, sample_weight):
        y_pred = self._forward(x, training=True)
        fold_layer = self._loss_folding()
        logits = fold_layer.logits if fold_layer is not None else None
        loss_value, grad = self._loss.value_and_gradient(y, y_pred, sample_weight, logits=logits)
        loss_value = float(loss_value) + self._regularization()
        self._backward(grad, grad_is_logits=logits is not None)
        variables = self.trainable_weights
        for variable in variables:
            if variable.regularizer is not None:
                variable.grad = variable.grad + variable.regularizer.gradient(variable.value)
        self.optimizer.apply([v.grad for v in variables], variables)
        self._update_trackers(loss_value, y, y_pred, sample_weight, len(x))

    def _test_step(self, x, y, sample_weight):
        y_pred = self._forward(x, training=False)
        fold_layer = self._loss_folding()
        logits = fold_layer.logits if fold_layer is not None else None
        loss_value, _ = self._loss.value_and_gradient(y, y_pred, sample_weight, logits=logits)
        loss_value = float(loss_value) + self._regularization()
        self._update_trackers(loss_value, y, y_pred, sample_weight, len(x))

    def _update_trackers(self, loss_value, y, y_pred, sample_weight, batch_size):
        self._build_metrics(y, y_pred)
        self._loss_tracker.update_state(loss_value, sample_weight=batch_size)
        for metric, weighted in self._metrics:
            metric.update_state(y, y_pred, sample_weight=sample_weight if weighted else None)

    # ------------------------------------------------------------------ data
    def _prepare_xy(self, x, y, sample_weight, class_weight=None, names=("x", "y", "sample_weight")):
        """Convert and check x, y and the weights once, before any work; build the model if needed."""
        x_name, y_name, w_name = names
        if x is None:
            raise ValueError(f"Argument `{x_name}` is required. Received: {x_name}=None")
        if y is None:
            raise ValueError(f"Argument `{y_name}` is required to compute the loss. Received: {y_name}=None")
        x = data_adapter.to_array(x, x_name)
        y = data_adapter.to_array(y, y_name)
        sample_weight = data_adapter.to_array(sample_weight, w_name)
        data_adapter.check_cardinality(**{x_name: x, y_name: y, w_name: sample_weight})
        data_adapter.check_not_empty(x, x_name)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            sample_weight = data_adapter.class_weight_to_sample_weight(y, class_weight)
        if sample_weight is not None and sample_weight.ndim > 1:
            if sample_weight.shape[1:] != (1,) * (sample_weight.ndim - 1):
                raise ValueError(f"`{w_name}` must have one weight per sample, shape ({len(x)},). "
                                 f"Received: {w_name} with shape {sample_weight.shape}")
            sample_weight = sample_weight.reshape(len(x))
        x = self._prepare_input(x, x_name)
        self._check_targets(y)
        return x, y, sample_weight

    def _check_targets(self, y):
        """Run the loss once on the whole of y against a constant prediction of the model's output shape.

        Label ranges and shape mismatches then fail here, with the loss's clear error, before any update.
        """
        stand_in = np.broadcast_to(np.asarray(0.5, dtype=y.dtype), (len(y),) + tuple(self.output_shape[1:]))
        if self._loss is None:
            self._loss = losses.resolve(self.loss, y, stand_in)
        self._loss(y, stand_in)

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
        callback_list.on_train_begin()
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            order = _epoch_order(len(x), shuffle)
            for step in range(steps):
                index = slice(step * batch_size, (step + 1) * batch_size)
                if order is not None:
                    index = order[index]
                callback_list.on_train_batch_begin(step)
                weights = None if sample_weight is None else sample_weight[index]
                self._train_step(x[index], y[index], weights)
                callback_list.on_train_batch_end(step, self._logs())
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
        for step in range(math.ceil(len(x) / batch_size)):
            index = slice(step * batch_size, (step + 1) * batch_size)
            callback_list.on_test_batch_begin(step)
            weights = None if sample_weight is None else sample_weight[index]
            self._test_step(x[index], y[index], weights)
            callback_list.on_test_batch_end(step, self._logs())
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
        x = data_adapter.to_array(x, "x")
        data_adapter.check_not_empty(x, "x")
        x = self._prepare_input(x, "x")
        steps = math.ceil(len(x) / batch_size)
        verbose = 1 if verbose == "auto" else verbose
        callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                     epochs=1, steps=steps)
        callback_list.on_predict_begin()
        output = None
        for step in range(steps):
            start = step * batch_size
            callback_list.on_predict_batch_begin(step)
            batch = self._forward(x[start:start + batch_size], training=False)
            if output is None:
                output = np.empty((len(x),) + batch.shape[1:], dtype=batch.dtype)
            output[start:start + len(batch)] = batch
            callback_list.on_predict_batch_end(step, {"outputs": batch})
        callback_list.on_predict_end()
        return output

    # ------------------------------------------------------------------ on_batch
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient update on exactly this batch; returns its loss (and metrics)."""
        self._check_compiled()
        x, y, sample_weight = self._prepare_xy(x, y, sample_weight, class_weight)
        self.reset_metrics()
        self._train_step(x, y, sample_weight)
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
        x = data_adapter.to_array(x, "x")
        data_adapter.check_not_empty(x, "x")
        return self._forward(self._prepare_input(x, "x"), training=False)


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
    for metric, weighted in metrics:
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


def _as_list(value, name):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, dict):
        raise TypeError(f"`{name}` given as a dict is for models with several named outputs. "
                        f"Received: {name}={value!r}")
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

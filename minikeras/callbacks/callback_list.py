"""CallbackList: one endpoint that fans every hook out to a list of callbacks."""
from minikeras.callbacks.callback import Callback, overrides
from minikeras.callbacks.history import History

# Which overridden methods make a callback listen to each batch hook: the base
# on_train_batch_* forward to the legacy on_batch_*, so overriding either counts.
_BATCH_HOOK_TRIGGERS = {
    "on_batch_begin": ("on_batch_begin",),
    "on_batch_end": ("on_batch_end",),
    "on_train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "on_train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "on_test_batch_begin": ("on_test_batch_begin",),
    "on_test_batch_end": ("on_test_batch_end",),
    "on_predict_batch_begin": ("on_predict_batch_begin",),
    "on_predict_batch_end": ("on_predict_batch_end",),
}


def pythonify_logs(logs):
    """A new dict of the logs sorted by key, nested dicts flattened in, values made Python floats where possible."""
    result = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            pass
        result[key] = value
    return result


def _flatten(callbacks):
    if isinstance(callbacks, (list, tuple)):
        return [leaf for item in callbacks for leaf in _flatten(item)]
    if not isinstance(callbacks, Callback):
        raise TypeError(
            "Expected `callbacks` to hold `keras.callbacks.Callback` instances. "
            f"Received: {callbacks!r} of type {type(callbacks).__name__}"
        )
    return [callbacks]


class CallbackList(Callback):
    """Calls each hook on every callback in order: user callbacks, then History, then ProgbarLogger.

    Every hook receives its own copy of the logs (sorted, Python floats), shared along the list, so a
    callback that adds a key (ReduceLROnPlateau's `learning_rate`) is seen by the callbacks after it.
    Batch hooks only visit callbacks that override them, keeping per-batch overhead to microseconds.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = _flatten(callbacks) if callbacks else []
        self._add_default_callbacks(add_history, add_progbar)
        self.set_model(model)
        self.set_params(params)
        self._index_batch_listeners()

    def _add_default_callbacks(self, add_history, add_progbar):
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if add_progbar:
            # Imported here so this module does not depend on the progress bar's module.
            from minikeras.callbacks.progbar_logger import ProgbarLogger

            if not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
                self.callbacks.append(ProgbarLogger())

    def _index_batch_listeners(self):
        """Precomputes, per batch hook, the callbacks that override it (redone at each begin hook,
        so callbacks appended to `self.callbacks` before fit/evaluate/predict are seen)."""
        self._batch_listeners = {
            hook: tuple(cb for cb in self.callbacks if any(overrides(cb, name) for name in triggers))
            for hook, triggers in _BATCH_HOOK_TRIGGERS.items()
        }

    def batch_listeners(self, hook_name):
        """The callbacks that listen to a batch hook, e.g. "on_predict_batch_end"."""
        return self._batch_listeners[hook_name]

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def _call_all(self, hook_name, *leading_args, logs):
        logs = pythonify_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook_name)(*leading_args, logs)

    def _call_batch_listeners(self, hook_name, batch, logs):
        listeners = self._batch_listeners[hook_name]
        if listeners:
            logs = pythonify_logs(logs)
            for callback in listeners:
                getattr(callback, hook_name)(batch, logs=logs)

    def on_train_begin(self, logs=None):
        self._index_batch_listeners()
        self._call_all("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call_all("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._index_batch_listeners()
        self._call_all("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call_all("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._index_batch_listeners()
        self._call_all("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call_all("on_predict_end", logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call_all("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call_all("on_epoch_end", epoch, logs=logs)

    def on_batch_begin(self, batch, logs=None):
        self._call_batch_listeners("on_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._call_batch_listeners("on_batch_end", batch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call_batch_listeners("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call_batch_listeners("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call_batch_listeners("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call_batch_listeners("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call_batch_listeners("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call_batch_listeners("on_predict_batch_end", batch, logs)

"""Callback: the base class whose hooks the training loop calls."""


def default_hook(method):
    """Marks a base-class hook, so CallbackList can skip callbacks that never override it."""
    method.is_default_hook = True
    return method


def overrides(callback, hook_name):
    """True when `callback` replaces the base hook `hook_name` (by subclassing or by instance attribute)."""
    return not getattr(getattr(callback, hook_name), "is_default_hook", False)


class Callback:
    """Base class of all callbacks: every hook does nothing unless a subclass overrides it.

    The loop calls on_train_begin, then per epoch on_epoch_begin, per batch on_train_batch_begin/end,
    then on_epoch_end(epoch, logs) with the epoch's metrics, and on_train_end; evaluate and predict call
    the matching on_test_* / on_predict_* hooks. on_batch_begin/end are the legacy train-batch aliases.
    """

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    @default_hook
    def on_batch_begin(self, batch, logs=None):
        """Legacy alias of on_train_batch_begin."""

    @default_hook
    def on_batch_end(self, batch, logs=None):
        """Legacy alias of on_train_batch_end."""

    @default_hook
    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of each training epoch."""

    @default_hook
    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of each epoch with the epoch's metrics (validation ones prefixed `val_`)."""

    @default_hook
    def on_train_batch_begin(self, batch, logs=None):
        """Called before each training batch; by default forwards to the legacy on_batch_begin."""
        self.on_batch_begin(batch, logs=logs)

    @default_hook
    def on_train_batch_end(self, batch, logs=None):
        """Called after each training batch with the running metrics; forwards to on_batch_end."""
        self.on_batch_end(batch, logs=logs)

    @default_hook
    def on_test_batch_begin(self, batch, logs=None):
        """Called before each batch of evaluate (and of validation inside fit)."""

    @default_hook
    def on_test_batch_end(self, batch, logs=None):
        """Called after each batch of evaluate (and of validation inside fit)."""

    @default_hook
    def on_predict_batch_begin(self, batch, logs=None):
        """Called before each batch of predict."""

    @default_hook
    def on_predict_batch_end(self, batch, logs=None):
        """Called after each batch of predict."""

    @default_hook
    def on_train_begin(self, logs=None):
        """Called once when fit starts."""

    @default_hook
    def on_train_end(self, logs=None):
        """Called once when fit ends, with the last epoch's logs."""

    @default_hook
    def on_test_begin(self, logs=None):
        """Called when evaluate (or a validation pass) starts."""

    @default_hook
    def on_test_end(self, logs=None):
        """Called when evaluate (or a validation pass) ends."""

    @default_hook
    def on_predict_begin(self, logs=None):
        """Called when predict starts."""

    @default_hook
    def on_predict_end(self, logs=None):
        """Called when predict ends."""

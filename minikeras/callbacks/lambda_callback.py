"""LambdaCallback: a callback built from plain functions."""
from minikeras.callbacks.callback import Callback
from minikeras.utils.argument_validation import check_callable


class LambdaCallback(Callback):
    """Each given function replaces the hook of the same name: on_epoch_begin/end(epoch, logs),
    on_train_begin/end(logs), on_train_batch_begin/end(batch, logs); any other `on_*` hook (or
    attribute) can be passed as a keyword argument.
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
        }
        for name, function in hooks.items():
            check_callable(function, name, allow_none=True)
        self.__dict__.update(kwargs)
        self.__dict__.update({name: function for name, function in hooks.items() if function is not None})

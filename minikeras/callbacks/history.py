"""History: the record of epoch logs that fit returns."""
from minikeras.callbacks.callback import Callback

# Keras 2.2 logged metrics=['accuracy'] as 'acc' and metrics=['mae'] as 'mean_absolute_error' (its function's
# name); Keras 2.3 and 3 log each metric under the name it was given. Course code reads either spelling.
_SPELLING_PAIRS = [("acc", "accuracy"), ("mae", "mean_absolute_error"), ("mse", "mean_squared_error")]
_OTHER_SPELLING = {**dict(_SPELLING_PAIRS), **{long: short for short, long in _SPELLING_PAIRS}}


class HistoryDict(dict):
    """`History.history`: keys are the logged (Keras 3) names; reading also accepts the other spelling.

    `history['acc']` and `history['val_acc']` find 'accuracy' and 'val_accuracy' (Keras 2 course code),
    and `history['accuracy']` finds 'acc' when the metric was given as 'acc'; likewise 'mae' and
    'mean_absolute_error', 'mse' and 'mean_squared_error'. Iteration, `keys()` and `len()` show only the
    logged names.
    """

    def _logged_key(self, key):
        if not isinstance(key, str) or dict.__contains__(self, key):
            return key
        prefix = "val_" if key.startswith("val_") else ""
        other = _OTHER_SPELLING.get(key[len(prefix):])
        return prefix + other if other and dict.__contains__(self, prefix + other) else key

    def __getitem__(self, key):
        return super().__getitem__(self._logged_key(key))

    def __contains__(self, key):
        return super().__contains__(self._logged_key(key))

    def get(self, key, default=None):
        return super().get(self._logged_key(key), default)


class History(Callback):
    """Appends each epoch's logs: history[name] is the list of that value per epoch, epoch the epoch indices.

    Keys come in the order of the logs (alphabetical, then keys callbacks added before History, such as
    `learning_rate`). The model's `history` attribute points at this object after every epoch.
    """

    def __init__(self):
        super().__init__()
        self.history = HistoryDict()
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        self.model.history = self

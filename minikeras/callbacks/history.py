"""History: the record of epoch logs that fit returns."""
from minikeras.callbacks.callback import Callback


class History(Callback):
    """Appends each epoch's logs: history[name] is the list of that value per epoch, epoch the epoch indices.

    Keys come in the order of the logs (alphabetical, then keys callbacks added before History, such as
    `learning_rate`). The model's `history` attribute points at this object after every epoch.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        self.model.history = self

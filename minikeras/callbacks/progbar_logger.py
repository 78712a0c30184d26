"""ProgbarLogger: the callback that prints the progress bar of fit, evaluate and predict."""
from minikeras.callbacks.callback import Callback
from minikeras.utils.progbar import Progbar, print_msg


class ProgbarLogger(Callback):
    """Prints one `Progbar` per epoch (or per evaluate / predict call), as Keras 3 does.

    `set_params({'verbose', 'epochs', 'steps'})` configures it ("auto" means 1). In fit, "Epoch i/N"
    heads each epoch when epochs > 1; the bar shows each batch's logs as given (they are running
    means already) and is finalized with the epoch logs, `val_` ones included. Validation inside fit
    prints nothing; predict shows no values.
    """

    display_only = True  # it reads no batch outputs, so predict may compute several batches at once

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        self.verbose = 1 if params["verbose"] == "auto" else params["verbose"]
        self.epochs = params["epochs"]
        self.target = params["steps"]

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        self._start_progbar()
        if self.verbose and self.epochs > 1:
            print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._start_progbar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_begin(self, logs=None):
        self._start_progbar()

    def on_predict_batch_end(self, batch, logs=None):
        # The batch logs of predict hold the outputs, which are not for display.
        self._update_progbar(batch, None)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)

    def _start_progbar(self):
        self.seen = 0
        self.progbar = None
        self._ensure_progbar()

    def _ensure_progbar(self):
        if self.progbar is None:
            # Every value is shown as given: the engine's logs are running means already.
            self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step", stateless_metrics=set())

    def _update_progbar(self, batch, logs):
        self._ensure_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize_progbar(self, logs):
        if self.target is None:
            # With an unknown number of steps, the steps seen in this pass become the target.
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)

"""ModelCheckpoint: save the model (or its weights) during fit, every epoch or every N batches."""
import os
import warnings

from minikeras.callbacks.monitor_callback import MonitorCallback
from minikeras.saving import saving_api
from minikeras.utils.argument_validation import check_bool, check_number, check_path


def check_save_freq(save_freq, message):
    # False is BackupAndRestore's "only on interruption"; any other count must be positive
    if save_freq != "epoch" and (not isinstance(save_freq, int) or save_freq <= 0 and save_freq is not False):
        raise ValueError(message)


class BatchCounter:
    """Counts training batches across epochs and says when `save_freq` of them have run since the last
    save (the batch index restarting at or below the last one seen marks a new epoch)."""

    def __init__(self, save_freq, last_batch_seen=None):
        self.save_freq = save_freq
        self.seen_since_last_save = 0
        self.last_batch_seen = last_batch_seen

    def is_due(self, batch):
        if self.save_freq == "epoch":
            return False
        if self.last_batch_seen is None or batch <= self.last_batch_seen:
            self.seen_since_last_save += batch + 1
        else:
            self.seen_since_last_save += batch - self.last_batch_seen
        self.last_batch_seen = batch
        if self.seen_since_last_save >= self.save_freq:
            self.seen_since_last_save = 0
            return True
        return False


class ModelCheckpoint(MonitorCallback):
    """Saves to `filepath.format(epoch=epoch + 1, **logs)` (plus `batch=batch + 1` when saving every
    `save_freq` batches): a `.keras` model, or a `.weights.h5` file with save_weights_only.

    With save_best_only a save happens only when `monitor` improves on the best value so far (starting
    from initial_value_threshold); a missing `monitor` key warns and saves anyway, as in Keras.
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__(monitor, mode, check_number(initial_value_threshold, "initial_value_threshold",
                                                     allow_none=True))
        self.verbose = verbose
        self.filepath = check_path(filepath, "filepath")
        self.save_best_only = check_bool(save_best_only, "save_best_only")
        self.save_weights_only = check_bool(save_weights_only, "save_weights_only")
        self.save_freq = save_freq
        check_save_freq(save_freq, f"Unrecognized save_freq: {save_freq}. "
                                   "Expected save_freq are 'epoch' or integer values")
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError(
                "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end in "
                f"`.weights.h5` (Keras weights format). Received: filepath={self.filepath}"
            )
        if not save_weights_only and not self.filepath.endswith((".keras", ".h5")):
            raise ValueError(
                f"The filepath provided must end in `.keras` (Keras model format). Received: filepath={self.filepath}"
            )
        self._batch_counter = BatchCounter(save_freq)
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._batch_counter.is_due(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        try:
            if self.save_weights_only:
                saving_api.save_weights(self.model, filepath, overwrite=True)
            else:
                saving_api.save_model(self.model, filepath, overwrite=True)
        except IsADirectoryError:
            raise OSError("Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an "
                          f"existing directory: {filepath}") from None
        self._say(epoch, f"finished saving model to {filepath}")

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            self._say(epoch, f"saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=4)
            return True
        if self.monitor_op is None:
            # A batch-frequency save can come before the first epoch end, where Keras alone sets the
            # comparison up (Keras 3.15 then fails with "'NoneType' object is not callable").
            self._set_monitor_op()
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            self._say(epoch, f"{self.monitor} improved from {best} to {current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        self._say(epoch, f"{self.monitor} did not improve from {best}")
        return False

    def _say(self, epoch, message):
        if self.verbose > 0:
            # Keras starts each message on a fresh line, below a progress bar left mid-line.
            print(f"\nEpoch {epoch + 1}: {message}", flush=True)

    def _file_path(self, epoch, batch, logs):
        placeholders = {"epoch": epoch + 1}
        if batch is not None and "batch" not in logs:
            placeholders["batch"] = batch + 1
        try:
            return self.filepath.format(**placeholders, **logs)
        except KeyError as error:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {error}') from None

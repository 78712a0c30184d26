"""BackupAndRestore: resume an interrupted fit from its last backup."""
import json
import os
import shutil

from minikeras.callbacks.callback import Callback
from minikeras.callbacks.model_checkpoint import BatchCounter, check_save_freq
from minikeras.saving import saving_api
from minikeras.saving.h5_weights import atomic_path
from minikeras.utils.argument_validation import check_path


class BackupAndRestore(Callback):
    """Backs up the weights (optimizer state included) to `backup_dir/latest.weights.h5` and the number
    of finished epochs to `backup_dir/training_metadata.json`, every epoch or every `save_freq` batches.

    At the start of fit an existing backup is loaded and `model._initial_epoch` set, so the fit resumes
    after the last finished epoch; a successful fit deletes the backup (delete_checkpoint). With
    double_checkpoint the previous backup is kept as `*.bkp` and used when the latest cannot be read.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._batch_counter = BatchCounter(save_freq, last_batch_seen=0)
        self._current_epoch = 0
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        self.backup_dir = check_path(backup_dir, "backup_dir")
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = f"{self._weights_path}.bkp"
        self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"
        check_save_freq(save_freq, "Invalid value for argument `save_freq`. "
                                   f"Received: save_freq={save_freq}. Expected either 'epoch' or an integer value.")

    def on_train_begin(self, logs=None):
        try:
            self._load_model()
        except (OSError, ValueError):
            # The latest backup is unreadable (e.g. a crash mid-copy): fall back on the previous one.
            if not os.path.exists(self._prev_weights_path):
                raise
            shutil.copyfile(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                shutil.copyfile(self._prev_training_metadata_path, self._training_metadata_path)
            elif os.path.exists(self._training_metadata_path):
                os.remove(self._training_metadata_path)
            self._load_model()

    def _load_model(self):
        if not self.model.built:
            raise ValueError(
                "To use the BackupAndRestore callback, you model must be built before you call `fit()`. "
                f"Model {self.model} is unbuilt. You can build it beforehand by calling it on a batch of data."
            )
        if os.path.exists(self._weights_path):
            optimizer = getattr(self.model, "optimizer", None)
            if optimizer is not None and not optimizer.built:
                # The optimizer's slots must exist for the backup's optimizer state to load into them.
                optimizer.build(self.model.trainable_weights)
            saving_api.load_weights(self.model, self._weights_path)
        if os.path.exists(self._training_metadata_path):
            with open(self._training_metadata_path) as file:
                self.model._initial_epoch = json.loads(file.read())["epoch"]

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._batch_counter.last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save_model()

    def on_train_batch_end(self, batch, logs=None):
        if self._batch_counter.is_due(batch):
            self._save_model()

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for latest, previous in ((self._weights_path, self._prev_weights_path),
                                     (self._training_metadata_path, self._prev_training_metadata_path)):
                if os.path.exists(latest):
                    shutil.copyfile(latest, previous)
        saving_api.save_weights(self.model, self._weights_path, overwrite=True)
        metadata = {"epoch": self._current_epoch, "batch": self._batch_counter.last_batch_seen}
        with atomic_path(self._training_metadata_path) as temporary:
            with open(temporary, "w") as file:
                file.write(json.dumps(metadata))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)

"""ReduceLROnPlateau: shrink the learning rate when a monitored quantity plateaus."""
import warnings

import numpy as np

from minikeras.callbacks.monitor_callback import MonitorCallback
from minikeras.utils.argument_validation import check_integer, check_number


class ReduceLROnPlateau(MonitorCallback):
    """After `patience` epochs without improvement: lr <- max(lr * factor, min_lr), then `cooldown`
    epochs during which no waiting is counted.

    Each epoch end also writes the current rate into logs['learning_rate'] (seen by later callbacks,
    History included).
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        **kwargs,  # accepted and ignored, as Keras does, so legacy arguments do not break user code
    ):
        check_number(factor, "factor", minimum=0)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        super().__init__(monitor, mode, min_delta=min_delta)
        self.factor = factor
        self.min_lr = check_number(min_lr, "min_lr", minimum=0)
        self.patience = check_integer(patience, "patience")
        self.verbose = verbose
        self.cooldown = check_integer(cooldown, "cooldown")
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs or {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs)}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_learning_rate(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce_learning_rate(self, epoch):
        """Returns whether the rate changed; a rate already at min_lr (held as float32) stays."""
        optimizer = self.model.optimizer
        old_lr = float(optimizer.learning_rate)
        if old_lr <= np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.", flush=True)
        return True

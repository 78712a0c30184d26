"""TerminateOnNaN: stop training when the loss becomes NaN or infinite."""
import math

from minikeras.callbacks.callback import Callback
from minikeras.utils.argument_validation import check_bool


class TerminateOnNaN(Callback):
    """After each training batch: if logs['loss'] is NaN or +-inf, set model.stop_training (or raise
    RuntimeError when raise_error=True)."""

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = check_bool(raise_error, "raise_error")

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                "Terminating training immediately."
            )
        print(f"Batch {batch}: Invalid loss, terminating training", flush=True)
        self.model.stop_training = True

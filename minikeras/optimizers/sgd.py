"""SGD: gradient descent with optional (Nesterov) momentum."""
import numpy as np

from minikeras.optimizers.optimizer import Optimizer, keras_cast


class SGD(Optimizer):
    """Plain: w <- w - lr * g.

    With momentum: m <- momentum * m - lr * g, then w <- w + m, or with `nesterov`
    w <- w + momentum * m - lr * g (using the new m). `momentum=0` creates no slots.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not isinstance(momentum, float) or momentum < 0 or momentum > 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = momentum
        self.nesterov = nesterov
        self._scratch_buffers = 2 if nesterov else 1

    def _build_slots(self, variables):
        self._momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum != 0 else []

    def _step_constants(self, dtype, learning_rate, step):
        return dtype(learning_rate), keras_cast(self.momentum, dtype)

    def _update_step(self, index, gradient, value, constants):
        learning_rate, momentum = constants
        scaled_gradient = self._scratch[index][0]
        np.multiply(gradient, learning_rate, out=scaled_gradient)
        if self.momentum == 0:
            value -= scaled_gradient
            return
        velocity = self._momentums[index]
        velocity *= momentum
        velocity -= scaled_gradient
        if self.nesterov:
            nesterov_step = self._scratch[index][1]
            np.multiply(velocity, momentum, out=nesterov_step)
            nesterov_step -= scaled_gradient
            value += nesterov_step
        else:
            value += velocity

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}

"""RMSprop: gradient scaled by a running root-mean-square, optionally centered and with momentum."""
import numpy as np

from minikeras.optimizers.optimizer import Optimizer, decay_and_add
from minikeras.utils.argument_validation import check_number


class RMSprop(Optimizer):
    """v <- rho * v + (1 - rho) * g^2;  increment = lr * g / sqrt(v + epsilon)  (epsilon inside the sqrt).

    `centered`: a <- rho * a + (1 - rho) * g and the denominator is sqrt(v - a^2 + epsilon).
    `momentum` > 0: mom <- momentum * mom + increment, w <- w - mom; otherwise w <- w - increment.
    """

    _groups_small_variables = True
    _scratch_buffers = 2

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check_number(rho, "rho", minimum=0, maximum=1)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def _build_slots(self, variables):
        self._velocities = self.add_optimizer_variables(variables, "velocity")
        self._momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum > 0 else []
        self._average_gradients = self.add_optimizer_variables(variables, "average_gradient") if self.centered else []

    def _step_constants(self, dtype, learning_rate, step):
        return dtype(learning_rate), dtype(self.rho), dtype(1 - self.rho), dtype(self.momentum), dtype(self.epsilon)

    def _update_step(self, index, gradient, value, constants):
        learning_rate, rho, one_minus_rho, momentum, epsilon = constants
        velocity = self._velocities[index]
        denominator, gradient_share = self._scratch[index]
        decay_and_add(velocity, rho, self._squared(gradient, gradient_share), one_minus_rho, gradient_share)
        if self.centered:
            average = self._average_gradients[index]
            decay_and_add(average, rho, gradient, one_minus_rho, gradient_share)
            np.square(average, out=denominator)
            np.subtract(velocity, denominator, out=denominator)
            denominator += epsilon
        else:
            np.add(velocity, epsilon, out=denominator)
        increment = denominator
        np.sqrt(denominator, out=increment)
        np.multiply(gradient, learning_rate, out=gradient_share)
        np.divide(gradient_share, increment, out=increment)
        if self.momentum > 0:
            accumulated = self._momentums[index]
            accumulated *= momentum
            accumulated += increment
            increment = accumulated
        value -= increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}

"""Adamax: Adam with the infinity norm in place of the second moment."""
import numpy as np

from minikeras.optimizers.adam import AdaptiveMomentOptimizer
from minikeras.optimizers.optimizer import keras_cast, step_toward


class Adamax(AdaptiveMomentOptimizer):
    """m <- m + (g - m)(1 - beta_1);  u <- max(beta_2 * u, |g|);
    w <- w - lr * m / ((1 - beta_1^t) * (u + epsilon)).
    """

    _groups_small_variables = True

    def _build_slots(self, variables):
        self._momentums, self._norms = self.add_optimizer_variables(variables, ["momentum", "norm"])

    def _step_constants(self, dtype, learning_rate, step):
        bias_correction = dtype(1) - keras_cast(self.beta_1, dtype) ** dtype(step)
        return (dtype(learning_rate), dtype(1 - self.beta_1), dtype(self.beta_2), dtype(self.epsilon),
                bias_correction)

    def _update_step(self, index, gradient, value, constants):
        learning_rate, one_minus_beta_1, beta_2, epsilon, bias_correction = constants
        m, u = self._momentums[index], self._norms[index]
        buffer = self._scratch[index][0]
        step_toward(m, gradient, one_minus_beta_1, buffer)
        u *= beta_2
        np.maximum(u, self._absolute(gradient, buffer), out=u)
        np.add(u, epsilon, out=buffer)
        buffer *= bias_correction
        np.divide(m, buffer, out=buffer)
        buffer *= learning_rate
        value -= buffer

"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
import numpy as np

from minikeras.optimizers.optimizer import Optimizer, decay_and_add


class Adadelta(Optimizer):
    """E[g^2] <- rho E[g^2] + (1 - rho) g^2;  delta = -sqrt(E[dx^2] + eps) * g / sqrt(E[g^2] + eps);
    E[dx^2] <- rho E[dx^2] + (1 - rho) delta^2;  w <- w + lr * delta  (E[dx^2] uses the old value in delta).
    """

    _groups_small_variables = True
    _scratch_buffers = 2

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def _build_slots(self, variables):
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            variables, ["accumulated_grad", "accumulated_delta_var"])

    def _step_constants(self, dtype, learning_rate, step):
        return dtype(learning_rate), dtype(self.rho), dtype(1 - self.rho), dtype(self.epsilon)

    def _update_step(self, index, gradient, value, constants):
        learning_rate, rho, one_minus_rho, epsilon = constants
        accumulated_grad = self._accumulated_grads[index]
        accumulated_delta = self._accumulated_delta_vars[index]
        descent, buffer = self._scratch[index]
        # a lookup gradient's squares are used twice below, so they get their own array (summing them
        # sorts the lookups)
        lookup = self._lookups is not None
        squared = self._squared(gradient, np.empty_like(buffer) if lookup else buffer)
        decay_and_add(accumulated_grad, rho, squared, one_minus_rho, buffer)
        # descent = -delta, kept positive so the variable update is one in-place subtraction.
        np.add(accumulated_delta, epsilon, out=descent)
        np.sqrt(descent, out=descent)
        np.add(accumulated_grad, epsilon, out=buffer)
        np.sqrt(buffer, out=buffer)
        if not lookup:
            descent *= gradient
            descent /= buffer
            np.square(descent, out=buffer)
        else:  # a lookup gradient: rms(delta) / rms(grad) scales each lookup before it is squared
            descent /= buffer
            np.square(descent, out=buffer)
            buffer *= squared
            descent *= gradient
        decay_and_add(accumulated_delta, rho, buffer, one_minus_rho, buffer)
        descent *= learning_rate
        value -= descent

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}

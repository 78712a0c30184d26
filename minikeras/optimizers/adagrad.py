"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""
import numpy as np

from minikeras.optimizers.optimizer import Optimizer


class Adagrad(Optimizer):
    """acc <- acc + g^2 (acc starts at `initial_accumulator_value`);  w <- w - lr * g / sqrt(acc + epsilon)."""

    _groups_small_variables = True
    _scratch_buffers = 2

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _build_slots(self, variables):
        self._accumulators = self.add_optimizer_variables(variables, "accumulator",
                                                          initial_value=self.initial_accumulator_value)

    def _step_constants(self, dtype, learning_rate, step):
        return dtype(learning_rate), dtype(self.epsilon)

    def _update_step(self, index, gradient, value, constants):
        learning_rate, epsilon = constants
        accumulator = self._accumulators[index]
        denominator, scaled_gradient = self._scratch[index]
        self._squared(gradient, denominator)
        accumulator += denominator
        np.add(accumulator, epsilon, out=denominator)
        np.sqrt(denominator, out=denominator)
        np.multiply(gradient, learning_rate, out=scaled_gradient)
        np.divide(scaled_gradient, denominator, out=denominator)
        value -= denominator

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}

"""Adam: adaptive moments, in Keras's "epsilon-hat" form."""
import numpy as np

from minikeras.optimizers.optimizer import Optimizer, keras_cast, step_toward
from minikeras.utils.argument_validation import check_bool, check_number


class AdaptiveMomentOptimizer(Optimizer):
    """The Adam family's shared arguments: decay rates beta_1 (first moment) and beta_2 (second moment,
    or Adamax's norm), and epsilon, with Keras's defaults for all of Adam, Adamax and Nadam."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check_number(beta_1, "beta_1", minimum=0, maximum=1, maximum_included=False)
        check_number(beta_2, "beta_2", minimum=0, maximum=1, maximum_included=False)
        check_number(epsilon, "epsilon", minimum=0)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Adam(AdaptiveMomentOptimizer):
    """m <- m + (g - m)(1 - beta_1);  v <- v + (g^2 - v)(1 - beta_2);  (amsgrad: v <- max(v_hat, v))
    w <- w - alpha * m / (sqrt(v) + epsilon),  alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t).

    The bias correction sits in alpha, so epsilon is not bias-corrected (not the textbook m_hat / (sqrt(v_hat) + eps)).
    """

    _groups_small_variables = True

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)
        self.amsgrad = check_bool(amsgrad, "amsgrad")

    def _build_slots(self, variables):
        self._momentums, self._velocities = self.add_optimizer_variables(variables, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(variables, "velocity_hat")

    def _step_constants(self, dtype, learning_rate, step):
        t = dtype(step)
        beta_1_power = keras_cast(self.beta_1, dtype) ** t
        beta_2_power = keras_cast(self.beta_2, dtype) ** t
        alpha = dtype(learning_rate) * np.sqrt(dtype(1) - beta_2_power) / (dtype(1) - beta_1_power)
        return alpha, dtype(1 - self.beta_1), dtype(1 - self.beta_2), dtype(self.epsilon)

    def _update_step(self, index, gradient, value, constants):
        alpha, one_minus_beta_1, one_minus_beta_2, epsilon = constants
        m, v = self._momentums[index], self._velocities[index]
        buffer = self._scratch[index][0]
        step_toward(m, gradient, one_minus_beta_1, buffer)
        step_toward(v, self._squared(gradient, buffer), one_minus_beta_2, buffer)
        if self.amsgrad:
            v = np.maximum(self._velocity_hats[index], v, out=self._velocity_hats[index])
        np.sqrt(v, out=buffer)
        buffer += epsilon
        np.divide(m, buffer, out=buffer)
        buffer *= alpha
        value -= buffer

    def get_config(self):
        return {**super().get_config(), "amsgrad": self.amsgrad}

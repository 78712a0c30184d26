"""Nadam: Adam with Nesterov momentum and Dozat's momentum schedule."""
import numpy as np

from minikeras import backend
from minikeras.optimizers.adam import AdaptiveMomentOptimizer
from minikeras.optimizers.optimizer import keras_cast, step_toward
from minikeras.variables import Variable


class Nadam(AdaptiveMomentOptimizer):
    """mu_t = beta_1 (1 - 0.5 * 0.96^t);  P_t = mu_1 ... mu_t (the shared `u_product`, advanced once per step);
    m <- m + (g - m)(1 - beta_1);  v <- v + (g^2 - v)(1 - beta_2);
    m_hat = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t);  v_hat = v / (1 - beta_2^t);
    w <- w - lr * m_hat / (sqrt(v_hat) + epsilon).
    """

    _groups_small_variables = True
    _scratch_buffers = 2

    def _build_slots(self, variables):
        self._momentums, self._velocities = self.add_optimizer_variables(variables, ["momentum", "velocity"])
        # Keras creates the product as an unnamed variable, so it is saved last as `<optimizer>/variable[_n]`.
        dtype = variables[0].dtype if variables else backend.floatx()
        name = backend.unique_name("variable")
        self._u_product = Variable(np.array(1.0, dtype=dtype), name, trainable=False, path=f"{self.name}/{name}")
        self._variables.append(self._u_product)

    def _momentum_cache(self, dtype, step):
        return keras_cast(self.beta_1, dtype) * (dtype(1) - dtype(0.5) * keras_cast(0.96, dtype) ** dtype(step))

    def _advance_shared_state(self):
        # Keras advances the product with uncast Python constants, unlike the per-variable step below.
        dtype = self._u_product.dtype.type
        self._u_product.value *= dtype(self.beta_1)
        self._u_product.value *= dtype(1) - dtype(0.5) * dtype(0.96) ** dtype(self.iterations + 1)

    def _step_constants(self, dtype, learning_rate, step):
        u_t = self._momentum_cache(dtype, step)
        u_next = self._momentum_cache(dtype, step + 1)
        u_product = dtype(self._u_product.value)
        beta_1, beta_2 = keras_cast(self.beta_1, dtype), keras_cast(self.beta_2, dtype)
        return (
            u_next / (dtype(1) - u_product * u_next),
            (dtype(1) - u_t) / (dtype(1) - u_product),
            dtype(1) - beta_2 ** dtype(step),
            dtype(1) - beta_1,
            dtype(1) - beta_2,
            dtype(learning_rate),
            dtype(self.epsilon),
        )

    def _update_step(self, index, gradient, value, constants):
        momentum_weight, gradient_weight, v_correction, one_minus_beta_1, one_minus_beta_2, learning_rate, epsilon = constants
        m, v = self._momentums[index], self._velocities[index]
        m_hat, buffer = self._scratch[index]
        step_toward(m, gradient, one_minus_beta_1, buffer)
        step_toward(v, self._squared(gradient, buffer), one_minus_beta_2, buffer)
        np.multiply(m, momentum_weight, out=m_hat)
        np.multiply(gradient, gradient_weight, out=buffer)
        m_hat += buffer
        np.divide(v, v_correction, out=buffer)
        np.sqrt(buffer, out=buffer)
        buffer += epsilon
        m_hat *= learning_rate
        m_hat /= buffer
        value -= m_hat

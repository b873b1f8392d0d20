"""Adagrad and Adadelta: per-entry step sizes from accumulated squared gradients."""

from lapenna.backend import xp
from lapenna.optimizers.base import Optimizer, check_number
from lapenna.utils import register


@register("optimizers", aliases=("adagrad",))
class Adagrad(Optimizer):
    """Adagrad: ``s += g**2``, ``var -= lr * g / sqrt(s + eps)``; entries that saw large
    gradients take small steps.

    The accumulator starts at ``initial_accumulator_value`` (Keras's 0.1; PyTorch starts
    at 0) and ``eps`` sits inside the square root (PyTorch adds it outside).

    Duchi, Hazan and Singer, "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization", JMLR 2011.

    Args:
        learning_rate: a float >= 0 or a schedule.
        initial_accumulator_value: >= 0.
        epsilon: > 0.
        **kwargs: see ``Optimizer``.
    """

    default_name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = check_number(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value, low=0
        )
        self.epsilon = check_number("Adagrad", "epsilon", epsilon, low=0, low_open=True)

    def build(self, var_list):
        for var in super().build(var_list):
            self.add_variable_from_reference(
                var, "accumulator", initial=self.initial_accumulator_value
            )

    def update_step(self, grad, var, lr):
        accumulator = self.slot(var, "accumulator").data
        accumulator += grad * grad
        var.data -= lr * grad / xp.sqrt(accumulator + self.epsilon)

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


@register("optimizers", aliases=("adadelta",))
class Adadelta(Optimizer):
    """Adadelta: steps scaled by the ratio of the RMS of past updates to the RMS of past
    gradients, so the update has the units of the variable.

    ``s = rho * s + (1 - rho) * g**2``;
    ``delta = sqrt(d + eps) / sqrt(s + eps) * g``;
    ``d = rho * d + (1 - rho) * delta**2``; ``var -= lr * delta``
    (PyTorch computes the same; its defaults are ``lr=1.0, eps=1e-6``).

    Zeiler, "ADADELTA: An Adaptive Learning Rate Method", 2012.

    Args:
        learning_rate: a float >= 0 or a schedule (Keras's default 0.001; the paper
            uses 1.0).
        rho: the decay of both running means, in [0, 1).
        epsilon: > 0.
        **kwargs: see ``Optimizer``.
    """

    default_name = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = check_number("Adadelta", "rho", rho, low=0, high=1, high_open=True)
        self.epsilon = check_number("Adadelta", "epsilon", epsilon, low=0, low_open=True)

    def build(self, var_list):
        for var in super().build(var_list):
            self.add_variable_from_reference(var, "accumulated_grad")
            self.add_variable_from_reference(var, "accumulated_delta")

    def update_step(self, grad, var, lr):
        squares = self.slot(var, "accumulated_grad").data
        deltas = self.slot(var, "accumulated_delta").data
        squares *= self.rho
        squares += (1.0 - self.rho) * grad * grad
        delta = xp.sqrt(deltas + self.epsilon) / xp.sqrt(squares + self.epsilon) * grad
        deltas *= self.rho
        deltas += (1.0 - self.rho) * delta * delta
        var.data -= lr * delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}

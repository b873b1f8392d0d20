"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from lapenna.backend import xp
from lapenna.optimizers.base import Optimizer, check_number
from lapenna.utils import register


@register("optimizers", aliases=("rmsprop",))
class RMSprop(Optimizer):
    """RMSprop, optionally centered and with momentum.

    ``s = rho * s + (1 - rho) * g**2``; the step is ``lr * g / sqrt(s + eps)``. Centered
    RMSprop also tracks the mean gradient ``a`` and divides by ``sqrt(s - a**2 + eps)``,
    an estimate of the gradient's variance. With momentum the steps accumulate:
    ``b = momentum * b + step`` and ``var -= b``. Note that ``eps`` sits inside the square
    root here (as in Keras); PyTorch adds it outside.

    Tieleman and Hinton, "Lecture 6.5 - RMSprop", Neural Networks for Machine Learning
    (Coursera), 2012; the centered form from Graves, "Generating Sequences With Recurrent
    Neural Networks", 2013.

    Args:
        learning_rate: a float >= 0 or a schedule.
        rho: the decay of the running mean of squares, in [0, 1).
        momentum: in [0, 1].
        epsilon: > 0, keeps the denominator away from zero.
        centered: subtract the squared mean gradient.
        **kwargs: see ``Optimizer``.
    """

    default_name = "rmsprop"

    def __init__(
        self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = check_number("RMSprop", "rho", rho, low=0, high=1, high_open=True)
        self.momentum = check_number("RMSprop", "momentum", momentum, low=0, high=1)
        self.epsilon = check_number("RMSprop", "epsilon", epsilon, low=0, low_open=True)
        self.centered = bool(centered)

    def build(self, var_list):
        for var in super().build(var_list):
            self.add_variable_from_reference(var, "velocity")
            if self.momentum:
                self.add_variable_from_reference(var, "momentum")
            if self.centered:
                self.add_variable_from_reference(var, "average_gradient")

    def update_step(self, grad, var, lr):
        square = self.slot(var, "velocity").data
        square *= self.rho
        square += (1.0 - self.rho) * grad * grad
        if self.centered:
            mean = self.slot(var, "average_gradient").data
            mean *= self.rho
            mean += (1.0 - self.rho) * grad
            denominator = square - mean * mean + self.epsilon
        else:
            denominator = square + self.epsilon
        step = lr * grad / xp.sqrt(denominator)
        if self.momentum:
            buffer = self.slot(var, "momentum").data
            buffer *= self.momentum
            buffer += step
            step = buffer
        var.data -= step

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }

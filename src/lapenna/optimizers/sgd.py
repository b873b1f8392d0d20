"""Stochastic gradient descent with optional momentum and Nesterov momentum."""

from lapenna import backend as B
from lapenna.optimizers.base import Optimizer, check_number
from lapenna.utils import register


@register("optimizers", aliases=("sgd",))
class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum.

    Without momentum: ``var -= lr * g``. With momentum ``mu`` a velocity accumulates
    ``v = mu * v - lr * g`` and ``var += v``; Nesterov momentum looks one step ahead:
    ``var += mu * v - lr * g``. (This is PyTorch's SGD with ``v = -lr * buffer`` as long
    as the learning rate is constant.)

    Robbins and Monro, "A Stochastic Approximation Method", 1951; Polyak, "Some methods
    of speeding up the convergence of iteration methods", 1964; Sutskever et al., "On the
    importance of initialization and momentum in deep learning", ICML 2013 (Nesterov's
    momentum in this form).

    Args:
        learning_rate: a float >= 0 or a schedule.
        momentum: in [0, 1]; 0 disables it (and its slot).
        nesterov: use Nesterov momentum.
        **kwargs: ``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``,
            ``name`` (see ``Optimizer``).

    Example:
        >>> import lapenna as lp
        >>> w = lp.Variable([1.0, 2.0])
        >>> opt = lp.optimizers.SGD(learning_rate=0.1)
        >>> opt.apply_gradients([(lp.tensor([1.0, -1.0]), w)])
        1
        >>> w.numpy().tolist()
        [0.8999999761581421, 2.0999999046325684]
    """

    default_name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = check_number("SGD", "momentum", momentum, low=0, high=1)
        self.nesterov = bool(nesterov)

    def build(self, var_list):
        for var in super().build(var_list):
            if self.momentum:
                self.add_variable_from_reference(var, "momentum")

    def update_step(self, grad, var, lr):
        if not self.momentum:
            var.data -= lr * grad
            return
        velocity = self.slot(var, "momentum").data
        B.sgd_momentum_(var.data, velocity, grad, lr, self.momentum, self.nesterov)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}

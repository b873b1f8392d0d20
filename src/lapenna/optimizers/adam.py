"""Adam and its relatives: AMSGrad, AdamW (decoupled weight decay) and Nadam."""

import functools
import math

from lapenna.backend import adam_, xp
from lapenna.optimizers.base import Optimizer, check_number
from lapenna.utils import register


def _check_betas(owner, beta_1, beta_2, epsilon):
    return (
        check_number(owner, "beta_1", beta_1, low=0, high=1, high_open=True),
        check_number(owner, "beta_2", beta_2, low=0, high=1, high_open=True),
        check_number(owner, "epsilon", epsilon, low=0, low_open=True),
    )


@register("optimizers", aliases=("adam",))
class Adam(Optimizer):
    """Adam: momentum on the gradient and a per-entry scale from its running square.

    With ``t = iterations + 1``: ``m = b1 * m + (1 - b1) * g``,
    ``v = b2 * v + (1 - b2) * g**2`` and
    ``var -= lr * sqrt(1 - b2**t) / (1 - b1**t) * m / (sqrt(v) + eps)``, the bias
    corrections folded into the step size. This ``eps`` is the paper's "epsilon hat": it
    equals PyTorch's ``eps`` times ``sqrt(1 - b2**t)``. AMSGrad divides by the running
    maximum of ``v`` instead, so the effective step never grows.

    Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015; AMSGrad from
    Reddi, Kale and Kumar, "On the Convergence of Adam and Beyond", ICLR 2018.

    Args:
        learning_rate: a float >= 0 or a schedule.
        beta_1: the decay of the first moment, in [0, 1).
        beta_2: the decay of the second moment, in [0, 1).
        epsilon: > 0.
        amsgrad: use the AMSGrad variant.
        **kwargs: see ``Optimizer``.

    Example:
        >>> import lapenna as lp
        >>> w = lp.Variable([1.0])
        >>> opt = lp.optimizers.Adam(learning_rate=0.1)
        >>> _ = opt.apply_gradients([(lp.tensor([3.0]), w)])
        >>> round(w.item(), 4)  # the first step has size lr, whatever the gradient's scale
        0.9
    """

    default_name = "adam"

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        owner = type(self).__name__
        self.beta_1, self.beta_2, self.epsilon = _check_betas(owner, beta_1, beta_2, epsilon)
        self.amsgrad = bool(amsgrad)

    def build(self, var_list):
        for var in super().build(var_list):
            self.add_variable_from_reference(var, "m")
            self.add_variable_from_reference(var, "v")
            if self.amsgrad:
                self.add_variable_from_reference(var, "v_hat")

    def update_step(self, grad, var, lr):
        t = self.iterations + 1
        m, v = self.slot(var, "m").data, self.slot(var, "v").data
        alpha = lr * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        if not self.amsgrad:  # one pass over memory on a GPU (backend.fused)
            adam_(var.data, m, v, grad, self.beta_1, self.beta_2, alpha, self.epsilon)
            return
        m += (1.0 - self.beta_1) * (grad - m)
        v += (1.0 - self.beta_2) * (grad * grad - v)
        v_hat = self.slot(var, "v_hat").data
        xp.maximum(v_hat, v, out=v_hat)
        var.data -= alpha * m / (xp.sqrt(v_hat) + self.epsilon)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


@register("optimizers", aliases=("adamw",))
class AdamW(Adam):
    """Adam with decoupled weight decay: each step first shrinks every variable by
    ``lr * weight_decay``, then takes the Adam step (PyTorch's AdamW does the same).

    Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.

    Args:
        learning_rate: a float >= 0 or a schedule.
        weight_decay: >= 0 (required).
        beta_1, beta_2, epsilon, amsgrad: as in ``Adam``.
        **kwargs: see ``Optimizer``.
    """

    default_name = "adamw"

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a number >= 0, got None")
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )


@functools.lru_cache(maxsize=8)
def _momentum_product(beta_1, t):
    """prod over i = 1..t of beta_1 * (1 - 0.5 * 0.96**i): Nadam's momentum schedule.

    Factors past i ~ 900 are 1 to double precision, so at most that many are multiplied.
    """
    product = 1.0
    for i in range(1, min(t, 1000) + 1):
        product *= 1.0 - 0.5 * 0.96**i
    return product * beta_1**t


@register("optimizers", aliases=("nadam",))
class Nadam(Optimizer):
    """Adam with Nesterov momentum, with Dozat's warming momentum schedule
    ``mu_t = beta_1 * (1 - 0.5 * 0.96**t)``.

    ``m`` and ``v`` are updated as in Adam; the step uses
    ``m_hat = mu_{t+1} * m / (1 - prod_{i<=t+1} mu_i) + (1 - mu_t) * g / (1 - prod_{i<=t} mu_i)``
    and ``v_hat = v / (1 - b2**t)``: ``var -= lr * m_hat / (sqrt(v_hat) + eps)``.

    Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop.

    Args:
        learning_rate: a float >= 0 or a schedule.
        beta_1, beta_2: in [0, 1).
        epsilon: > 0.
        **kwargs: see ``Optimizer``.
    """

    default_name = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = _check_betas("Nadam", beta_1, beta_2, epsilon)

    def build(self, var_list):
        for var in super().build(var_list):
            self.add_variable_from_reference(var, "m")
            self.add_variable_from_reference(var, "v")

    def update_step(self, grad, var, lr):
        t = self.iterations + 1
        mu = self.beta_1 * (1.0 - 0.5 * 0.96**t)
        mu_next = self.beta_1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        product = _momentum_product(self.beta_1, t)
        m, v = self.slot(var, "m").data, self.slot(var, "v").data
        m += (1.0 - self.beta_1) * (grad - m)
        v += (1.0 - self.beta_2) * (grad * grad - v)
        m_hat = (mu_next / (1.0 - product * mu_next)) * m + ((1.0 - mu) / (1.0 - product)) * grad
        v_hat = v / (1.0 - self.beta_2**t)
        var.data -= lr * m_hat / (xp.sqrt(v_hat) + self.epsilon)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }

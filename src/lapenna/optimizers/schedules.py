"""Learning-rate schedules: a function from the optimizer's step counter to a float.

An optimizer built with a schedule evaluates it at ``optimizer.iterations`` before every
update, so the first update uses ``schedule(0)``.

Example:
    >>> from lapenna.optimizers import schedules
    >>> lr = schedules.PiecewiseConstantDecay([30, 60], [0.1, 0.01, 0.001])
    >>> [lr(step) for step in (0, 30, 31, 60, 61)]
    [0.1, 0.1, 0.01, 0.01, 0.001]
"""

import math

from lapenna.utils import get_registry, register
from lapenna.utils.config import Configurable

_REGISTRY = get_registry("schedules")


class LearningRateSchedule(Configurable):
    """Base class: subclasses define ``__call__(step) -> float`` and ``get_config``."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(step)")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must define get_config")


def _number(owner, name, value, low=0, low_open=False, high=None):
    """Check that ``value`` is a real number in range; return it as a float."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and (value > low if low_open else value >= low)
    ok = ok and (high is None or value <= high)
    if not ok:
        bound = f"{'>' if low_open else '>='} {low}" + ("" if high is None else f" and <= {high}")
        raise ValueError(f"{owner}: {name} must be a number {bound}, got {value!r}")
    return float(value)


def _step(step):
    return float(step.item() if hasattr(step, "item") else step)


@register("schedules")
class PiecewiseConstantDecay(LearningRateSchedule):
    """Constant pieces: ``values[0]`` up to ``boundaries[0]`` (inclusive), ``values[1]``
    up to ``boundaries[1]``, ..., ``values[-1]`` after the last boundary.

    The course's ResNet schedule (multiply by 0.1 after steps 30 and 60) is
    ``PiecewiseConstantDecay([30, 60], [0.1, 0.01, 0.001])``.

    Args:
        boundaries: increasing steps.
        values: one more value than boundaries.
    """

    def __init__(self, boundaries, values):
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                "PiecewiseConstantDecay: values must have one more entry than boundaries, got "
                f"{len(values)} values for {len(boundaries)} boundaries"
            )
        if any(b <= a for a, b in zip(boundaries, boundaries[1:])):
            raise ValueError(
                f"PiecewiseConstantDecay: boundaries must increase, got {boundaries!r}"
            )
        self.boundaries = [_number("PiecewiseConstantDecay", "boundary", b) for b in boundaries]
        self.values = [_number("PiecewiseConstantDecay", "value", v) for v in values]

    def __call__(self, step):
        step = _step(step)
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values}


@register("schedules")
class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with ``staircase``
    the exponent is rounded down, so the rate drops in steps.

    Example:
        >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20)
        0.025
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        name = "ExponentialDecay"
        self.initial_learning_rate = _number(name, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number(name, "decay_steps", decay_steps, low_open=True)
        self.decay_rate = _number(name, "decay_rate", decay_rate, low_open=True)
        self.staircase = bool(staircase)

    def __call__(self, step):
        exponent = _step(step) / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate**exponent

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


@register("schedules")
class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (the ratio
    rounded down with ``staircase``).

    Example:
        >>> InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.5)(2)
        0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        name = "InverseTimeDecay"
        self.initial_learning_rate = _number(name, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number(name, "decay_steps", decay_steps, low_open=True)
        self.decay_rate = _number(name, "decay_rate", decay_rate)
        self.staircase = bool(staircase)

    def __call__(self, step):
        ratio = _step(step) / self.decay_steps
        if self.staircase:
            ratio = math.floor(ratio)
        return self.initial_learning_rate / (1.0 + self.decay_rate * ratio)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


@register("schedules")
class PolynomialDecay(LearningRateSchedule):
    """From ``initial_learning_rate`` to ``end_learning_rate`` over ``decay_steps`` along
    ``(1 - step / decay_steps) ** power``, then constant; with ``cycle`` the decay restarts
    with ``decay_steps`` stretched to the next multiple past ``step``.

    Example:
        >>> PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0)(5)
        0.05
    """

    def __init__(
        self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False
    ):
        name = "PolynomialDecay"
        self.initial_learning_rate = _number(name, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number(name, "decay_steps", decay_steps, low_open=True)
        self.end_learning_rate = _number(name, "end_learning_rate", end_learning_rate)
        self.power = _number(name, "power", power)
        self.cycle = bool(cycle)

    def __call__(self, step):
        step = _step(step)
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps *= max(math.ceil(step / decay_steps), 1)
        else:
            step = min(step, decay_steps)
        fraction = (1.0 - step / decay_steps) ** self.power
        return (self.initial_learning_rate - self.end_learning_rate) * fraction + (
            self.end_learning_rate
        )

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
        }


@register("schedules")
class CosineDecay(LearningRateSchedule):
    """Cosine annealing, optionally after a linear warmup.

    Without warmup the rate goes from ``initial_learning_rate`` down to
    ``alpha * initial_learning_rate`` along half a cosine over ``decay_steps``. With
    ``warmup_target``, it first rises linearly from ``initial_learning_rate`` to
    ``warmup_target`` over ``warmup_steps``, then decays from ``warmup_target``.
    Loshchilov and Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts",
    ICLR 2017; warmup as in Goyal et al., "Accurate, Large Minibatch SGD", 2017.

    Args:
        initial_learning_rate: the starting rate.
        decay_steps: the length of the cosine part.
        alpha: the final rate as a fraction of the peak, in [0, 1].
        warmup_target: the peak after warmup (None: no warmup).
        warmup_steps: the length of the warmup.

    Example:
        >>> round(CosineDecay(0.1, decay_steps=100)(50), 6)
        0.05
    """

    def __init__(
        self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0
    ):
        name = "CosineDecay"
        self.initial_learning_rate = _number(name, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number(name, "decay_steps", decay_steps, low_open=True)
        self.alpha = _number(name, "alpha", alpha, high=1)
        self.warmup_target = (
            None if warmup_target is None else _number(name, "warmup_target", warmup_target)
        )
        self.warmup_steps = _number(name, "warmup_steps", warmup_steps)

    def __call__(self, step):
        step = _step(step)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        if step < self.warmup_steps:
            rise = self.warmup_target - self.initial_learning_rate
            return self.initial_learning_rate + rise * step / self.warmup_steps
        step = min(step - self.warmup_steps, self.decay_steps)
        return self._decay(step, self.warmup_target)

    def _decay(self, step, peak):
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return peak * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


@register("schedules")
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine annealing with warm restarts (SGDR): each period decays along half a cosine,
    then the rate jumps back up.

    The first period lasts ``first_decay_steps``; each next one is ``t_mul`` times longer
    and starts ``m_mul`` times lower. Loshchilov and Hutter, "SGDR: Stochastic Gradient
    Descent with Warm Restarts", ICLR 2017.

    Args:
        initial_learning_rate: the rate at the start of the first period.
        first_decay_steps: the length of the first period.
        t_mul: the growth factor of period lengths.
        m_mul: the factor of each restart's peak.
        alpha: the floor of each period, as a fraction of its peak, in [0, 1].

    Example:
        >>> lr = CosineDecayRestarts(0.1, first_decay_steps=10)
        >>> [round(lr(s), 4) for s in (0, 5, 10, 20, 30)]
        [0.1, 0.05, 0.1, 0.05, 0.1]
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
        name = "CosineDecayRestarts"
        self.initial_learning_rate = _number(name, "initial_learning_rate", initial_learning_rate)
        self.first_decay_steps = _number(
            name, "first_decay_steps", first_decay_steps, low_open=True
        )
        self.t_mul = _number(name, "t_mul", t_mul, low_open=True)
        self.m_mul = _number(name, "m_mul", m_mul)
        self.alpha = _number(name, "alpha", alpha, high=1)

    def _period(self, fraction):
        """(index of the current period, fraction of it completed) for ``fraction`` of the
        first period's length elapsed."""
        if self.t_mul == 1.0:
            restarts = math.floor(fraction)
            return restarts, fraction - restarts
        # periods 1, t, t^2, ... end at (t^(i+1) - 1) / (t - 1): invert that sum
        restarts = math.floor(math.log(1.0 - fraction * (1.0 - self.t_mul)) / math.log(self.t_mul))
        elapsed = (1.0 - self.t_mul**restarts) / (1.0 - self.t_mul)
        return restarts, (fraction - elapsed) / self.t_mul**restarts

    def __call__(self, step):
        restarts, fraction = self._period(_step(step) / self.first_decay_steps)
        cosine = 0.5 * self.m_mul**restarts * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
        }


def get(identifier):
    """Resolve a schedule from a config dict, a name (no-argument classes only) or an
    instance."""
    if identifier is None or isinstance(identifier, LearningRateSchedule):
        return identifier
    return _REGISTRY.get(identifier)


def serialize(schedule):
    return _REGISTRY.serialize(schedule)


def deserialize(config):
    return _REGISTRY.deserialize(config)


__all__ = [
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "PolynomialDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "get",
    "serialize",
    "deserialize",
]

"""Exploration schedules: a value as a function of the training progress in [0, 1]."""


class LinearSchedule:
    """From ``initial`` to ``final`` linearly over the first ``fraction`` of training, then flat.

    Progress is the share of ``learn``'s budget used so far (timesteps or episodes,
    whichever was given), as in Stable-Baselines3's ``exploration_fraction``.

    Args:
        initial: the value at the start (epsilon 1.0: every action random).
        final: the value from ``fraction`` on.
        fraction: the share of training over which the value moves, in (0, 1].

    Example:
        >>> LinearSchedule(1.0, 0.1, 0.5)(0.25)
        0.55
    """

    def __init__(self, initial=1.0, final=0.05, fraction=0.1):
        for name, value in (("initial", initial), ("final", final)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"LinearSchedule: {name} must be in [0, 1], got {value!r}")
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"LinearSchedule: fraction must be in (0, 1], got {fraction!r}")
        self.initial, self.final, self.fraction = float(initial), float(final), float(fraction)

    def __call__(self, progress):
        share = min(max(progress, 0.0) / self.fraction, 1.0)
        return round(self.initial + share * (self.final - self.initial), 12)

    def get_config(self):
        return {"initial": self.initial, "final": self.final, "fraction": self.fraction}


def get(schedule):
    """A schedule from a number (constant), a ``(initial, final, fraction)`` tuple or itself."""
    if isinstance(schedule, LinearSchedule):
        return schedule
    if isinstance(schedule, int | float) and not isinstance(schedule, bool):
        return LinearSchedule(schedule, schedule, 1.0)
    if isinstance(schedule, tuple | list) and len(schedule) == 3:
        return LinearSchedule(*schedule)
    raise TypeError(
        f"expected an exploration schedule (a number, (initial, final, fraction) or a "
        f"LinearSchedule), got {schedule!r}"
    )

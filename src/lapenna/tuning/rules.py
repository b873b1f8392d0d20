"""Stopping rules: at a trial's checkpoints, compare its learning curve with finished trials.

A rule runs inside the worker, at every ``trial.report``. It sees the trial's curve and a
reference the study computed from the database when it sent the trial out (so a worker
needs nothing shared with the tuner). Values are oriented so that larger is better.
"""

import math
import statistics


def _best_by(curve, step):
    """The best value of ``curve`` (``[[step, value], ...]``) at steps <= ``step``."""
    values = [v for s, v in curve if s <= step]
    return max(values) if values else None


class StoppingRule:
    """Base: ``reference(completed)`` in the tuner, ``should_stop(curve, ref)`` in a worker."""

    def reference(self, completed):
        raise NotImplementedError

    def should_stop(self, curve, reference):
        raise NotImplementedError

    def config(self):
        return {"name": type(self).__name__, **vars(self)}


class LearningCurveMatching(StoppingRule):
    """Learning-curve matching: abort a trial whose curve falls below the best finished ones.

    What is compared, exactly: at each checkpoint step ``c`` (every step when
    ``checkpoints`` is None) the trial's best value so far, ``max(v_1..v_c)``, against the
    ``top_k`` completed trials with the best final values: for each of them its best value
    by step ``c``. The trial stops when its value is below the lowest of those by more than
    ``margin``. Nothing is stopped before ``min_completed`` trials have completed.

    Args:
        checkpoints: the steps where the rule decides (a list of ints), or None for all.
        top_k: how many of the best completed trials form the reference.
        margin: how far below the reference a trial may fall (in the objective's units).
        min_completed: completed trials needed before anything is stopped.
    """

    def __init__(self, checkpoints=None, top_k=1, margin=0.0, min_completed=1):
        if checkpoints is not None:
            checkpoints = sorted(int(c) for c in checkpoints)
            if not checkpoints or checkpoints[0] < 1:
                raise ValueError(f"checkpoints must be steps >= 1, got {checkpoints!r}")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"LearningCurveMatching expects top_k an int >= 1, got {top_k!r}")
        if not (isinstance(margin, int | float) and margin >= 0 and math.isfinite(margin)):
            raise ValueError(f"LearningCurveMatching expects a margin >= 0, got {margin!r}")
        self.checkpoints, self.top_k, self.margin = checkpoints, top_k, margin
        self.min_completed = max(int(min_completed), 1)

    def reference(self, completed):
        """The curves of the ``top_k`` completed trials with the best final value."""
        ranked = sorted(completed, key=lambda c: -c[-1][1])
        return {"count": len(completed), "curves": ranked[: self.top_k]}

    def should_stop(self, curve, reference):
        step = curve[-1][0]
        if reference is None or reference["count"] < self.min_completed:
            return False
        if self.checkpoints is not None and step not in self.checkpoints:
            return False
        bounds = [_best_by(c, step) for c in reference["curves"]]
        bounds = [b for b in bounds if b is not None]
        return bool(bounds) and _best_by(curve, step) < min(bounds) - self.margin


class MedianStopping(StoppingRule):
    """The median stopping rule (Golovin et al., KDD 2017), as Optuna's ``MedianPruner``.

    At step ``s`` (from ``n_warmup_steps`` on, every ``interval_steps``, once
    ``n_startup_trials`` trials have completed), stop the trial if its best value so far is
    below the median of the completed trials' values at step ``s``.
    """

    def __init__(self, n_startup_trials=5, n_warmup_steps=0, interval_steps=1):
        for name, value, low in (
            ("n_startup_trials", n_startup_trials, 0),
            ("n_warmup_steps", n_warmup_steps, 0),
            ("interval_steps", interval_steps, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"MedianStopping expects {name} an int >= {low}, got {value!r}")
        self.n_startup_trials, self.n_warmup_steps = n_startup_trials, n_warmup_steps
        self.interval_steps = interval_steps

    def reference(self, completed):
        at = {}
        for curve in completed:
            for step, value in curve:
                at.setdefault(step, []).append(value)
        return {"count": len(completed), "at": {s: statistics.median(v) for s, v in at.items()}}

    def should_stop(self, curve, reference):
        step = curve[-1][0]
        if reference is None or reference["count"] == 0:
            return False
        if reference["count"] < self.n_startup_trials or step < self.n_warmup_steps:
            return False
        if (step - self.n_warmup_steps) % self.interval_steps:
            return False
        median = reference["at"].get(step, reference["at"].get(str(step)))
        return median is not None and max(v for _, v in curve) < median

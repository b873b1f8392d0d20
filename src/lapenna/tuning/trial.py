"""What runs inside a worker: the ``Trial`` an objective sees, and ``run_job``.

A job is a plain dict (it crosses process and MPI boundaries by pickle; no shared memory):
the trial's number, hyperparameter values, the step it must reach (``budget``), its
checkpoint folder, the stopping rule with the reference data it compares against, and the
BLAS threads it may use. ``run_job`` returns a plain dict too: the learning curve, the final
value, and how the trial ended.

The objective reports its learning curve with ``trial.report(step, value)`` (steps count
from 1: epochs, usually). It may save its state in ``trial.checkpoint_dir`` and then call
``trial.checkpoint(step)``; a trial restarted after a crash, or promoted to a larger budget,
then starts at ``trial.start_step`` with the curve so far in ``trial.curve``.
"""

import json
import math
import os
import time
import traceback
from pathlib import Path

from lapenna.backend import set_num_threads
from lapenna.tuning.space import HyperParameters

PROGRESS = "progress.json"


class TrialPruned(Exception):  # noqa: N818 - the name users of Optuna know
    """Raised by ``Trial.report`` when the stopping rule stops the trial."""


class Trial:
    """The objective's view of one trial.

    Attributes:
        number: the trial's number in its study (0, 1, ...).
        params: its hyperparameter values (a dict).
        hp: the same values as ``HyperParameters`` for a ``build_model(hp)``.
        budget: the step the trial must reach in this run (epochs, usually).
        start_step: the last step saved by ``checkpoint`` (0 for a fresh trial).
        curve: ``[[step, value], ...]`` reported so far (the saved part after a restart).
        checkpoint_dir: a folder of its own for saved state (a ``pathlib.Path``).
    """

    def __init__(self, job, rule=None, reference=None):
        self.number = job["number"]
        self.params = dict(job["params"])
        self.hp = HyperParameters.from_config(job["space"]).copy_with(self.params)
        self.budget = job["budget"]
        self.checkpoint_dir = Path(job["checkpoint_dir"])
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        progress = _read_progress(self.checkpoint_dir)
        self.start_step = progress["step"]
        self.curve = [list(point) for point in progress["curve"] if point[0] <= self.start_step]
        self._rule, self._reference = rule, reference
        self._sign = 1.0 if job["direction"] == "maximize" else -1.0
        self.stopped_at = None
        self._parent = os.getppid()

    def report(self, step, value):
        """Record ``value`` at ``step``; raise ``TrialPruned`` if the stopping rule says so."""
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise ValueError(f"Trial.report expects a step int >= 1, got {step!r}")
        if os.getppid() != self._parent:
            os._exit(70)  # the tuner died: an orphaned worker must not race its successor
        if os.getppid() != self._parent:
            os._exit(70)  # the tuner died: an orphaned worker must not race its successor
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"trial {self.number} reported {value} at step {step}")
        self.curve = [p for p in self.curve if p[0] < step] + [[step, value]]
        if self._rule is not None and self._rule.should_stop(
            [[s, self._sign * v] for s, v in self.curve], self._reference
        ):
            self.stopped_at = step
            raise TrialPruned(f"trial {self.number} stopped at step {step}")

    def checkpoint(self, step):
        """Declare that the state after ``step`` is saved in ``checkpoint_dir``."""
        curve = [p for p in self.curve if p[0] <= step]
        tmp = self.checkpoint_dir / (PROGRESS + ".tmp")
        with open(tmp, "w") as f:
            json.dump({"step": step, "curve": curve}, f)
        # the rename is atomic: a killed process leaves the old progress or the new one
        os.replace(tmp, self.checkpoint_dir / PROGRESS)
        self.start_step = step


def _read_progress(folder):
    path = Path(folder) / PROGRESS
    if not path.exists():
        return {"step": 0, "curve": []}
    with open(path) as f:
        return json.load(f)


def run_job(job):
    """Run one job in this process and return its result (a dict). Never raises for the
    objective's own errors: those come back as a failed result with the traceback."""
    start = time.perf_counter()
    if job.get("threads"):
        set_num_threads(job["threads"])
    trial = Trial(job, job.get("rule"), job.get("reference"))
    result = {"number": job["number"], "pid": os.getpid(), "error": None}
    try:
        value = job["objective"](trial)
        if value is None:
            if not trial.curve:
                raise ValueError("the objective returned None and reported nothing")
            value = trial.curve[-1][1]
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"the objective returned {value}")
        if not trial.curve or trial.curve[-1][0] < trial.budget:
            trial.curve.append([trial.budget, value])
        result.update(status="done", value=value)
    except TrialPruned:
        result.update(status="pruned", value=trial.curve[-1][1])
    except Exception as err:  # noqa: BLE001 - a failing objective fails its trial only
        result.update(
            status="failed",
            value=None,
            error=f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=6)}",
        )
    result["curve"] = trial.curve
    result["seconds"] = time.perf_counter() - start
    return result

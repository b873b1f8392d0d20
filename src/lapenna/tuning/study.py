"""``Study``: runs a scheduler's trials on an executor and keeps everything in the store.

The loop, in the tuner's process:

1. Recover: trials left ``running`` by a tuner that died (its process is gone, or its
   heartbeat is older than ``stale_after`` seconds) are queued again; they restart from
   their last checkpoint. Finished trials never rerun.
2. While a worker is free: in one database transaction, take a queued trial or ask the
   scheduler for one, and mark it ``running``; send the job to the executor.
3. When a job ends: record its curve, value and status (the scheduler says whether it is
   complete or paused for a decision). A job whose worker process died is queued again
   (at most ``max_retries`` times, then failed); an objective that raises or returns NaN
   fails its trial and the study goes on.
"""

import concurrent.futures
import math
import os
import shutil
import socket
import sys
import time
from pathlib import Path

from lapenna.tuning import executors, store
from lapenna.tuning.space import HyperParameters, SearchSpaceError
from lapenna.tuning.trial import run_job


class _View:
    """What a scheduler sees and changes inside one transaction."""

    def __init__(self, study, db, trials):
        self._study, self._db, self.trials = study, db, trials
        self.sign = study.sign

    def score(self, record):
        return self.sign * record.value if record.value is not None else -math.inf

    def new(self, params, budget, rung=0, bracket=0, history=()):
        number = len(self.trials)
        checkpoint = str(self._study.checkpoint_root / f"trial_{number:05d}")
        self._study.store.insert(
            self._db, number, params, budget, rung, bracket, checkpoint, history
        )
        record = store.TrialRecord(
            (number, "{}", "queued", 0, budget, rung, bracket, None, checkpoint, None, 0, None,
             None, "[]"),
        )  # fmt: skip
        record.params, record.history = dict(params), list(history)
        self.trials.append(record)
        return record

    def set(self, number, **fields):
        self._study.store.update(self._db, number, **fields)
        for key, value in fields.items():
            setattr(self.trials[number], key, value)

    def copy_checkpoint(self, source, target):
        """Copy trial ``source``'s checkpoint folder over ``target``'s (and its curve)."""
        src, dst = Path(self.trials[source].checkpoint), Path(self.trials[target].checkpoint)
        tmp = dst.with_name(dst.name + ".copy")
        shutil.rmtree(tmp, ignore_errors=True)
        if src.exists():
            shutil.copytree(src, tmp)
        else:
            tmp.mkdir(parents=True)
        shutil.rmtree(dst, ignore_errors=True)
        os.replace(tmp, dst)
        curve = self.trials[source].curve
        self._study.store.write_curve(self._db, target, curve)
        self.trials[target].curve = [list(p) for p in curve]
        self.set(target, step=self.trials[source].step, value=self.trials[source].value)


class Study:
    """A hyperparameter search, stored in SQLite, run on any executor.

    Args:
        objective: ``objective(trial) -> float`` (a picklable callable for process, MPI or
            Dask executors); it reports its curve with ``trial.report(step, value)``.
        scheduler: ``RandomSearch``, ``GridSearch``, ``SuccessiveHalving``, ``Hyperband``,
            ``ASHA`` or ``PopulationBasedTraining``.
        space: the search space (``HyperParameters``); taken from ``objective.space``
            when the objective has one (``HyperModelObjective``).
        storage: the SQLite database (a path or ``sqlite:///path``).
        name: the study's name in the database.
        direction: ``"maximize"`` or ``"minimize"``.
        stopping: a stopping rule (``LearningCurveMatching``, ``MedianStopping``) or None.
        executor: ``"process"`` (default), ``"inline"``, ``"mpi"`` or an Executor.
        n_workers: trials run at once (default: the executor's workers, or the cores).
        checkpoint_dir: where trial folders go (default ``<storage>_checkpoints/<name>``).
        max_retries: how often a trial whose worker died is run again.
        stale_after: seconds without a heartbeat after which another tuner's running trial
            is taken over.
        verbose: 1 prints one line per finished run of a trial, 0 nothing.

    Raises:
        SearchSpaceError: an empty or inconsistent space (before anything is written).
        StoreError: the database is not a lapenna store or holds a different study.
    """

    def __init__(
        self, objective, scheduler, space=None, storage="study.db", name="study",
        direction="maximize", stopping=None, executor="process", n_workers=None,
        checkpoint_dir=None, max_retries=2, stale_after=300.0, verbose=1,
    ):  # fmt: skip
        if not callable(objective):
            raise TypeError(f"objective must be callable, got {type(objective).__name__}")
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
        space = space if space is not None else getattr(objective, "space", None)
        if not isinstance(space, HyperParameters):
            raise SearchSpaceError(
                f"Study needs a search space (HyperParameters), got {type(space).__name__}"
            )
        if not hasattr(scheduler, "ask"):
            raise TypeError(f"scheduler must be a lapenna.tuning scheduler, got {scheduler!r}")
        scheduler.bind(space)
        if stopping is not None and not hasattr(stopping, "should_stop"):
            raise TypeError(f"stopping must be a stopping rule or None, got {stopping!r}")
        executors.check_kind(executor)
        self.objective, self.scheduler, self.space, self.stopping = (
            objective,
            scheduler,
            space,
            stopping,
        )
        self.direction, self.sign = direction, 1.0 if direction == "maximize" else -1.0
        self.name, self.verbose = name, verbose
        self.max_retries, self.stale_after = max_retries, stale_after
        self._executor_kind = executor
        self.n_workers = n_workers or executors.default_workers(executor)
        settings = {"scheduler": scheduler.config(), "stopping": stopping and stopping.config()}
        self.store = store.StudyStore(storage, name, direction, space.get_config(), settings)
        root = checkpoint_dir or f"{self.store.path}_checkpoints/{name}"
        self.checkpoint_root = Path(root).resolve()
        self.owner = store.owner_id()
        self.poll = 1.0
        self._beat = time.monotonic()

    # -- results -------------------------------------------------------------------------------
    @property
    def trials(self):
        return self.store.trials()

    def best_trials(self, count=1):
        """The ``count`` best complete trials (trials with a value when none completed)."""
        trials = [t for t in self.trials if t.value is not None]
        complete = [t for t in trials if t.status == "complete"] or trials
        return sorted(complete, key=lambda t: (-self.sign * t.value, t.number))[:count]

    @property
    def best_trial(self):
        best = self.best_trials(1)
        return best[0] if best else None

    def export_csv(self, path):
        return self.store.export_csv(path)

    def export_json(self, path):
        return self.store.export_json(path)

    # -- the loop ------------------------------------------------------------------------------
    def run(self):
        """Run until the scheduler is done; returns ``self``."""
        executor, owned = executors.make_executor(self._executor_kind, self.n_workers)
        threads = executors.threads_per_worker(self.n_workers) if owned else None
        if self._executor_kind == "inline":
            threads = None
        inflight = {}
        self._recover(own=True)
        try:
            while True:
                answer = None
                while len(inflight) < self.n_workers:
                    job, answer = self._claim(threads)
                    if job is None:
                        break
                    inflight[executor.submit(run_job, job)] = job
                if not inflight:
                    if answer == "done":
                        break
                    if not any(t.status == "running" for t in self.store.trials(False)):
                        raise RuntimeError(
                            f"{type(self.scheduler).__name__} waits for running trials, but "
                            f"study '{self.name}' has none"
                        )
                    time.sleep(self.poll)  # other tuners run the trials this one waits on
                    self._recover(own=False)
                    continue
                done, _ = concurrent.futures.wait(
                    inflight, timeout=self.poll, return_when=concurrent.futures.FIRST_COMPLETED
                )
                if time.monotonic() - self._beat > self.stale_after / 10:
                    self._heartbeat([job["number"] for job in inflight.values()])
                broken = False
                for future in done:
                    broken |= self._finish(inflight.pop(future), future)
                if broken and owned:
                    for future, job in list(inflight.items()):
                        self._finish(job, future)
                        inflight.pop(future)
                    executor.shutdown(wait=False, cancel_futures=True)
                    executor, owned = executors.make_executor(self._executor_kind, self.n_workers)
                elif broken:
                    raise RuntimeError("the executor broke: a worker process died")
        finally:
            if owned:
                executor.shutdown(wait=not inflight, cancel_futures=True)
        return self

    def _recover(self, own):
        """Queue again the running trials whose tuner is gone."""
        host = socket.gethostname()
        now = time.time()
        with self.store.transaction() as db:
            for t in self.store.trials(with_curves=False):
                if t.status != "running":
                    continue
                owner_host, _, pid = (t.owner or ":").rpartition(":")
                if owner_host == host and pid.isdigit():  # on this machine: is it alive?
                    gone = not _alive(int(pid)) or (own and t.owner == self.owner)
                else:
                    gone = now - (t.heartbeat or 0) > self.stale_after
                if gone:
                    self.store.update(db, t.number, status="queued", owner=None)

    def _claim(self, threads):
        with self.store.transaction() as db:
            view = _View(self, db, self.store.trials())
            queued = [t for t in view.trials if t.status == "queued"]
            answer = None
            if not queued:
                answer = self.scheduler.ask(view)
                queued = [t for t in view.trials if t.status == "queued"]
            if not queued:
                return None, answer
            record = queued[0]
            self.store.update(
                db, record.number, status="running", owner=self.owner, heartbeat=time.time()
            )
            return self._job(record, view.trials, threads), answer

    def _job(self, record, trials, threads):
        reference = None
        if self.stopping is not None:
            complete = [
                [[s, self.sign * v] for s, v in t.curve]
                for t in trials
                if t.status == "complete" and t.curve
            ]
            reference = self.stopping.reference(complete)
        return {
            "number": record.number,
            "params": record.params,
            "space": self.space.get_config(),
            "budget": record.budget,
            "checkpoint_dir": record.checkpoint,
            "direction": self.direction,
            "objective": self.objective,
            "rule": self.stopping,
            "reference": reference,
            "threads": threads,
        }

    def _heartbeat(self, numbers):
        self._beat = time.monotonic()
        with self.store.transaction() as db:
            for number in numbers:
                self.store.update(db, number, heartbeat=time.time())

    def _finish(self, job, future):
        """Record a finished job; True when its worker died (the executor is broken)."""
        try:
            result = future.result()
        except concurrent.futures.BrokenExecutor as err:
            self._worker_died(job, err)
            return True
        except concurrent.futures.CancelledError as err:
            self._worker_died(job, err)
            return False
        with self.store.transaction() as db:
            record = self.store.trials(with_curves=False)[job["number"]]
            status = self.scheduler.settle(record, result)
            step = result["curve"][-1][0] if result["curve"] else 0
            fields = {"status": status, "step": step, "owner": None}
            if result["error"]:  # a success keeps the note of an earlier worker's death
                fields["error"] = result["error"]
            if result["value"] is not None:
                fields["value"] = result["value"]
            self.store.update(db, job["number"], **fields)
            self.store.write_curve(db, job["number"], result["curve"])
        self._say(job, result, status)
        return False

    def _worker_died(self, job, err):
        with self.store.transaction() as db:
            record = self.store.trials(with_curves=False)[job["number"]]
            attempts = record.attempts + 1
            status = "queued" if attempts <= self.max_retries else "failed"
            error = f"the worker process died ({type(err).__name__}), run {attempts}"
            self.store.update(
                db, job["number"], status=status, attempts=attempts, owner=None, error=error
            )
        if self.verbose:
            print(
                f"trial {job['number']}: {error}; {'retried' if status == 'queued' else 'failed'}"
            )

    def _say(self, job, result, status):
        if not self.verbose:
            return
        value = "-" if result["value"] is None else f"{result['value']:.4f}"
        params = ", ".join(f"{k}={_short(v)}" for k, v in job["params"].items())
        line = (
            f"trial {job['number']:3d} {status:8s} value {value} step {job['budget']:3d} "
            f"({params}) {result['seconds']:.1f}s"
        )
        if status == "failed":
            line += " | " + (result["error"] or "").splitlines()[0]
        print(line, file=sys.stdout, flush=True)


def _short(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

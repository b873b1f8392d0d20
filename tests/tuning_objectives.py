"""Objectives for the tuning tests that run in other processes (process pools, MPI, a
tuner killed with SIGKILL): module-level, so that they pickle by reference."""

import os
import signal
import time
from pathlib import Path

from lapenna import get_num_threads


def curve(trial):
    """Rises to ``x``; checkpoints every step; logs each step it runs to ``LOG`` if set."""
    x = trial.params["x"]
    log = os.environ.get("LAPENNA_TUNING_TEST_LOG")
    _barrier(os.environ.get("LAPENNA_TUNING_TEST_BARRIER"))
    for step in range(trial.start_step + 1, trial.budget + 1):
        time.sleep(float(os.environ.get("LAPENNA_TUNING_TEST_SLEEP", "0")))
        if log:
            with open(log, "a") as f:
                f.write(f"{trial.number} {step} {os.getpid()} {get_num_threads()}\n")
        trial.report(step, x * (1 - 0.5**step))
        trial.checkpoint(step)
    return trial.curve[-1][1]


def _barrier(folder, parties=2, timeout=120):
    """Wait until ``parties`` processes have reached this point (for shared-study tests)."""
    if not folder:
        return
    Path(folder, str(os.getpid())).touch()
    deadline = time.monotonic() + timeout
    while len(os.listdir(folder)) < parties and time.monotonic() < deadline:
        time.sleep(0.01)


def dies_once(trial):
    """The first run of trial 1 kills its own process (SIGKILL) after checkpointing step 1."""
    marker = Path(trial.checkpoint_dir) / "died"
    if trial.number == 1 and not marker.exists():
        trial.report(1, 0.0)
        trial.checkpoint(1)
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return curve(trial)


def always_dies(trial):
    if trial.number == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return curve(trial)


def space():
    from lapenna import tuning

    hp = tuning.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    return hp


def noisy_quadratic(trial):
    """SGD on a noisy least-squares problem, 40 steps of batch 4 per epoch; the value is the
    test loss (minimized). A large learning rate descends fast but stalls at a noise floor
    that grows with it; a small one is slow: a decaying schedule beats every constant one.
    The weights are checkpointed each epoch, so a PBT exploit continues a copied model."""
    import numpy as np

    rng = np.random.default_rng(12345)
    w_true = rng.normal(size=20)
    path = Path(trial.checkpoint_dir) / "w.npy"
    w = np.load(path) if trial.start_step and path.exists() else np.zeros(20)
    lr = trial.params["lr"]
    for step in range(trial.start_step + 1, trial.budget + 1):
        data = np.random.default_rng([trial.number, step])
        for _ in range(40):
            x = data.normal(size=(4, 20))
            y = x @ w_true + data.normal(scale=2.0, size=4)
            w -= lr * x.T @ (x @ w - y) / 4
            if not np.isfinite(w).all() or np.abs(w).max() > 1e6:
                w = np.full(20, 1e3)
        trial.report(step, float(np.sum((w - w_true) ** 2)))
        np.save(path, w)
        trial.checkpoint(step)
    return trial.curve[-1][1]

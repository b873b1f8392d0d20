"""The tuning study on real executors: a process pool, MPI (``mpiexec -n 3``), a worker
killed mid-trial, and the tuner itself killed with SIGKILL and restarted."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tuning_objectives as objectives
from lapenna import tuning

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")]),
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}


def _study(db, objective, scheduler, **kwargs):
    return tuning.Study(
        objective, scheduler, space=objectives.space(), storage=db, verbose=0, **kwargs
    )


def test_process_pool_runs_trials_in_other_processes(tmp_path, monkeypatch):
    log = tmp_path / "steps.log"
    monkeypatch.setenv("LAPENNA_TUNING_TEST_LOG", str(log))
    study = _study(
        tmp_path / "s.db", objectives.curve, tuning.Hyperband(max_budget=3, eta=3),
        executor="process", n_workers=2,
    ).run()  # fmt: skip
    trials = study.trials
    assert len(trials) == 3 + 2  # brackets 3@1 1@3 | 2@3
    lines = [line.split() for line in log.read_text().splitlines()]
    assert os.getpid() not in {int(line[2]) for line in lines}
    # each worker got its share of the cores for BLAS
    assert {int(line[3]) for line in lines} == {max(1, (os.cpu_count() or 1) // 2)}
    assert sum(t.status == "complete" for t in trials) == 3


def test_a_worker_killed_mid_trial_is_retried_from_its_checkpoint(tmp_path, monkeypatch):
    log = tmp_path / "steps.log"
    monkeypatch.setenv("LAPENNA_TUNING_TEST_LOG", str(log))
    study = _study(
        tmp_path / "s.db", objectives.dies_once, tuning.RandomSearch(4, max_budget=3),
        executor="process", n_workers=2, max_retries=2,
    ).run()  # fmt: skip
    trials = study.trials
    assert [t.status for t in trials] == ["complete"] * 4
    assert trials[1].attempts == 1 and "worker process died" in trials[1].error
    # the retry resumed after the checkpointed step 1: steps 2 and 3 ran, step 1 did not again
    steps = [line.split()[1] for line in log.read_text().splitlines() if line.startswith("1 ")]
    assert steps == ["2", "3"]
    assert [s for s, _ in trials[1].curve] == [1, 2, 3]


def test_a_trial_whose_worker_always_dies_fails_and_the_study_goes_on(tmp_path):
    study = _study(
        tmp_path / "s.db", objectives.always_dies, tuning.RandomSearch(3, max_budget=2),
        executor="process", n_workers=1, max_retries=1,
    ).run()  # fmt: skip
    assert [t.status for t in study.trials] == ["complete", "failed", "complete"]
    assert study.trials[1].attempts == 2


TUNER = """
import sys
import tuning_objectives as objectives
from lapenna import tuning
study = tuning.Study(objectives.curve, tuning.Hyperband(max_budget=9, eta=3),
                     space=objectives.space(), storage=sys.argv[1], executor=sys.argv[2],
                     n_workers=1, verbose=0)
study.run()
"""


def _statuses(db):
    try:
        with sqlite3.connect(db) as con:
            return [row[0] for row in con.execute("SELECT status FROM trials ORDER BY number")]
    except sqlite3.OperationalError:  # the tuner has not created its tables yet
        return []


@pytest.mark.parametrize("executor", ["inline", "process"])
def test_the_tuner_killed_with_sigkill_resumes_with_nothing_lost(tmp_path, executor):
    db, log = tmp_path / "s.db", tmp_path / "steps.log"
    env = {**ENV, "LAPENNA_TUNING_TEST_LOG": str(log), "LAPENNA_TUNING_TEST_SLEEP": "0.02"}
    tuner = subprocess.Popen([sys.executable, "-c", TUNER, str(db), executor], env=env)
    try:  # kill once some trials are finished and one is running
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            statuses = _statuses(db) if db.exists() else []
            if statuses.count("paused") >= 4 and "running" in statuses:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the tuner never got going: {statuses}")
        os.kill(tuner.pid, signal.SIGKILL)
        tuner.wait()
    finally:
        if tuner.poll() is None:
            tuner.kill()
    running = [n for n, status in enumerate(_statuses(db)) if status == "running"]
    time.sleep(0.5)  # an orphaned worker notices its tuner is gone at its next report
    rerun = subprocess.run([sys.executable, "-c", TUNER, str(db), executor], env=env, timeout=300)
    assert rerun.returncode == 0
    study = _study(db, objectives.curve, tuning.Hyperband(max_budget=9, eta=3), executor="inline")
    trials = study.trials
    assert len(trials) == 9 + 5 + 3
    assert sum(t.status == "complete" for t in trials) == 1 + 1 + 3
    # no step of any trial ran twice, except the one step the killed trial had not yet
    # checkpointed when the tuner died (the kill may also land between two trials, after
    # one was recorded paused and before the next was marked running: then none repeats)
    pairs = [tuple(line.split()[:2]) for line in log.read_text().splitlines()]
    repeated = {pair for pair in pairs if pairs.count(pair) > 1}
    assert len(running) <= 1 and len(repeated) <= len(running)
    assert all(int(n) in running for n, _ in repeated)
    # every curve is whole and equals an uninterrupted run's
    clean = _study(
        tmp_path / "clean.db", objectives.curve, tuning.Hyperband(max_budget=9, eta=3),
        executor="inline",
    ).run()  # fmt: skip
    assert [(t.status, t.curve) for t in trials] == [(t.status, t.curve) for t in clean.trials]


SHARED_TUNER = """
import sys
import tuning_objectives as objectives
from lapenna import tuning
tuning.Study(objectives.curve, tuning.RandomSearch(12, max_budget=3), space=objectives.space(),
             storage=sys.argv[1], executor="inline", verbose=0).run()
"""


def test_two_tuner_processes_share_one_study(tmp_path):
    db, log = tmp_path / "s.db", tmp_path / "steps.log"
    (tmp_path / "barrier").mkdir()
    env = {
        **ENV,
        "LAPENNA_TUNING_TEST_LOG": str(log),
        "LAPENNA_TUNING_TEST_SLEEP": "0.02",
        "LAPENNA_TUNING_TEST_BARRIER": str(tmp_path / "barrier"),  # both start before any step
    }
    tuners = [
        subprocess.Popen([sys.executable, "-c", SHARED_TUNER, str(db)], env=env) for _ in range(2)
    ]
    assert [tuner.wait(timeout=300) for tuner in tuners] == [0, 0]
    assert _statuses(db) == ["complete"] * 12
    lines = [line.split() for line in log.read_text().splitlines()]
    pairs = [(line[0], line[1]) for line in lines]
    assert sorted(pairs) == sorted({(str(n), str(s)) for n in range(12) for s in (1, 2, 3)})
    assert {line[2] for line in lines} == {str(tuner.pid) for tuner in tuners}


MPI_TUNER = """
import sys
import tuning_objectives as objectives
from lapenna import tuning
if __name__ == "__main__":
    study = tuning.Study(objectives.curve, tuning.ASHA(9, min_budget=1, max_budget=9),
                         space=objectives.space(), storage=sys.argv[1], executor="mpi",
                         n_workers=2, verbose=0).run()
    print("complete", sum(t.status == "complete" for t in study.trials), len(study.trials))
"""


def test_an_mpi_study_with_mpiexec_n_3(tmp_path):
    pytest.importorskip("mpi4py", reason="the mpi extra is not installed")
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which(
        "mpiexec"
    )
    if mpiexec is None:
        pytest.skip("the mpi extra is installed without an mpiexec")
    script = tmp_path / "tune.py"
    script.write_text(MPI_TUNER)
    log = tmp_path / "steps.log"
    run = subprocess.run(
        [mpiexec, "-n", "3", sys.executable, "-m", "mpi4py.futures", str(script),
         str(tmp_path / "s.db")],
        env={**ENV, "LAPENNA_TUNING_TEST_LOG": str(log)}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "complete" in run.stdout
    trials = _study(tmp_path / "s.db", objectives.curve, tuning.ASHA(9, 1, 9)).trials
    assert len(trials) == 9 and any(t.status == "complete" for t in trials)
    pids = {int(line.split()[2]) for line in log.read_text().splitlines()}
    assert len(pids) == 2  # both MPI workers ran trials, the tuner none

"""The tuning course's claim on the tabular benchmark of real lapenna learning curves, and
the replay engine checked against the real study loop and against Optuna."""

import importlib.util
import random

import pytest

import lapenna as lp
from lapenna import tuning
from lapenna.tuning import benchmark


class TabularObjective:
    """Trial i reads the curve of configuration ``order[i]``; checkpointed every step."""

    def __init__(self, curves, order):
        self.curves, self.order = curves, order

    def __call__(self, trial):
        curve = self.curves[self.order[trial.number]]
        for step in range(trial.start_step + 1, trial.budget + 1):
            trial.report(step, curve[step - 1])
            trial.checkpoint(step)
        return trial.curve[-1][1]


@pytest.fixture(scope="module")
def table():
    return {row["method"]: row for row in benchmark.compare(repeats=12, n_trials=100, optuna=False)}


def test_the_benchmark_is_real_lapenna_curves():
    curves, document = benchmark.load_curves()
    assert len(curves) >= 100 and all(len(c) == document["epochs"] == 20 for c in curves)
    finals = sorted(c[-1] for c in curves)
    assert finals[-1] > 0.97 and finals[0] < 0.2  # good and failed configurations both
    assert {"width", "depth", "learning_rate", "optimizer", "batch_size"} == set(
        document["configs"][0]["params"]
    )


def test_learning_curve_matching_saves_most_epochs_at_the_same_accuracy(table):
    lcm = table["learning-curve matching"]
    assert lcm["epochs_ratio"] <= 0.40
    assert lcm["mean_gap"] <= 0.005
    assert lcm["same_optimum"] >= 6
    assert table["random search"]["epochs"] == 2000


def test_our_median_stopping_replays_exactly_as_optunas_median_pruner():
    optuna = pytest.importorskip("optuna")
    curves, _ = benchmark.load_curves()
    for seed in range(3):
        order = random.Random(seed).sample(range(len(curves)), 60)
        mine = benchmark.replay(
            tuning.RandomSearch(60, 20), curves, order, tuning.MedianStopping(5, 2)
        )
        pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)
        theirs = benchmark.optuna_replay(pruner, curves, order, 60)
        assert mine == theirs


@pytest.mark.parametrize(
    "scheduler, stopping",
    [
        (lambda: tuning.RandomSearch(30, 20), lambda: tuning.LearningCurveMatching([2, 5], 2)),
        (lambda: tuning.Hyperband(max_budget=20, eta=3), lambda: None),
        (lambda: tuning.ASHA(20, min_budget=1, max_budget=20), lambda: None),
    ],
)
def test_the_replay_is_what_a_real_study_does(tmp_path, scheduler, stopping):
    curves, _ = benchmark.load_curves()
    order = random.Random(7).sample(range(len(curves)), 30)
    replayed = benchmark.replay(scheduler(), curves, order, stopping())
    space = tuning.HyperParameters()
    space.Fixed("config", 0)
    study = tuning.Study(
        TabularObjective(curves, order), scheduler(), space=space, storage=tmp_path / "s.db",
        stopping=stopping(), executor="inline", verbose=0,
    )  # fmt: skip
    trials = study.run().trials
    assert replayed["trials"] == len(trials)
    assert replayed["epochs"] == sum(t.step for t in trials)
    best = study.best_trial
    assert (best.value, order[best.number]) == (replayed["best"], replayed["best_config"])


def test_the_benchmark_script_measures_the_stored_curves_again(tmp_path):
    """The first configuration, three epochs, trained again by the script."""
    pytest.importorskip("sklearn")
    path = benchmark.DATA.parents[4] / "examples" / "tuning" / "make_digits_curves.py"
    spec = importlib.util.spec_from_file_location("make_digits_curves", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    previous = lp.get_num_threads()
    try:
        measured = script.main(configs=1, out=tmp_path / "curves.json", epochs=3)["configs"]
    finally:
        lp.set_num_threads(previous)
    _, stored = benchmark.load_curves()
    for row, kept in zip(measured, stored["configs"]):
        assert row["params"] == kept["params"]
        assert row["val_accuracy"] == pytest.approx(kept["val_accuracy"][:3], abs=0.02)


def test_the_replay_script_prints_the_table(capsys):
    path = benchmark.DATA.parents[4] / "examples" / "tuning" / "replay_benchmark.py"
    spec = importlib.util.spec_from_file_location("replay_benchmark", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    table = script.main(repeats=2, trials=40)
    printed = capsys.readouterr().out
    assert printed.startswith("| method |") and len(printed.strip().splitlines()) == 2 + len(table)
    assert {row["method"] for row in table} >= {"random search", "learning-curve matching"}

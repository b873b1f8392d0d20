"""lapenna.tuning: search spaces, searchers and schedulers with scripted trials, the SQLite
store, and the study loop on the in-process executor."""

import json
import math
import sqlite3

import pytest

from lapenna import tuning
from lapenna.tuning.schedulers import score_at


def _space():
    hp = tuning.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    hp.Int("n", 1, 4)
    return hp


def curve_objective(trial):
    """A learning curve that rises to ``x`` (the best trials have large x); checkpointed."""
    x = trial.params["x"]
    for step in range(trial.start_step + 1, trial.budget + 1):
        trial.report(step, x * (1 - 0.5**step))
        trial.checkpoint(step)
    return trial.curve[-1][1]


def _study(tmp_path, scheduler, space=None, objective=curve_objective, **kwargs):
    return tuning.Study(
        objective,
        scheduler,
        space=space or _space(),
        storage=tmp_path / "study.db",
        executor="inline",
        verbose=0,
        **kwargs,
    )


# -- search spaces -------------------------------------------------------------------------------
def test_declaring_returns_defaults_and_trial_values():
    hp = tuning.HyperParameters()
    assert hp.Int("units", 8, 64, step=8) == 8
    assert hp.Float("lr", 1e-4, 1e-1, sampling="log", default=1e-3) == 1e-3
    assert hp.Choice("act", ["relu", "tanh"]) == "relu"
    assert hp.Boolean("bn") is False
    assert hp.Fixed("classes", 10) == 10
    trial = hp.copy_with({"units": 32, "act": "tanh"})
    assert (
        trial.Int("units", 8, 64, step=8) == 32 and trial.Choice("act", ["relu", "tanh"]) == "tanh"
    )
    with pytest.raises(tuning.SearchSpaceError, match="not in the search space"):
        trial.Int("other", 1, 2)


@pytest.mark.parametrize(
    "declare, message",
    [
        (lambda hp: hp.Int("a", 5, 1), "min_value 5 above max_value 1"),
        (lambda hp: hp.Float("a", 0.0, 1.0, sampling="log"), "log sampling needs min_value > 0"),
        (lambda hp: hp.Choice("a", []), "non-empty list"),
        (lambda hp: hp.Choice("a", [1, 1]), "repeated values"),
        (lambda hp: hp.Int("a", 1, 5, sampling="cubic"), "'linear' or 'log'"),
        (lambda hp: hp.Float("a", 0.0, math.nan), "finite number"),
        (lambda hp: (hp.Int("a", 1, 5), hp.Int("a", 1, 6)), "declared twice differently"),
        (lambda hp: hp.conditional_scope("missing", [1]).__enter__(), "declared parent"),
    ],
)
def test_inconsistent_spaces_are_refused(declare, message):
    with pytest.raises(tuning.SearchSpaceError, match=message):
        declare(tuning.HyperParameters())


def test_empty_space_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(tuning.SearchSpaceError, match="empty"):
        _study(tmp_path, tuning.RandomSearch(3), space=tuning.HyperParameters())
    assert not (tmp_path / "study.db").exists()


def test_conditional_scopes_sample_and_grid_only_active_branches():
    hp = tuning.HyperParameters()
    hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["mlp"]):
        hp.Int("units", 8, 16, step=8)
    with hp.conditional_scope("model", ["cnn"]):
        hp.Choice("filters", [4, 8, 16])
    grid = hp.grid()
    assert grid == [
        {"model": "mlp", "units": 8},
        {"model": "mlp", "units": 16},
        {"model": "cnn", "filters": 4},
        {"model": "cnn", "filters": 8},
        {"model": "cnn", "filters": 16},
    ]
    for number in range(20):
        values = hp.sample(tuning.trial_rng(0, number))
        assert set(values) == (
            {"model", "units"} if values["model"] == "mlp" else {"model", "filters"}
        )


def test_discover_finds_conditional_branches_of_build_model():
    def build_model(hp):
        if hp.Choice("model", ["mlp", "cnn"]) == "mlp":
            with hp.conditional_scope("model", ["mlp"]):
                hp.Int("units", 8, 64)
        else:
            with hp.conditional_scope("model", ["cnn"]):
                hp.Int("filters", 4, 16)

    assert [p.name for p in tuning.discover(build_model).space] == ["model", "units", "filters"]


def test_grid_search_needs_a_step_for_floats(tmp_path):
    hp = tuning.HyperParameters()
    hp.Float("lr", 0.1, 1.0)
    with pytest.raises(tuning.SearchSpaceError, match="needs a step for Float 'lr'"):
        _study(tmp_path, tuning.GridSearch(), space=hp)


# -- algorithms with scripted trials ---------------------------------------------------------
def test_hyperband_brackets_are_those_of_li_et_al():
    table = [
        [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        [(34, 3), (11, 9), (3, 27), (1, 81)],
        [(15, 9), (5, 27), (1, 81)],
        [(8, 27), (2, 81)],
        [(5, 81)],
    ]
    assert tuning.hyperband_brackets(81, 3) == table


def test_hyperband_brackets_have_optunas_sizes_and_rungs():
    optuna = pytest.importorskip("optuna")
    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=81, reduction_factor=3)
    pruner._try_initialization(optuna.create_study(pruner=pruner))  # its lazy set-up
    ours = tuning.hyperband_brackets(81, 3)
    assert pruner._trial_allocation_budgets == [bracket[0][0] for bracket in ours]
    for bracket, sha in zip(ours, pruner._pruners):
        rate = sha._min_early_stopping_rate
        assert [3 ** (rate + rung) for rung in range(len(bracket))] == [r for _, r in bracket]


def test_hyperband_study_runs_exactly_its_brackets(tmp_path):
    study = _study(tmp_path, tuning.Hyperband(max_budget=9, eta=3)).run()
    trials = study.trials
    # brackets 9@1 3@3 1@9 | 5@3 1@9 | 3@9: 17 configurations
    assert len(trials) == 9 + 5 + 3
    for bracket, rungs in enumerate(tuning.hyperband_brackets(9, 3)):
        members = [t for t in trials if t.bracket == bracket]
        for rung, (n, _budget) in enumerate(rungs):
            reached = [t for t in members if t.rung >= rung]
            assert len(reached) == n
            # the ones kept at each rung are the best of the rung below
            if rung:
                below = sorted(
                    (t for t in members if t.rung >= rung - 1),
                    key=lambda t: -score_at(t, rungs[rung - 1][1]),
                )
                assert {t.number for t in below[:n]} == {t.number for t in reached}
        assert all(
            t.status == ("complete" if t.rung == len(rungs) - 1 else "pruned") for t in members
        )
    # a promoted trial resumed from its checkpoint: its curve has every step once
    top = [t for t in trials if t.bracket == 0 and t.rung == 2][0]
    assert [s for s, _ in top.curve] == list(range(1, 10))


def test_successive_halving_keeps_the_top_third(tmp_path):
    study = _study(
        tmp_path, tuning.SuccessiveHalving(n_trials=27, min_budget=1, max_budget=9)
    ).run()
    trials = study.trials
    by_x = sorted(trials, key=lambda t: -t.params["x"])
    assert {t.number for t in trials if t.rung >= 1} == {t.number for t in by_x[:9]}
    assert {t.number for t in trials if t.rung >= 2} == {t.number for t in by_x[:3]}
    # rungs 27@1, 9@3, 3@9: the last three finish
    assert {t.number for t in trials if t.status == "complete"} == {t.number for t in by_x[:3]}
    assert study.best_trial.number == by_x[0].number and study.best_trial.step == 9


class _View:
    """A scheduler's view without a database, for scripted trials."""

    sign = 1.0

    def __init__(self):
        self.trials = []

    def score(self, t):
        return t.value

    def new(self, params, budget, rung=0, bracket=0, history=()):
        record = type("R", (), {})()
        record.__dict__.update(
            number=len(self.trials), params=params, budget=budget, rung=rung, bracket=bracket,
            status="queued", value=None, curve=[], step=0, history=list(history),
        )  # fmt: skip
        self.trials.append(record)

    def set(self, number, **fields):
        self.trials[number].__dict__.update(fields)

    def copy_checkpoint(self, source, target):
        self.trials[target].copied_from = source


def _finish(view, record, value):
    record.curve.append([record.budget, value])
    record.value, record.step, record.status = value, record.budget, "paused"


def test_asha_promotes_without_waiting_for_a_full_rung():
    asha = tuning.ASHA(n_trials=9, min_budget=1, max_budget=9, eta=3)
    asha.bind(_space())
    view = _View()
    for value in (0.1, 0.5, 0.3):  # three trials finish rung 0 one after another
        assert asha.ask(view) == "new"
        _finish(view, view.trials[-1], value)
    # 3 finished rung 0: the top floor(3/3) = 1 (value 0.5) is promoted at once
    assert asha.ask(view) == "queued"
    assert (view.trials[1].rung, view.trials[1].budget, view.trials[1].status) == (1, 3, "queued")
    # a 4th trial worse than all: nothing more to promote, so a new one starts
    view.trials[1].status = "running"
    assert asha.ask(view) == "new"
    _finish(view, view.trials[-1], 0.05)
    assert asha.ask(view) == "new"  # floor(4/3) = 1 and that one is already promoted


def test_hyperband_fills_its_first_bracket_first_and_never_idles_a_worker():
    hyperband = tuning.Hyperband(max_budget=9, eta=3)
    hyperband.bind(_space())
    view = _View()
    for _ in range(9):
        assert hyperband.ask(view) == "new"
    assert [t.bracket for t in view.trials] == [0] * 9
    for t in view.trials:
        t.status = "running"
    # bracket 0 waits for its rung: a free worker starts bracket 1 meanwhile
    assert hyperband.ask(view) == "new" and view.trials[-1].bracket == 1


def test_pbt_exploit_and_explore_follow_the_rule():
    space = tuning.HyperParameters()
    space.Float("lr", 1e-4, 1.0, sampling="log")
    space.Int("width", 4, 64)
    space.Choice("act", ["relu", "tanh"])
    pbt = tuning.PopulationBasedTraining(
        population=8, ready=2, max_budget=6, fraction=0.25, resample_probability=0.0, seed=3
    )
    pbt.bind(space)
    view = _View()
    for _ in range(8):
        assert pbt.ask(view) == "new"
    for record, value in zip(view.trials, (0.1, 0.9, 0.5, 0.2, 0.8, 0.3, 0.6, 0.4)):
        _finish(view, record, value)
    before = {t.number: dict(t.params) for t in view.trials}
    assert pbt.ask(view) == "queued"
    # bottom ceil(0.25 * 8) = 2 (trials 0 and 3) copy one of the top 2 (trials 1 and 4)
    for loser in (0, 3):
        t = view.trials[loser]
        donor = t.copied_from
        assert donor in (1, 4)
        for name in ("lr", "width"):
            ratio = t.params[name] / before[donor][name]
            clipped = t.params[name] in (space.space[0].spec["min_value"], 64, 4, 1.0)
            assert (
                clipped
                or math.isclose(ratio, 0.8, rel_tol=0.08)
                or math.isclose(ratio, 1.2, rel_tol=0.08)
            )
        assert t.params["act"] == before[donor]["act"]
        assert t.history[-1] == {"step": 2, "params": t.params, "from": donor}
    for t in view.trials:
        if t.number not in (0, 3):
            assert t.params == before[t.number]
        assert (t.status, t.budget) == ("queued", 4)


def test_median_stopping_matches_optuna_median_pruner():
    optuna = pytest.importorskip("optuna")
    import random

    rng = random.Random(5)
    curves = [[rng.random() + 0.05 * s for s in range(1, 9)] for _ in range(30)]
    study = optuna.create_study(
        direction="maximize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
    )
    rule = tuning.MedianStopping(n_startup_trials=3, n_warmup_steps=2)
    completed, agreed, pruned = [], 0, 0
    for values in curves:
        trial = study.ask()
        reference = rule.reference(completed)
        mine, theirs = [], []
        for step, value in enumerate(values, start=1):
            trial.report(value, step)
            theirs.append(trial.should_prune())
            mine.append(
                rule.should_stop([[s, v] for s, v in enumerate(values[:step], 1)], reference)
            )
            if theirs[-1]:
                break
        assert mine == theirs
        agreed += 1
        pruned += theirs[-1]
        if theirs[-1]:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, values[-1])
            completed.append([[s, v] for s, v in enumerate(values, 1)])
    assert agreed == 30 and 5 <= pruned <= 25


def test_random_search_distributions_match_optuna():
    optuna = pytest.importorskip("optuna")
    np = pytest.importorskip("numpy")
    hp = tuning.HyperParameters()
    hp.Float("lr", 1e-5, 1.0, sampling="log")
    hp.Int("units", 1, 8)
    hp.Int("wide", 2, 200, sampling="log")
    samples = [hp.sample(tuning.trial_rng(1, i)) for i in range(4000)]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    theirs = []
    for _ in range(4000):
        trial = study.ask()
        theirs.append(
            {
                "lr": trial.suggest_float("lr", 1e-5, 1.0, log=True),
                "units": trial.suggest_int("units", 1, 8),
                "wide": trial.suggest_int("wide", 2, 200, log=True),
            }
        )
        study.tell(trial, 0.0)
    # log-uniform floats: two-sample Kolmogorov-Smirnov distance of log10(lr)
    a = np.sort(np.log10([s["lr"] for s in samples]))
    b = np.sort(np.log10([s["lr"] for s in theirs]))
    grid = np.concatenate([a, b])
    ks = np.abs(
        np.searchsorted(a, grid, "right") / len(a) - np.searchsorted(b, grid, "right") / len(b)
    )
    assert ks.max() < 0.04  # the 1% critical value for n = m = 4000 is 0.036
    # integers: the same probability per value (chi-square-like bound on each frequency)
    for name, values in (("units", range(1, 9)), ("wide", (2, 3, 10, 100, 200))):
        for v in values:
            p = sum(s[name] == v for s in samples) / 4000
            q = sum(s[name] == v for s in theirs) / 4000
            assert abs(p - q) < 5 * math.sqrt(max(q, 1e-3) / 4000) + 1e-3, (name, v, p, q)


def test_learning_curve_matching_compares_with_the_best_completed_curves():
    rule = tuning.LearningCurveMatching(checkpoints=[2, 4], top_k=2, margin=0.05)
    completed = [
        [[1, 0.5], [2, 0.6], [3, 0.7], [4, 0.8]],
        [[1, 0.2], [2, 0.3], [3, 0.4], [4, 0.5]],
        [[1, 0.4], [2, 0.7], [3, 0.6], [4, 0.75]],
    ]
    ref = rule.reference(completed)
    assert [c[-1][1] for c in ref["curves"]] == [0.8, 0.75]  # the top 2 by final value
    # at step 2 the bound is min(0.6, 0.7) - 0.05 = 0.55 (best-so-far of each reference)
    assert not rule.should_stop([[1, 0.1], [2, 0.56]], ref)
    assert rule.should_stop([[1, 0.1], [2, 0.54]], ref)
    assert not rule.should_stop([[1, 0.0], [2, 0.0], [3, 0.0]], ref)  # 3 is no checkpoint
    assert not rule.should_stop([[1, 0.0], [2, 0.0]], rule.reference([]))


# -- the study, its store and its faults ------------------------------------------------------
def test_random_search_with_stopping_records_everything(tmp_path):
    study = _study(
        tmp_path,
        tuning.RandomSearch(n_trials=12, max_budget=6, seed=4),
        stopping=tuning.LearningCurveMatching(top_k=1, margin=0.0, min_completed=1),
    ).run()
    trials = study.trials
    assert len(trials) == 12 and {t.status for t in trials} <= {"complete", "pruned"}
    assert any(t.status == "pruned" for t in trials)
    best = max(trials, key=lambda t: t.params["x"])
    assert study.best_trial.number == best.number and best.status == "complete"
    for t in trials:
        assert t.curve[-1][1] == pytest.approx(t.value)
        if t.status == "pruned":
            assert t.step < 6
    # the same seed gives the same configurations
    again = _study(tmp_path / "b", tuning.RandomSearch(n_trials=12, max_budget=6, seed=4)).run()
    assert [t.params for t in again.trials] == [t.params for t in trials]
    # the store is real SQLite in WAL mode; exports hold every trial
    db = sqlite3.connect(tmp_path / "study.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 12
    study.export_csv(tmp_path / "t.csv")
    rows = (tmp_path / "t.csv").read_text().splitlines()
    assert rows[0] == "number,status,value,step,budget,n,x" and len(rows) == 13
    exported = json.loads(study.export_json(tmp_path / "t.json").read_text())
    assert len(exported["trials"]) == 12 and exported["trials"][0]["curve"]


def failing_objective(trial):
    if trial.params["n"] == 2:
        raise RuntimeError("diverged")
    if trial.params["n"] == 3:
        return math.nan
    return curve_objective(trial)


def test_objectives_that_raise_or_return_nan_fail_their_trial_only(tmp_path):
    study = _study(
        tmp_path, tuning.RandomSearch(n_trials=16, max_budget=2), objective=failing_objective
    )
    trials = study.run().trials
    for t in trials:
        expected = {2: "failed", 3: "failed"}.get(t.params["n"], "complete")
        assert t.status == expected
    assert "RuntimeError: diverged" in [t for t in trials if t.params["n"] == 2][0].error
    assert "returned nan" in [t for t in trials if t.params["n"] == 3][0].error


def test_a_database_of_another_study_is_refused(tmp_path):
    _study(tmp_path, tuning.RandomSearch(n_trials=2)).run()
    other = tuning.HyperParameters()
    other.Float("y", 0.0, 1.0)
    with pytest.raises(tuning.StoreError, match="different space"):
        _study(tmp_path, tuning.RandomSearch(n_trials=2), space=other)
    with pytest.raises(tuning.StoreError, match="different scheduler"):
        _study(tmp_path, tuning.RandomSearch(n_trials=3))
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE users (name TEXT)")
    with pytest.raises(tuning.StoreError, match="not a lapenna study store"):
        tuning.StudyStore(foreign, "s", "maximize", {}, {})
    (tmp_path / "text.db").write_text("hello")
    with pytest.raises(tuning.StoreError, match="not an SQLite database"):
        tuning.StudyStore(tmp_path / "text.db", "s", "maximize", {}, {})


def test_a_rerun_of_a_finished_study_runs_nothing_again(tmp_path):
    first = _study(tmp_path, tuning.Hyperband(max_budget=9)).run()
    before = [(t.number, t.status, t.curve) for t in first.trials]
    second = _study(tmp_path, tuning.Hyperband(max_budget=9)).run()
    assert [(t.number, t.status, t.curve) for t in second.trials] == before


def test_pbt_study_reports_the_winners_schedule(tmp_path):
    study = _study(
        tmp_path,
        tuning.PopulationBasedTraining(population=4, ready=2, max_budget=6, fraction=0.25, seed=1),
    ).run()
    trials = study.trials
    assert all(t.status == "complete" and t.step == 6 for t in trials)
    winner = study.best_trial
    assert winner.history[0]["step"] == 0
    assert [h["step"] for h in winner.history] == sorted(h["step"] for h in winner.history)
    assert any(h["from"] is not None for t in trials for h in t.history)


class _StuckScheduler(tuning.RandomSearch):
    def ask(self, view):
        return "wait"


def test_a_scheduler_waiting_on_nothing_is_an_error_not_a_hang(tmp_path):
    with pytest.raises(RuntimeError, match="waits for running trials, but study 'study' has none"):
        _study(tmp_path, _StuckScheduler(2)).run()

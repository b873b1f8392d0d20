"""Replays of searchers and stopping rules on a tabular benchmark of real learning curves.

``data/digits_mlp_curves.json`` holds 200 MLP configurations trained with lapenna for 20
epochs on the 8x8 digits, with the validation accuracy after every epoch (made by
``examples/tuning/make_digits_curves.py``). A replay draws 100 of them in an order fixed by
the repeat's seed; trial ``i`` of every method gets configuration ``i`` of that order (the
same trial seeds), and a trial "trains" by reading its curve. The replay runs the real
schedulers and stopping rules, serially (one worker), and counts the epochs each method
trains; a promoted trial resumes from its checkpoint, so it pays only the new epochs.

A trial's value is its validation accuracy at its last epoch; a method's result is the best
value among the trials it trained for the full 20 epochs.
"""

import json
import math
import random
from pathlib import Path

from lapenna.tuning.rules import LearningCurveMatching, MedianStopping
from lapenna.tuning.schedulers import ASHA, Hyperband, RandomSearch, hyperband_brackets
from lapenna.tuning.space import HyperParameters

DATA = Path(__file__).resolve().parent / "data" / "digits_mlp_curves.json"


def load_curves(path=DATA):
    """``(curves, document)``: one validation-accuracy list per configuration."""
    with open(path) as f:
        document = json.load(f)
    return [c["val_accuracy"] for c in document["configs"]], document


class _Record:
    def __init__(self, number, params, budget, rung, bracket, history):
        self.number, self.params, self.budget = number, params, budget
        self.rung, self.bracket, self.history = rung, bracket, list(history)
        self.status, self.value, self.step, self.curve, self.done = "queued", None, 0, [], 0


class _View:
    sign = 1.0

    def __init__(self):
        self.trials = []

    def score(self, record):
        return record.value if record.value is not None else -math.inf

    def new(self, params, budget, rung=0, bracket=0, history=()):
        self.trials.append(_Record(len(self.trials), params, budget, rung, bracket, history))

    def set(self, number, **fields):
        vars(self.trials[number]).update(fields)


def replay(scheduler, curves, order, stopping=None):
    """Run ``scheduler`` (and ``stopping``) on the curves; trial i reads ``curves[order[i]]``.

    Returns ``{"epochs", "best", "best_config", "trials"}``.
    """
    space = HyperParameters()
    space.Fixed("config", 0)
    scheduler.bind(space)
    view, epochs = _View(), 0
    while True:
        queued = [t for t in view.trials if t.status == "queued"]
        if not queued and scheduler.ask(view) == "done":
            break
        queued = [t for t in view.trials if t.status == "queued"]
        if not queued:
            raise RuntimeError(f"{type(scheduler).__name__} waits with nothing running")
        t = queued[0]
        if t.number >= len(order):
            raise ValueError(f"the replay has {len(order)} configurations, trial {t.number} asked")
        curve = curves[order[t.number]]
        reference = None
        if stopping is not None:
            done = [x.curve for x in view.trials if x.status == "complete"]
            reference = stopping.reference(done)
        result = {"status": "done"}
        for step in range(t.done + 1, t.budget + 1):
            t.curve.append([step, curve[step - 1]])
            epochs += 1
            if stopping is not None and stopping.should_stop(t.curve, reference):
                result = {"status": "pruned"}
                break
        t.done = t.step = t.curve[-1][0]
        t.value = t.curve[-1][1]
        t.status = scheduler.settle(t, result)
    full = [t for t in view.trials if t.step == len(curves[0]) and t.status == "complete"]
    best = max(full, key=lambda t: (t.value, -t.number))
    return {"epochs": epochs, "best": best.value, "best_config": order[best.number],
            "trials": len(view.trials)}  # fmt: skip


def optuna_replay(pruner, curves, order, n_trials=100):
    """The same replay with an Optuna pruner deciding (``trial.should_prune()``)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    epochs, results = 0, []
    for number in range(n_trials):
        trial, curve = study.ask(), curves[order[number]]
        pruned = False
        for step, value in enumerate(curve, start=1):
            trial.report(value, step)
            epochs += 1
            if trial.should_prune():
                pruned = True
                break
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, curve[-1])
            results.append((curve[-1], -number))
    value, negative = max(results)
    return {"epochs": epochs, "best": value, "best_config": order[-negative], "trials": n_trials}


def methods(epochs=20, n_trials=100):
    """The methods of the comparison: name -> ``(scheduler factory, stopping factory)``.

    Hyperband runs as many rounds of its brackets as fit in ``n_trials`` configurations.
    """
    per_round = sum(bracket[0][0] for bracket in hyperband_brackets(epochs, 3))
    rounds = max(1, n_trials // per_round)
    return {
        "random search": (lambda: RandomSearch(n_trials, epochs), None),
        "learning-curve matching": (
            lambda: RandomSearch(n_trials, epochs),
            lambda: LearningCurveMatching(
                checkpoints=[2, 5, 10], top_k=3, margin=0.02, min_completed=3
            ),
        ),  # fmt: skip
        "median stopping": (
            lambda: RandomSearch(n_trials, epochs),
            lambda: MedianStopping(n_startup_trials=5, n_warmup_steps=2),
        ),
        f"Hyperband (eta 3, {rounds} x {per_round} configurations)": (
            lambda: Hyperband(max_budget=epochs, eta=3, iterations=rounds),
            None,
        ),
        "ASHA (eta 3)": (lambda: ASHA(n_trials, min_budget=1, max_budget=epochs, eta=3), None),
    }


def compare(repeats=12, n_trials=100, optuna=True, path=DATA):
    """Every method on ``repeats`` draws of ``n_trials`` configurations; a table of rows
    ``{"method", "epochs", "epochs_ratio", "mean_best", "mean_gap", "same_optimum"}``."""
    curves, _ = load_curves(path)
    orders = [
        random.Random(f"replay:{r}").sample(range(len(curves)), n_trials) for r in range(repeats)
    ]
    runs = {}
    for name, (make_scheduler, make_rule) in methods(len(curves[0]), n_trials).items():
        runs[name] = [
            replay(make_scheduler(), curves, order, make_rule() if make_rule else None)
            for order in orders
        ]
    if optuna:
        import optuna as _optuna

        pruners = {
            "Optuna MedianPruner": lambda: _optuna.pruners.MedianPruner(
                n_startup_trials=5, n_warmup_steps=2
            ),
            "Optuna SuccessiveHalvingPruner": lambda: _optuna.pruners.SuccessiveHalvingPruner(
                min_resource=1, reduction_factor=3
            ),
        }
        for name, make in pruners.items():
            runs[name] = [optuna_replay(make(), curves, order, n_trials) for order in orders]
    baseline = runs["random search"]
    table = []
    for name, results in runs.items():
        gaps = [b["best"] - r["best"] for b, r in zip(baseline, results)]
        table.append({
            "method": name,
            "epochs": sum(r["epochs"] for r in results) / repeats,
            "epochs_ratio": sum(r["epochs"] for r in results) / sum(b["epochs"] for b in baseline),
            "mean_best": sum(r["best"] for r in results) / repeats,
            "mean_gap": sum(gaps) / repeats,
            "same_optimum": sum(g <= 1e-9 for g in gaps),
            "same_config": sum(
                b["best_config"] == r["best_config"] for b, r in zip(baseline, results)
            ),
            "repeats": repeats,
        })  # fmt: skip
    return table


def format_table(table):
    lines = [
        "| method | epochs per search | share of random search's | mean best accuracy | "
        "mean gap (points) | same best accuracy | same configuration |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table:
        lines.append(
            f"| {row['method']} | {row['epochs']:.0f} | {row['epochs_ratio']:.1%} | "
            f"{row['mean_best']:.4f} | {100 * row['mean_gap']:.2f} | "
            f"{row['same_optimum']} of {row['repeats']} | "
            f"{row['same_config']} of {row['repeats']} |"
        )
    return "\n".join(lines)

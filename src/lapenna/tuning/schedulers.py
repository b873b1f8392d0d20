"""Searchers and schedulers: which configuration runs next, for how long, and what is kept.

A scheduler is asked for work with ``ask(view)``, where ``view.trials`` are the study's
records (read from the database inside one transaction) and ``view.new(...)`` /
``view.set(number, ...)`` write to it. ``ask`` returns ``"new"`` after creating a trial,
``"queued"`` after queueing one (a promotion), ``"wait"`` while it needs running trials to
finish, or ``"done"``. Because every decision is a function of the database, a study
resumes after a crash and several tuner processes can share it.

Scores are oriented so that larger is better (the study negates a minimized objective).
Budgets are steps (epochs, usually); a trial paused at a budget resumes from its checkpoint.
"""

import math

from lapenna.tuning.space import trial_rng

LIVE = ("queued", "running")


def _check_positive_int(owner, name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner} expects {name} an int >= {minimum}, got {value!r}")


def score_at(record, step, sign=1.0):
    """The record's curve value at ``step`` (its last point at or before it), oriented."""
    points = [v for s, v in record.curve if s <= step]
    return sign * points[-1] if points else -math.inf


class Scheduler:
    """Base: random configurations seeded per trial number, every trial to ``max_budget``."""

    def __init__(self, max_budget=1, seed=0):
        _check_positive_int(type(self).__name__, "max_budget", max_budget)
        self.max_budget = max_budget
        self.seed = seed
        self.space = None

    def bind(self, space):
        space.check()
        self.space = space

    def sample(self, number):
        return self.space.sample(trial_rng(self.seed, number))

    def config(self):
        return {
            "name": type(self).__name__,
            **{k: v for k, v in vars(self).items() if k != "space"},
        }

    def settle(self, record, result):
        """The status of a trial after a run of it ended with ``result``."""
        if result["status"] != "done":
            return result["status"]
        return "complete" if record.budget >= self._final_budget(record) else "paused"

    def _final_budget(self, record):
        return self.max_budget

    @staticmethod
    def _any_live(view):
        return any(t.status in LIVE for t in view.trials)


class RandomSearch(Scheduler):
    """``n_trials`` configurations drawn at random, each trained to ``max_budget`` steps.

    Trial ``i`` draws from ``random.Random`` seeded with the study seed and ``i``, so the
    same seeds give the same configurations (a stopping rule compared with plain random
    search sees the same trials).
    """

    def __init__(self, n_trials=10, max_budget=1, seed=0):
        _check_positive_int("RandomSearch", "n_trials", n_trials)
        super().__init__(max_budget, seed)
        self.n_trials = n_trials

    def ask(self, view):
        if len(view.trials) < self.n_trials:
            view.new(self.sample(len(view.trials)), self.max_budget)
            return "new"
        return "wait" if self._any_live(view) else "done"


class GridSearch(Scheduler):
    """Every combination of the grid values (``Float`` needs a ``step``), in order."""

    def __init__(self, max_budget=1):
        super().__init__(max_budget, seed=0)

    def bind(self, space):
        super().bind(space)
        self._points = space.grid()

    def ask(self, view):
        if len(view.trials) < len(self._points):
            view.new(self._points[len(view.trials)], self.max_budget)
            return "new"
        return "wait" if self._any_live(view) else "done"


def hyperband_brackets(max_budget, eta=3, min_budget=1):
    """Li et al. (JMLR 2018), Algorithm 1: ``[[(n_i, r_i), ...] for s = s_max .. 0]``.

    With ``R = max_budget / min_budget``, ``s_max = floor(log_eta R)``; bracket ``s`` starts
    ``n = ceil((s_max + 1) / (s + 1) * eta^s)`` configurations with ``r = R eta^-s`` and
    keeps ``n_i = floor(n eta^-i)`` of them for ``r_i = r eta^i`` (times ``min_budget``,
    rounded to whole steps).
    """
    ratio = max_budget / min_budget
    s_max = 0
    while eta ** (s_max + 1) <= ratio * (1 + 1e-9):
        s_max += 1
    brackets = []
    for s in range(s_max, -1, -1):
        n = math.ceil((s_max + 1) / (s + 1) * eta**s - 1e-9)
        rungs = [
            (n // eta**i, max(1, round(min_budget * ratio * eta ** (i - s)))) for i in range(s + 1)
        ]
        brackets.append(rungs)
    return brackets


class _Brackets(Scheduler):
    """Synchronous successive halving over a list of brackets, run one after another (a
    worker left idle while a bracket waits for its rung starts the next bracket)."""

    def _brackets(self):
        raise NotImplementedError

    def _final_budget(self, record):
        return self._brackets()[record.bracket][-1][1]

    def settle(self, record, result):
        if result["status"] != "done":
            return result["status"]
        last = len(self._brackets()[record.bracket]) - 1
        return "complete" if record.rung >= last else "paused"

    def ask(self, view):
        waiting = False
        for b, rungs in enumerate(self._brackets()):
            answer = self._ask_bracket(view, b, rungs)
            if answer not in ("wait", "done"):
                return answer
            waiting |= answer == "wait"
        return "wait" if waiting else "done"

    def _ask_bracket(self, view, b, rungs):
        members = [t for t in view.trials if t.bracket == b]
        if len(members) < rungs[0][0]:
            view.new(self.sample(len(view.trials)), rungs[0][1], rung=0, bracket=b)
            return "new"
        for i in range(len(rungs) - 1):
            at = [t for t in members if t.rung == i]
            if any(t.status in LIVE for t in at):
                return "wait"
            ready = [t for t in at if t.status == "paused"]
            if ready:
                ready.sort(key=lambda t: (-view.score(t), t.number))
                keep = max(1, min(rungs[i + 1][0], len(ready)))
                for t in ready[:keep]:
                    view.set(t.number, status="queued", rung=i + 1, budget=rungs[i + 1][1])
                for t in ready[keep:]:
                    view.set(t.number, status="pruned")
                return "queued"
        return "wait" if any(t.status in LIVE for t in members) else "done"


class SuccessiveHalving(_Brackets):
    """Successive halving (Jamieson and Talwalkar, AISTATS 2016): ``n_trials``
    configurations at ``min_budget``; after each rung the top ``floor(n_i / eta)`` go on
    with ``eta`` times the budget, up to ``max_budget``."""

    def __init__(self, n_trials=27, min_budget=1, max_budget=27, eta=3, seed=0):
        _check_positive_int("SuccessiveHalving", "n_trials", n_trials)
        _check_positive_int("SuccessiveHalving", "min_budget", min_budget)
        _check_positive_int("SuccessiveHalving", "eta", eta, minimum=2)
        if max_budget < min_budget:
            raise ValueError(
                f"SuccessiveHalving expects max_budget >= min_budget, got {max_budget} < "
                f"{min_budget}"
            )
        super().__init__(max_budget, seed)
        self.n_trials, self.min_budget, self.eta = n_trials, min_budget, eta

    def _brackets(self):
        rungs, n, r = [], self.n_trials, self.min_budget
        while True:
            rungs.append((max(1, n), min(r, self.max_budget)))
            if r >= self.max_budget:
                return [rungs]
            n, r = n // self.eta, r * self.eta


class Hyperband(_Brackets):
    """Hyperband (Li et al., JMLR 2018): successive halving in ``s_max + 1`` brackets that
    trade the number of configurations against the budget each starts with.

    With ``max_budget=81, eta=3`` the brackets (``n@r``) are s=4: 81@1, 27@3, 9@9, 3@27,
    1@81; s=3: 34@3, 11@9, 3@27, 1@81; s=2: 15@9, 5@27, 1@81; s=1: 8@27, 2@81; s=0: 5@81.
    ``iterations`` repeats the whole set of brackets with new configurations.
    """

    def __init__(self, max_budget=81, eta=3, min_budget=1, iterations=1, seed=0):
        _check_positive_int("Hyperband", "eta", eta, minimum=2)
        _check_positive_int("Hyperband", "min_budget", min_budget)
        _check_positive_int("Hyperband", "iterations", iterations)
        if max_budget < min_budget:
            raise ValueError(
                f"Hyperband expects max_budget >= min_budget, got {max_budget} < {min_budget}"
            )
        super().__init__(max_budget, seed)
        self.eta, self.min_budget, self.iterations = eta, min_budget, iterations

    def _brackets(self):
        return hyperband_brackets(self.max_budget, self.eta, self.min_budget) * self.iterations


class ASHA(Scheduler):
    """Asynchronous successive halving (Li et al., MLSys 2020), for parallel workers.

    Rungs have budgets ``min_budget * eta^k`` (the last one ``max_budget``). Whenever a
    worker is free: from the top rung down, a trial that finished rung ``k`` and is among
    the best ``floor(m / eta)`` of the ``m`` trials that finished rung ``k`` so far is
    promoted to rung ``k + 1``; if none is, a new configuration starts at rung 0. No worker
    waits for a rung to fill. When ``n_trials`` have started and nothing runs, the trials
    left paused are stopped.
    """

    def __init__(self, n_trials=27, min_budget=1, max_budget=27, eta=3, seed=0):
        _check_positive_int("ASHA", "n_trials", n_trials)
        _check_positive_int("ASHA", "min_budget", min_budget)
        _check_positive_int("ASHA", "eta", eta, minimum=2)
        super().__init__(max_budget, seed)
        self.n_trials, self.min_budget, self.eta = n_trials, min_budget, eta

    def budgets(self):
        budgets, r = [], self.min_budget
        while r < self.max_budget:
            budgets.append(r)
            r *= self.eta
        return budgets + [self.max_budget]

    def settle(self, record, result):
        if result["status"] != "done":
            return result["status"]
        return "complete" if record.rung >= len(self.budgets()) - 1 else "paused"

    def ask(self, view):
        budgets = self.budgets()
        for k in range(len(budgets) - 2, -1, -1):
            done_k = [
                t for t in view.trials
                if t.status != "failed" and (t.rung > k or (t.rung == k and t.status == "paused"))
            ]  # fmt: skip
            top = sorted(done_k, key=lambda t: (-score_at(t, budgets[k], view.sign), t.number))
            for t in top[: len(done_k) // self.eta]:
                if t.rung == k and t.status == "paused":
                    view.set(t.number, status="queued", rung=k + 1, budget=budgets[k + 1])
                    return "queued"
        if len(view.trials) < self.n_trials:
            view.new(self.sample(len(view.trials)), budgets[0], rung=0)
            return "new"
        if self._any_live(view):
            return "wait"
        for t in view.trials:
            if t.status == "paused":
                view.set(t.number, status="pruned")
        return "done"


class PopulationBasedTraining(Scheduler):
    """Population based training (Jaderberg et al., 2017), in synchronous generations.

    ``population`` trials train ``ready`` steps at a time up to ``max_budget``. When every
    member has reached the same step, the members are ranked by their last value
    (truncation selection): each of the bottom ``ceil(fraction * population)`` copies the
    checkpoint (weights and optimizer state) and hyperparameters of a member of the top
    ``ceil(fraction * population)`` chosen at random (exploit), then perturbs every
    ``Int``/``Float`` by x0.8 or x1.2, or with probability ``resample_probability``
    resamples it (and every ``Choice``/``Boolean``) from the space (explore). Each member's
    ``history`` is its hyperparameter schedule: ``[{"step", "params", "from"}, ...]``.

    ``mutable`` names the hyperparameters explore may change (default: all but ``Fixed``);
    the others are copied from the donor. Restrict it to what applies to a model that is
    already built (``learning_rate``, ``batch_size``), not to its architecture.
    """

    def __init__(
        self, population=8, ready=2, max_budget=20, fraction=0.25, resample_probability=0.25,
        seed=0, mutable=None,
    ):  # fmt: skip
        _check_positive_int("PopulationBasedTraining", "population", population, minimum=2)
        _check_positive_int("PopulationBasedTraining", "ready", ready)
        if not 0 < fraction <= 0.5:
            raise ValueError(f"PopulationBasedTraining expects 0 < fraction <= 0.5, got {fraction}")
        if not 0 <= resample_probability <= 1:
            raise ValueError(
                "PopulationBasedTraining expects resample_probability in [0, 1], got "
                f"{resample_probability}"
            )
        super().__init__(max_budget, seed)
        self.population, self.ready, self.fraction = population, ready, fraction
        self.resample_probability = resample_probability
        self.mutable = None if mutable is None else sorted(mutable)

    def ask(self, view):
        if len(view.trials) < self.population:
            number = len(view.trials)
            params = self.sample(number)
            history = [{"step": 0, "params": params, "from": None}]
            view.new(params, min(self.ready, self.max_budget), history=history)
            return "new"
        if self._any_live(view):
            return "wait"
        alive = [t for t in view.trials if t.status == "paused"]
        if not alive:
            return "done"
        step = min(t.step for t in alive)
        ranked = sorted(alive, key=lambda t: (-view.score(t), t.number))
        cut = math.ceil(self.fraction * len(ranked))
        budget = min(step + self.ready, self.max_budget)
        if len(ranked) >= 2:
            for member in ranked[len(ranked) - cut :]:
                self._exploit(view, member, ranked[:cut], step)
        for member in ranked:
            view.set(member.number, status="queued", budget=budget)
        return "queued"

    def _exploit(self, view, member, top, step):
        rng = trial_rng(self.seed, f"pbt:{step}:{member.number}")
        donor = top[rng.randrange(len(top))]
        params = self.explore(donor.params, rng)
        history = donor.history + [{"step": step, "params": params, "from": donor.number}]
        view.copy_checkpoint(donor.number, member.number)
        view.set(member.number, params=params, history=history)

    def explore(self, params, rng):
        """Perturb (x0.8 or x1.2) or resample each hyperparameter of ``params``."""
        new = {}
        for param in self.space.space:
            if not param.is_active(new):
                continue
            value = params.get(param.name)
            if self.mutable is not None and param.name not in self.mutable and value is not None:
                new[param.name] = value
            elif param.kind == "Fixed":
                new[param.name] = param.spec["value"]
            elif value is None or rng.random() < self.resample_probability:
                new[param.name] = param.sample(rng)
            elif param.kind in ("Int", "Float"):
                new[param.name] = param.clip(value * (0.8 if rng.random() < 0.5 else 1.2))
            else:
                new[param.name] = value
        return new

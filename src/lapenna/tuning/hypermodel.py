"""The Keras Tuner way: ``build_model(hp)``, a callback inside ``fit``, and ``Tuner``.

Example:
    >>> import lapenna as lp
    >>> from lapenna import layers, tuning
    >>> def build_model(hp):
    ...     model = lp.Sequential([
    ...         layers.Input((4,)),
    ...         layers.Dense(hp.Int("units", 4, 32, sampling="log"), activation="relu"),
    ...         layers.Dense(3, activation="softmax"),
    ...     ])
    ...     lr = hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")
    ...     model.compile(lp.optimizers.Adam(lr), "sparse_categorical_crossentropy",
    ...                   metrics=["accuracy"])
    ...     return model
    >>> tuner = tuning.Tuner(build_model, objective="val_accuracy",
    ...                      scheduler=tuning.RandomSearch(n_trials=3), executor="inline",
    ...                      directory=None)  # doctest: +SKIP
    >>> tuner.search(x, y, epochs=5, validation_data=(xv, yv))  # doctest: +SKIP
    >>> best_hp = tuner.get_best_hyperparameters()[0]  # doctest: +SKIP
"""

import os
import tempfile
from pathlib import Path

from lapenna.backend import set_seed
from lapenna.callbacks import Callback
from lapenna.models import load_model
from lapenna.tuning.schedulers import RandomSearch
from lapenna.tuning.space import HyperParameters, discover
from lapenna.tuning.study import Study

MODEL_FILE = "model.lpn"


class ReportCallback(Callback):
    """Reports ``logs[monitor]`` after every epoch to the trial (step = epoch + 1), then
    saves the model (weights and optimizer state) in the trial's checkpoint folder.

    ``trial.report`` raises ``TrialPruned`` when the stopping rule stops the trial; the
    exception leaves ``fit`` and ends the trial.
    """

    def __init__(self, trial, monitor, save=True):
        super().__init__()
        self.trial, self.monitor, self.save = trial, monitor, save

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(
                f"the objective '{self.monitor}' is not in the epoch logs {sorted(logs)}; "
                "validation metrics need validation_data or validation_split"
            )
        self.trial.report(epoch + 1, logs[self.monitor])
        if self.save:
            path = self.trial.checkpoint_dir / MODEL_FILE
            tmp = path.with_name(MODEL_FILE + ".tmp.lpn")
            self.model.save(tmp)
            os.replace(tmp, path)
            self.trial.checkpoint(epoch + 1)


class HyperModelObjective:
    """An objective that builds a model with ``build_model(hp)`` and trains it with ``fit``.

    The trial's model is built from its hyperparameters (seeded with ``seed`` plus the
    trial number), or loaded from its checkpoint when the trial resumes or is promoted, and
    trained from ``trial.start_step`` to ``trial.budget`` epochs. A hyperparameter named
    ``batch_size`` sets ``fit``'s batch size; one named ``learning_rate`` is set on the
    optimizer of a resumed model too (population based training changes it). The value is
    ``logs[objective]`` of the last epoch. Picklable when ``build_model`` and the data are,
    so it runs on any executor.
    """

    def __init__(self, build_model, objective, fit_args=(), fit_kwargs=None, seed=0, space=None):
        self.build_model, self.monitor = build_model, objective
        self.fit_args, self.fit_kwargs = tuple(fit_args), dict(fit_kwargs or {})
        self.seed = seed
        self.space = space if space is not None else discover(build_model)

    def __call__(self, trial):
        path = trial.checkpoint_dir / MODEL_FILE
        set_seed(self.seed + trial.number)
        if trial.start_step > 0 and path.exists():
            model = load_model(path)
            if "learning_rate" in trial.params:  # PBT may have changed it since the save
                model.optimizer.learning_rate = trial.params["learning_rate"]
        else:
            trial.start_step = 0
            model = self.build_model(trial.hp)
        kwargs = {**self.fit_kwargs, "verbose": 0}
        if "batch_size" in trial.params:
            kwargs["batch_size"] = trial.params["batch_size"]
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), ReportCallback(trial, self.monitor)]
        if trial.start_step < trial.budget:
            model.fit(*self.fit_args, epochs=trial.budget, initial_epoch=trial.start_step, **kwargs)
        return trial.curve[-1][1]


class Tuner:
    """Keras Tuner's workflow on a lapenna ``Study``.

    Args:
        hypermodel: ``build_model(hp)`` returning a compiled model.
        objective: the epoch log to optimize (``"val_accuracy"``, ``"val_loss"``...);
            names with ``loss`` or ``error`` are minimized unless ``direction`` says.
        scheduler: a scheduler (default ``RandomSearch(n_trials=max_trials)``); its
            ``max_budget`` is overridden by ``search(epochs=...)`` for random and grid
            search.
        max_trials: trials of the default random search.
        stopping: a stopping rule, or None.
        directory, project_name: the study's database is ``directory/project_name.db``
            (a temporary folder when ``directory`` is None).
        executor, n_workers: where trials run (``"inline"`` by default here, since models
            built in a notebook often cannot be pickled).
        seed: seeds the configurations and the models' weights.
    """

    def __init__(
        self, hypermodel, objective="val_accuracy", scheduler=None, max_trials=10,
        stopping=None, directory="tuning", project_name="study", executor="inline",
        n_workers=None, seed=0, direction=None, verbose=1,
    ):  # fmt: skip
        self.hypermodel, self.objective = hypermodel, objective
        self.scheduler = scheduler or RandomSearch(n_trials=max_trials, seed=seed)
        self.stopping, self.executor, self.n_workers = stopping, executor, n_workers
        self.seed, self.verbose = seed, verbose
        if direction is None:
            lowered = objective.lower()
            direction = "minimize" if "loss" in lowered or "error" in lowered else "maximize"
        self.direction = direction
        directory = directory or tempfile.mkdtemp(prefix="lapenna-tuning-")
        self.storage = Path(directory) / f"{project_name}.db"
        self.project_name = project_name
        self.hyperparameters = discover(hypermodel)
        self.study = None

    def search_space_summary(self, print_fn=print):
        print_fn(f"Search space summary: {len(self.hyperparameters.space)} hyperparameters")
        for param in self.hyperparameters.space:
            print_fn(f"  {param.name} ({param.kind}): {param.spec}")

    def search(self, *fit_args, epochs=1, **fit_kwargs):
        """Run the study: each trial trains with ``fit(*fit_args, **fit_kwargs)``."""
        if (
            isinstance(self.scheduler, RandomSearch)
            or type(self.scheduler).__name__ == "GridSearch"
        ):
            self.scheduler.max_budget = epochs
        objective = HyperModelObjective(
            self.hypermodel, self.objective, fit_args, fit_kwargs, self.seed, self.hyperparameters
        )
        self.study = Study(
            objective, self.scheduler, storage=self.storage, name=self.project_name,
            direction=self.direction, stopping=self.stopping, executor=self.executor,
            n_workers=self.n_workers, verbose=self.verbose,
        )  # fmt: skip
        self.study.run()
        return self.study

    def _require_study(self):
        if self.study is None:
            raise RuntimeError("call search() first")
        return self.study

    def get_best_hyperparameters(self, num_trials=1):
        best = self._require_study().best_trials(num_trials)
        return [self.hyperparameters.copy_with(t.params) for t in best]

    def get_best_models(self, num_models=1):
        """The best trials' models, loaded from their checkpoints."""
        best = self._require_study().best_trials(num_models)
        return [load_model(Path(t.checkpoint) / MODEL_FILE) for t in best]

    def results_summary(self, num_trials=10, print_fn=print):
        study = self._require_study()
        print_fn(f"Results summary: {self.objective} ({self.direction})")
        for t in study.best_trials(num_trials):
            print_fn(f"  trial {t.number}: {t.value:.4f} after {t.step} epochs, {t.params}")


__all__ = ["HyperModelObjective", "ReportCallback", "Tuner", "HyperParameters"]

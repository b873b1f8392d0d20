"""``lapenna tune``: a hyperparameter search over a TOML search space, stored in SQLite.

The TOML file (every key optional except ``[space]``; command-line options override it)::

    model = "cnn"              # mlp, cnn (width = filters), a zoo name, or a .lpn file
    dataset = "mnist_sample"
    scheduler = "hyperband"    # random, grid, successive_halving, hyperband, asha, pbt
    max_epochs = 9
    eta = 3
    trials = 20                # random, successive_halving, asha; pbt: the population
    workers = 2
    stopping = "none"          # or "lcm", "median" (random and grid search)

    [space.learning_rate]
    type = "float"             # int, float, choice, boolean, fixed
    min = 1e-4
    max = 1e-2
    sampling = "log"

    [space.batch_size]
    type = "choice"
    values = [32, 64, 128]

Hyperparameters the models read: ``learning_rate`` (default 0.002), ``batch_size`` (32),
``optimizer`` (adam), ``width`` (mlp: units, cnn: filters of the first convolution; 32 and
8), ``depth`` (mlp layers, 1). Trials train on the training split less a validation part
(``validation_split``, 0.1) and are scored by ``val_accuracy``; the best trial's model is
then evaluated on the test split.
"""

import functools
import math
import tomllib
from pathlib import Path

import lapenna as lp
from lapenna import data, layers, optimizers, tuning
from lapenna.cli import common, sources, zoo
from lapenna.cli.errors import CommandError, UsageError
from lapenna.tuning import views
from lapenna.tuning.hypermodel import MODEL_FILE

SCHEDULERS = ("random", "grid", "successive_halving", "hyperband", "asha", "pbt")
OPTIMIZERS = {"adam": optimizers.Adam, "sgd": optimizers.SGD, "rmsprop": optimizers.RMSprop}
_KINDS = {
    "int": "Int",
    "float": "Float",
    "choice": "Choice",
    "boolean": "Boolean",
    "fixed": "Fixed",
}
DEFAULTS = {
    "model": "cnn", "dataset": "mnist_sample", "scheduler": "hyperband", "max_epochs": 9,
    "eta": 3, "trials": 20, "workers": 1, "executor": "process", "stopping": "none",
    "seed": 0, "validation_split": 0.1, "limit": None, "out": "runs/tune", "study": "tune",
}  # fmt: skip


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "tune",
        parents=parents,
        help="search hyperparameters (a TOML search space) and store every trial in SQLite",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1]
        + " Progress is one line per trial run; the study resumes when run again with the "
        "same --out (no finished trial reruns).",
    )
    arg = parser.add_argument
    arg("space", metavar="SPACE.toml", help="the search space and settings (see the README)")
    arg("--model", metavar="NAME|FILE", help="mlp, cnn, a zoo name or a .lpn file (cnn)")
    arg("--dataset", metavar="NAME|FOLDER", help="a built-in dataset or a folder (mnist_sample)")
    arg("--scheduler", choices=SCHEDULERS, help="default hyperband")
    arg("--max-epochs", type=common.positive_int, metavar="N", help="the largest budget (9)")
    arg("--trials", type=common.positive_int, metavar="N", help="configurations to try (20)")
    arg("--workers", type=common.positive_int, metavar="N", help="trials at once (1)")
    arg("--executor", choices=("process", "inline", "mpi"), help="default process")
    arg("--limit", type=common.positive_int, metavar="N", help="only N train and N test images")
    arg("--seed", type=int, metavar="N", help="seeds configurations and weights (0)")
    arg("--out", metavar="FOLDER", help="study folder: study.db, trials.csv, figures (runs/tune)")
    parser.set_defaults(run=run)


def run(args):
    options = _options(args)
    space = parse_space(options["space"])
    out = Path(options["out"])
    out.mkdir(parents=True, exist_ok=True)
    source = _Source(
        options["dataset"], options["limit"], options["seed"], options["validation_split"]
    )
    images = source.load()
    build = ModelBuilder(options["model"], images.image_shape, len(images.class_names))
    build(space.copy_with({}))  # a model that does not fit the data fails here, once
    objective = CliObjective(build, source, options["seed"], space)
    print(
        f"tune {options['model']} on {images.name}: {options['scheduler']} over "
        f"{', '.join(p.name for p in space.space)}; {options['workers']} worker(s) "
        f"({options['executor']}); study {out / 'study.db'}"
    )
    study = tuning.Study(
        objective, _scheduler(options), space=space, storage=out / "study.db",
        name=options["study"], stopping=_stopping(options["stopping"]),
        executor=options["executor"], n_workers=options["workers"],
    )  # fmt: skip
    study.run()
    return _finish(study, images, out)


def _options(args):
    path = Path(args.space)
    if not path.is_file():
        raise CommandError(f"search space file {path} does not exist")
    try:
        settings = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise UsageError(f"{path} is not valid TOML: {err}") from err
    if "space" not in settings or not isinstance(settings["space"], dict):
        raise UsageError(f"{path} has no [space] table: declare at least one hyperparameter")
    unknown = set(settings) - set(DEFAULTS) - {"space"}
    if unknown:
        raise UsageError(f"{path}: unknown settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    options = {**DEFAULTS, **settings}
    for key in DEFAULTS:
        given = getattr(args, key, None)
        if given is not None:
            options[key] = given
    if options["scheduler"] not in SCHEDULERS:
        raise UsageError(
            f"scheduler must be one of {', '.join(SCHEDULERS)}, got {options['scheduler']!r}"
        )
    return options


def parse_space(table):
    """``HyperParameters`` from the ``[space]`` table of the TOML file."""
    hp = tuning.HyperParameters()
    for name, spec in table.items():
        if not isinstance(spec, dict) or spec.get("type") not in _KINDS:
            raise UsageError(f"space.{name} needs type = one of {', '.join(_KINDS)}, got {spec!r}")
        kind, spec = _KINDS[spec["type"]], dict(spec)
        spec.pop("type")
        try:
            if kind in ("Int", "Float"):
                getattr(hp, kind)(
                    name, spec.pop("min"), spec.pop("max"), step=spec.pop("step", None),
                    sampling=spec.pop("sampling", "linear"), default=spec.pop("default", None),
                )  # fmt: skip
            elif kind == "Choice":
                hp.Choice(name, spec.pop("values"), default=spec.pop("default", None))
            elif kind == "Boolean":
                hp.Boolean(name, default=spec.pop("default", False))
            else:
                hp.Fixed(name, spec.pop("value"))
        except KeyError as err:
            raise UsageError(f"space.{name} ({spec.get('type', kind)}) needs {err}") from err
        except tuning.SearchSpaceError as err:
            raise UsageError(f"space.{name}: {err}") from err
        if spec:
            raise UsageError(f"space.{name}: unknown keys {sorted(spec)}")
    try:
        hp.check()
    except tuning.SearchSpaceError as err:
        raise UsageError(str(err)) from err
    return hp


def _scheduler(o):
    epochs, eta, trials, seed = o["max_epochs"], o["eta"], o["trials"], o["seed"]
    return {
        "random": lambda: tuning.RandomSearch(trials, epochs, seed=seed),
        "grid": lambda: tuning.GridSearch(epochs),
        "successive_halving": lambda: tuning.SuccessiveHalving(trials, 1, epochs, eta, seed),
        "hyperband": lambda: tuning.Hyperband(epochs, eta, seed=seed),
        "asha": lambda: tuning.ASHA(trials, 1, epochs, eta, seed),
        "pbt": lambda: tuning.PopulationBasedTraining(
            max(trials, 2), 1, epochs, seed=seed, mutable=("learning_rate", "batch_size")
        ),
    }[o["scheduler"]]()


def _stopping(name):
    rules = {
        "none": None,
        "lcm": tuning.LearningCurveMatching(top_k=3, margin=0.02, min_completed=3),
        "median": tuning.MedianStopping(),
    }
    if name not in rules:
        raise UsageError(f"stopping must be one of {', '.join(rules)}, got {name!r}")
    return rules[name]


class _Source:
    """The dataset, loaded once per process (workers load it themselves: no shared memory)."""

    def __init__(self, name, limit, seed, validation_split):
        self.name, self.limit, self.seed, self.validation_split = (
            name,
            limit,
            seed,
            validation_split,
        )

    def load(self):
        return _load(self.name, self.limit, self.seed)

    def splits(self):
        images = self.load()
        train, validation = data.split(
            (images.x_train, images.y_train), (1 - self.validation_split, self.validation_split),
            seed=self.seed,
        )  # fmt: skip
        return train, validation


@functools.cache
def _load(name, limit, seed):
    images = sources.load(name, seed=seed)
    if limit:
        images.limit(limit, seed)
    return images


class ModelBuilder:
    """``build_model(hp)`` for the command's model families (picklable)."""

    def __init__(self, model, image_shape, classes):
        self.model, self.image_shape, self.classes = model, tuple(image_shape), classes

    def __call__(self, hp):
        model = self._architecture(hp)
        name = hp.get("optimizer") if "optimizer" in hp else "adam"
        if name not in OPTIMIZERS:
            raise UsageError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
        lr = hp.get("learning_rate") if "learning_rate" in hp else 2e-3
        extra = {"momentum": 0.9} if name == "sgd" else {}
        model.compile(
            OPTIMIZERS[name](learning_rate=lr, **extra),
            common.classification_loss(model),
            metrics=["accuracy"],
        )
        return model

    def _architecture(self, hp):
        width = int(hp.get("width")) if "width" in hp else None
        if self.model == "mlp":
            model = lp.Sequential([layers.Input(self.image_shape), layers.Flatten()])
            for _ in range(int(hp.get("depth")) if "depth" in hp else 1):
                model.add(layers.Dense(width or 32, activation="relu"))
            model.add(layers.Dense(self.classes, activation="softmax"))
            return model
        if self.model == "cnn":
            w = width or 8
            return lp.Sequential([
                layers.Input(self.image_shape),
                layers.Conv2D(w, 5, padding="same", activation="relu"),
                layers.MaxPooling2D(2),
                layers.Conv2D(2 * w, 5, activation="relu"),
                layers.MaxPooling2D(2),
                layers.Flatten(),
                layers.Dense(8 * w, activation="relu"),
                layers.Dense(self.classes, activation="softmax"),
            ])  # fmt: skip
        if zoo.is_zoo_name(self.model):
            return zoo.build(self.model, self.image_shape, self.classes)
        return common.load_model_file(self.model)


class CliObjective(tuning.HyperModelObjective):
    """``HyperModelObjective`` whose data is loaded in the worker that runs the trial."""

    def __init__(self, build, source, seed, space):
        super().__init__(build, "val_accuracy", seed=seed, space=space)
        self.source = source

    def __call__(self, trial):
        train, validation = self.source.splits()
        self.fit_args = train
        self.fit_kwargs = {"validation_data": validation, "validation_batch_size": 256}
        return super().__call__(trial)

    def __getstate__(self):
        state = dict(vars(self))
        state.update(fit_args=(), fit_kwargs={})
        return state


def _finish(study, images, out):
    best = study.best_trial
    if best is None:
        raise CommandError(f"no trial finished; see {out / 'trials.csv'}")
    study.export_csv(out / "trials.csv")
    study.export_json(out / "trials.json")
    model = lp.models.load_model(Path(best.checkpoint) / MODEL_FILE)
    _, accuracy = model.evaluate(images.x_test, images.y_test, batch_size=256, verbose=0)
    epochs = sum(t.step for t in study.trials)
    print(
        f"best trial {best.number}: val_accuracy {best.value:.4f} after {best.step} epochs, "
        f"{best.params}"
    )
    if len(best.history) > 1:  # population based training: the winner's schedule
        for entry in best.history:
            origin = "" if entry["from"] is None else f" (copied from trial {entry['from']})"
            print(f"  from epoch {entry['step']}: {entry['params']}{origin}")
    print(
        f"test accuracy of the best trial: {accuracy:.4f} ({len(images.x_test):,} test images); "
        f"{len(study.trials)} trials, {epochs} epochs trained"
    )
    _views(study, out)
    print(f"study folder: {out}")
    return 0 if math.isfinite(accuracy) else 1


def _views(study, out):
    try:
        views.plot_curves(study, out / "curves.png", metric="val_accuracy")
        views.plot_parallel_coordinates(study, out / "parallel.png", metric="val_accuracy")
    except ImportError as err:
        print(f"no figures: {err}")
    try:
        views.write_hparams(study, out / "hparams", metric="val_accuracy")
    except ImportError as err:
        print(f"no HParams logs: {err}")

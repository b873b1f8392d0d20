"""The run folder of ``lapenna train``: its files, its saved options, and resuming.

A run folder holds ``run.json`` (the options the run was started with), ``best.lpn``,
``history.csv``, ``learning_curves.png``, ``confusion_matrix.png``, ``logs/`` (TensorBoard),
``class_names.json`` and, once finished, ``results.json``. While training, ``backup/``
holds the latest backup of the whole training state; it is removed when training ends.
"""

import csv
import json
import math
import time
from pathlib import Path

from lapenna.cli.errors import CommandError, UsageError

# the options of a run, with their defaults; None means "required" or "decided later"
DEFAULTS = {
    "model": None,
    "dataset": None,
    "epochs": 10,
    "batch_size": 32,
    "optimizer": "adam",
    "lr": None,
    "schedule": "cosine",
    "augment": False,
    "validation_split": 0.1,
    "seed": 0,
    "input_shape": None,
    "limit": None,
    "backup_every": 100,
}
# what may change when a run is resumed (more epochs continue the same training)
RESUMABLE_CHANGES = {"epochs"}


class RunFolder:
    """Paths of the files in one run folder."""

    def __init__(self, path):
        self.path = Path(path)
        self.options_file = self.path / "run.json"
        self.best = self.path / "best.lpn"
        self.history = self.path / "history.csv"
        self.curves = self.path / "learning_curves.png"
        self.confusion = self.path / "confusion_matrix.png"
        self.logs = self.path / "logs"
        self.backup_dir = self.path / "backup"
        self.backup = self.backup_dir / "backup.lpn"
        self.results = self.path / "results.json"

    def saved_options(self):
        if not self.options_file.is_file():
            return None
        try:
            options = json.loads(self.options_file.read_text())
        except (ValueError, OSError) as err:
            raise CommandError(f"{self.options_file} cannot be read: {err}") from err
        if not isinstance(options, dict):
            raise CommandError(f"{self.options_file} does not hold the options of a run")
        return options

    def save_options(self, options):
        self.path.mkdir(parents=True, exist_ok=True)
        self.options_file.write_text(json.dumps(options, indent=1) + "\n")

    def save_results(self, results):
        self.results.write_text(json.dumps(results, indent=1) + "\n")


def default_out():
    """``runs/<date>-<time>``, with a suffix if that folder exists already."""
    base = Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    path, count = base, 1
    while path.exists():
        count += 1
        path = base.with_name(f"{base.name}-{count}")
    return path


def resolve_options(given, out, resume):
    """The options of the run in ``out``: the command line's, or the saved ones on resume.

    Args:
        given: the options from the command line (None where not given).
        out: the run folder.
        resume: whether ``--resume`` was given.

    Returns:
        A complete dict of options.

    Raises:
        CommandError: a run exists and ``--resume`` is missing, or there is nothing to
            resume.
        UsageError: an option given with ``--resume`` differs from the saved run's, or
            ``--model``/``--dataset`` are missing.
    """
    folder = RunFolder(out)
    saved = folder.saved_options()
    if not resume:
        if saved is not None or folder.backup.exists():
            raise CommandError(
                f"{out} already holds a run: pass --resume to continue it, or choose another --out"
            )
        options = {key: given.get(key, default) for key, default in DEFAULTS.items()}
        options = {key: DEFAULTS[key] if value is None else value for key, value in options.items()}
        for key in ("model", "dataset"):
            if options[key] is None:
                raise UsageError(f"train needs --{key}")
        return options
    if saved is None:
        raise CommandError(
            f"nothing to resume in {out}: it holds no run.json (start a run with --out {out})"
        )
    if folder.results.exists():
        raise CommandError(f"the run in {out} has finished already; there is nothing to resume")
    options = {**DEFAULTS, **saved}
    for key, value in given.items():
        if value is None or key not in DEFAULTS or value == options[key]:
            continue
        if key not in RESUMABLE_CHANGES:
            raise UsageError(
                f"--resume continues the run as it was started: --{key.replace('_', '-')} was "
                f"{options[key]!r}, not {value!r} (only --epochs may change)"
            )
        options[key] = value
    return options


def read_history(path, rewrite=True):
    """The rows of ``history.csv`` as ``{column: [floats]}``, keeping the last row of each
    epoch (a resumed epoch is written again), sorted by epoch; also rewrites the file so
    unless ``rewrite`` is false (a data-parallel rank other than 0, which never writes)."""
    if not Path(path).is_file():
        return {}
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    by_epoch = {}
    for row in rows:
        try:
            by_epoch[int(row["epoch"])] = row
        except (KeyError, TypeError, ValueError):
            continue
    ordered = [by_epoch[e] for e in sorted(by_epoch)]
    if not ordered:
        return {}
    columns = list(ordered[0])
    if not rewrite:
        return {column: [_number(row.get(column)) for row in ordered] for column in columns}
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(ordered)
    return {column: [_number(row.get(column)) for row in ordered] for column in columns}


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def best_value(history, monitor):
    """The highest finite value of ``monitor`` in a history, or None."""
    values = [v for v in history.get(monitor, []) if math.isfinite(v)]
    return max(values) if values else None

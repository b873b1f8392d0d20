"""The study store: every trial of every study in one SQLite database.

SQLite in WAL mode (``synchronous=NORMAL``): a committed transaction is in the database
file's write-ahead log, so a tuner killed with SIGKILL loses nothing it recorded (only an
operating-system crash or a power cut can lose the last transactions), and several tuner
processes can share a study (each claims trials inside a ``BEGIN IMMEDIATE`` transaction,
so two never take the same one).

Tables:

- ``meta(key, value)``: ``schema = lapenna.tuning/1`` marks a lapenna store.
- ``studies(name, direction, space, scheduler, created)``: the search space and the
  scheduler's settings as JSON; reopening a study with other settings is refused.
- ``trials(study, number, params, status, step, budget, rung, bracket, value, checkpoint,
  error, attempts, owner, heartbeat, history, updated)``: one row per trial.
- ``curves(study, number, step, value)``: the learning curves.

Trial statuses: ``queued`` (to run, or to resume from its checkpoint), ``running``,
``paused`` (reached its budget; the scheduler decides what next), ``complete``,
``pruned`` (stopped by a rule or not promoted), ``failed``.
"""

import csv
import json
import os
import socket
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

SCHEMA = "lapenna.tuning/1"
FINISHED = ("complete", "pruned", "failed")
_COLUMNS = (
    "number", "params", "status", "step", "budget", "rung", "bracket", "value", "checkpoint",
    "error", "attempts", "owner", "heartbeat", "history",
)  # fmt: skip

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY, direction TEXT NOT NULL, space TEXT NOT NULL,
    scheduler TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    study TEXT NOT NULL, number INTEGER NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0, budget INTEGER NOT NULL, rung INTEGER NOT NULL DEFAULT 0,
    bracket INTEGER NOT NULL DEFAULT 0, value REAL, checkpoint TEXT, error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, owner TEXT, heartbeat REAL,
    history TEXT NOT NULL DEFAULT '[]', updated REAL NOT NULL,
    PRIMARY KEY (study, number));
CREATE TABLE IF NOT EXISTS curves (
    study TEXT NOT NULL, number INTEGER NOT NULL, step INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (study, number, step));
"""


class StoreError(ValueError):
    """A database that is not a lapenna study store, or holds a different study."""


class TrialRecord:
    """One row of ``trials`` as attributes (``params`` and ``history`` decoded)."""

    def __init__(self, row, curve=None):
        for key, value in zip(_COLUMNS, row):
            setattr(self, key, value)
        self.params = json.loads(self.params)
        self.history = json.loads(self.history)
        self.curve = curve or []

    def __repr__(self):
        return f"TrialRecord({self.number}, {self.status}, step {self.step}, value {self.value})"


def owner_id():
    return f"{socket.gethostname()}:{os.getpid()}"


def _path_of(url):
    """A path or a ``sqlite:///path`` URL -> a path."""
    text = str(url)
    if text.startswith("sqlite:///"):
        return text[len("sqlite:///") :]
    if "://" in text:
        raise StoreError(f"the study store takes a path or a sqlite:/// URL, got {text!r}")
    return text


class StudyStore:
    """A study in an SQLite database.

    Args:
        url: a file path or ``sqlite:///path`` (created when absent).
        study: the study's name; several studies may share one database.
        direction: ``"maximize"`` or ``"minimize"``.
        space: the search space's config (``HyperParameters.get_config()``).
        scheduler: the scheduler's config (a JSON-safe dict).

    Raises:
        StoreError: the file is not an SQLite database or not a lapenna store, or the study
            exists with another direction, space or scheduler.
    """

    def __init__(self, url, study, direction, space, scheduler):
        self.path = Path(_path_of(url))
        self.study = study
        if self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, "rb") as f:
                if f.read(16) != b"SQLite format 3\x00":
                    raise StoreError(f"{self.path} is not an SQLite database")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._open(direction, space, scheduler)

    def _open(self, direction, space, scheduler):
        with self.transaction() as db:
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if names and "meta" not in names:
                raise StoreError(
                    f"{self.path} is an SQLite database of something else (tables "
                    f"{sorted(names)}), not a lapenna study store"
                )
            if not names:
                for statement in _TABLES.split(";"):
                    if statement.strip():
                        db.execute(statement)
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
            elif row[0] != SCHEMA:
                raise StoreError(f"{self.path} has store schema {row[0]!r}, expected {SCHEMA!r}")
            settings = (
                direction,
                json.dumps(space, sort_keys=True),
                json.dumps(scheduler, sort_keys=True),
            )
            row = db.execute(
                "SELECT direction, space, scheduler FROM studies WHERE name=?", (self.study,)
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO studies VALUES (?, ?, ?, ?, ?)",
                    (self.study, *settings, time.time()),
                )
            elif tuple(row) != settings:
                names = ("direction", "space", "scheduler")
                what = [name for name, a, b in zip(names, row, settings) if a != b]
                raise StoreError(
                    f"{self.path} holds a study '{self.study}' with a different "
                    f"{' and '.join(what)} (stored {row[names.index(what[0])][:200]}, "
                    f"given {settings[names.index(what[0])][:200]}); use another study "
                    "name or database"
                )

    @contextmanager
    def transaction(self):
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on an exception)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self):
        self._db.close()

    # -- reading -------------------------------------------------------------------------------
    def trials(self, with_curves=True):
        rows = self._db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM trials WHERE study=? ORDER BY number", (self.study,)
        ).fetchall()
        curves = {}
        if with_curves:
            for number, step, value in self._db.execute(
                "SELECT number, step, value FROM curves WHERE study=? ORDER BY number, step",
                (self.study,),
            ):
                curves.setdefault(number, []).append([step, value])
        return [TrialRecord(row, curves.get(row[0], [])) for row in rows]

    # -- writing (inside a transaction) ------------------------------------------------------
    def insert(self, db, number, params, budget, rung=0, bracket=0, checkpoint=None, history=()):
        db.execute(
            "INSERT INTO trials (study, number, params, status, budget, rung, bracket, "
            "checkpoint, history, updated) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
            (self.study, number, json.dumps(params), budget, rung, bracket, checkpoint,
             json.dumps(list(history)), time.time()),
        )  # fmt: skip

    def update(self, db, number, **fields):
        for key in ("params", "history"):
            if key in fields:
                fields[key] = json.dumps(fields[key])
        fields["updated"] = time.time()
        sets = ", ".join(f"{key}=?" for key in fields)
        db.execute(
            f"UPDATE trials SET {sets} WHERE study=? AND number=?",
            (*fields.values(), self.study, number),
        )

    def write_curve(self, db, number, curve):
        db.execute("DELETE FROM curves WHERE study=? AND number=?", (self.study, number))
        db.executemany(
            "INSERT INTO curves VALUES (?, ?, ?, ?)",
            [(self.study, number, int(step), float(value)) for step, value in curve],
        )

    # -- export ------------------------------------------------------------------------------
    def export_json(self, path):
        """Every trial with its curve and hyperparameter history, as one JSON file."""
        trials = [
            {
                key: getattr(t, key)
                for key in (*_COLUMNS, "curve")
                if key not in ("owner", "heartbeat")
            }
            for t in self.trials()
        ]
        with open(path, "w") as f:
            json.dump({"study": self.study, "trials": trials}, f, indent=1)
        return path

    def export_csv(self, path):
        """One row per trial: number, status, value, step, budget, then one column per
        hyperparameter."""
        trials = self.trials(with_curves=False)
        names = sorted({name for t in trials for name in t.params})
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["number", "status", "value", "step", "budget", *names])
            for t in trials:
                writer.writerow(
                    [
                        t.number,
                        t.status,
                        t.value,
                        t.step,
                        t.budget,
                        *(t.params.get(n, "") for n in names),
                    ]
                )
        return path

"""Hyperparameter search: search spaces, searchers and schedulers, stopping rules,
executors, and a study store in SQLite that survives a crash.

>>> from lapenna import tuning
>>> [[f"{n}@{r}" for n, r in bracket] for bracket in tuning.hyperband_brackets(81, 3)][1]
['34@3', '11@9', '3@27', '1@81']
"""

from lapenna.tuning.executors import InProcessExecutor
from lapenna.tuning.hypermodel import HyperModelObjective, ReportCallback, Tuner
from lapenna.tuning.rules import LearningCurveMatching, MedianStopping, StoppingRule
from lapenna.tuning.schedulers import (
    ASHA,
    GridSearch,
    Hyperband,
    PopulationBasedTraining,
    RandomSearch,
    Scheduler,
    SuccessiveHalving,
    hyperband_brackets,
)
from lapenna.tuning.space import HyperParameters, Param, SearchSpaceError, discover, trial_rng
from lapenna.tuning.store import StoreError, StudyStore
from lapenna.tuning.study import Study
from lapenna.tuning.trial import Trial, TrialPruned

__all__ = [
    "HyperParameters",
    "Param",
    "SearchSpaceError",
    "discover",
    "trial_rng",
    "Scheduler",
    "RandomSearch",
    "GridSearch",
    "SuccessiveHalving",
    "Hyperband",
    "ASHA",
    "PopulationBasedTraining",
    "hyperband_brackets",
    "StoppingRule",
    "LearningCurveMatching",
    "MedianStopping",
    "Study",
    "StudyStore",
    "StoreError",
    "Trial",
    "TrialPruned",
    "InProcessExecutor",
    "HyperModelObjective",
    "ReportCallback",
    "Tuner",
]

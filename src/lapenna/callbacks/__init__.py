"""Training-loop hooks: progress bars, history, early stopping, checkpoints, logs, LR control.

``fit``, ``evaluate`` and ``predict`` call the hooks of every ``Callback`` they are given
(see ``Callback`` for the protocol). ``History`` is always attached and returned by
``fit``; ``ProgbarLogger`` is attached when ``verbose`` is not 0.

Example:
    >>> import lapenna as lp
    >>> callbacks = [
    ...     lp.callbacks.EarlyStopping(patience=5, restore_best_weights=True),
    ...     lp.callbacks.CSVLogger("training.csv"),
    ... ]
    >>> # history = model.fit(x, y, validation_split=0.2, epochs=100, callbacks=callbacks)
"""

from lapenna.callbacks.backup import BackupAndRestore
from lapenna.callbacks.base import Callback
from lapenna.callbacks.callback_list import CallbackList
from lapenna.callbacks.csv_logger import CSVLogger
from lapenna.callbacks.early_stopping import EarlyStopping
from lapenna.callbacks.history import History
from lapenna.callbacks.lambda_callback import LambdaCallback
from lapenna.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from lapenna.callbacks.model_checkpoint import ModelCheckpoint
from lapenna.callbacks.position import FitPosition
from lapenna.callbacks.progbar import Progbar, ProgbarLogger, resolve_verbose
from lapenna.callbacks.sample_grid import SampleGrid
from lapenna.callbacks.tensorboard import EventFileWriter, TensorBoard
from lapenna.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "ProgbarLogger",
    "Progbar",
    "resolve_verbose",
    "EarlyStopping",
    "ModelCheckpoint",
    "BackupAndRestore",
    "FitPosition",
    "CSVLogger",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
    "LambdaCallback",
    "TensorBoard",
    "EventFileWriter",
    "SampleGrid",
]

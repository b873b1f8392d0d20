"""``ModelCheckpoint``: save the model (or its weights) during training."""

import math
import os
import warnings

from lapenna.callbacks.base import Callback
from lapenna.callbacks.monitor import (
    is_better,
    monitored_value,
    resolve_mode,
    weights_are_finite,
)


class ModelCheckpoint(Callback):
    """Save the model at the end of every epoch (or every ``save_freq`` batches).

    ``filepath`` may hold placeholders filled from the epoch (numbered from 1, as Keras
    prints it), the batch (from 1, for batch-level saving) and the logs, e.g.
    ``"ckpt/model-{epoch:02d}-{val_loss:.2f}.lpn"``.

    A state that is not finite is never saved: when the logged ``loss`` (or the
    monitored value) is NaN or infinite, or a weight holds NaN or inf, the save is
    skipped with a warning, so the file on disk stays the last good one (this is what
    makes ``TerminateOnNaN`` safe next to a checkpoint). Each write goes through
    ``model.save``/``model.save_weights``, which write a temporary file and rename it.

    Args:
        filepath: where to save; a directory part is created when missing.
        monitor: the log name compared when ``save_best_only``.
        verbose: 1 prints a line at every save (and every skipped best-only save).
        save_best_only: save only when ``monitor`` beats the best value so far (with a
            fixed ``filepath`` the file always holds the best model).
        save_weights_only: call ``model.save_weights`` instead of ``model.save``.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (from the monitored name).
        save_freq: ``"epoch"``, or an integer number of batches between saves (counted
            across epochs; the batch logs hold the running training means only).
        initial_value_threshold: a best-only save needs to beat this value first.

    Raises:
        ValueError: for an unknown ``save_freq`` or ``mode``.

    Example:
        >>> checkpoint = ModelCheckpoint("best.lpn", monitor="val_accuracy", save_best_only=True)
        >>> checkpoint.mode
        'max'
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__()
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1
        ):
            raise ValueError(
                f"ModelCheckpoint expects save_freq 'epoch' or a number of batches >= 1, "
                f"got {save_freq!r}"
            )
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = resolve_mode("ModelCheckpoint", monitor, mode)
        self.save_freq = save_freq
        self.best = None if initial_value_threshold is None else float(initial_value_threshold)
        self.last_saved = None
        self._epoch = 0
        self._batches_since_save = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def format_path(self, epoch, batch=None, logs=None):
        """The file name for ``epoch`` (from 0) and ``batch``, with its placeholders filled.

        Raises:
            KeyError: when a placeholder names something not in the logs.
        """
        fields = dict(logs or {})
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as err:
            raise KeyError(
                f"ModelCheckpoint cannot fill the file path '{self.filepath}': {err} is not "
                f"among the available names {sorted(fields)}"
            ) from None

    def _save(self, epoch, batch, logs):
        logs = logs or {}
        where = f"Epoch {epoch + 1}" + ("" if batch is None else f", batch {batch + 1}")
        if not self._finite_state(logs, where):
            return
        if self.save_best_only:
            current = monitored_value("ModelCheckpoint", logs, self.monitor)
            if current is None:
                return
            if not is_better(self.mode, current, self.best):
                if self.verbose > 0:
                    print(f"{where}: {self.monitor} did not improve on {_show(self.best)}")
                return
            message = f"{self.monitor} improved from {_show(self.best)} to {current:.5f}"
            self.best = current
        else:
            message = "saving"
        path = self.format_path(epoch, batch, logs)
        self._write(path)
        if self.verbose > 0:
            print(f"{where}: {message}, model saved to {path}")

    def _finite_state(self, logs, where):
        names = ["loss"] + ([self.monitor] if self.save_best_only else [])
        bad = [n for n in names if n in logs and not math.isfinite(float(logs[n]))]
        if not bad and weights_are_finite(self.model.get_weights()):
            return True
        what = f"{bad[0]} is {logs[bad[0]]}" if bad else "the weights hold NaN or inf"
        warnings.warn(
            f"ModelCheckpoint: {where}: {what}; not saving, the last checkpoint is kept",
            stacklevel=3,
        )
        return False

    def _write(self, path):
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.last_saved = path


def _show(value):
    return "none yet" if value is None else f"{value:.5f}"

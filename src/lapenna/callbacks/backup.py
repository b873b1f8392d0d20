"""``BackupAndRestore``: survive a crash and resume bit-identically."""

import os
from pathlib import Path

from lapenna import io
from lapenna.callbacks.base import Callback
from lapenna.callbacks.monitor import weights_are_finite


class BackupAndRestore(Callback):
    """Back up the whole training state, and restore it when a run starts again.

    A backup holds the weights, the optimizer's slots and step count, and the model's
    :class:`~lapenna.callbacks.FitPosition`: the epoch and the batch inside it, the running
    sums of the epoch's logs, the metrics' state, and every random stream's state (at the
    epoch's start, so the pipeline's shuffle and augmentation are drawn again identically,
    and at the batch, so dropout continues). ``fit`` called again with
    the same callback after a crash (even a SIGKILL mid-epoch) continues from the last
    backup and ends with weights bitwise equal to a run that was never interrupted. Each
    backup is written to a temporary file and renamed, so a crash while saving leaves the
    previous one intact; a state with NaN or infinite weights is never saved.

    Args:
        backup_dir: the folder for the backup file (``backup.lpn``).
        save_freq: ``"epoch"`` to back up after every epoch, or an int to back up every
            that many batches.
        delete_checkpoint: remove the backup when training finishes normally.

    Example:
        >>> import lapenna as lp
        >>> backup = lp.callbacks.BackupAndRestore("runs/backup", save_freq=100)
        >>> # model.fit(x, y, epochs=10, callbacks=[backup])  # run again after a crash
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if save_freq != "epoch" and (not isinstance(save_freq, int) or save_freq <= 0):
            raise ValueError(
                f"BackupAndRestore save_freq must be 'epoch' or a positive int, got {save_freq!r}"
            )
        self.backup_dir = Path(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.path = self.backup_dir / "backup.lpn"
        self.restored = None

    def on_train_begin(self, logs=None):
        self._batches = 0
        self.restored = None
        if not self.path.exists():
            return
        extra = io.load_checkpoint(self.model, self.path)
        self.restored = extra
        position = extra.get("fit_position")
        if position is None:  # a backup without a position: resume at its epoch
            position = {"epoch": extra.get("epoch", 0), "step": extra.get("step", 0)}
        try:
            self.model.fit_position.restore(position)
        except ValueError as err:
            raise io.FormatError(f"{self.path}: bad training position: {err}") from None

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._save(self.model.fit_position.state())

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(self.model.fit_position.next_epoch_state())

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        if self.path.exists():
            os.remove(self.path)
        # a run killed while saving leaves the writer's temporary file: remove it too
        for stale in self.backup_dir.glob(f".{self.path.name}.*.tmp"):
            stale.unlink(missing_ok=True)

    def _save(self, position):
        if not weights_are_finite(self.model.get_weights()):
            return
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        io.save_checkpoint(
            self.model,
            self.path,
            epoch=position["epoch"],
            step=position["step"],
            extra={"fit_position": position},
        )

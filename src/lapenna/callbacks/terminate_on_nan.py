"""``TerminateOnNaN``: stop at the batch whose loss is NaN or infinite."""

import math

from lapenna.callbacks.base import Callback


class TerminateOnNaN(Callback):
    """Stop training at the batch where the loss becomes NaN or infinite.

    The batch logs hold the running mean of the epoch's loss, which turns NaN or
    infinite at the very batch whose loss does. The model then holds the weights that
    batch's update produced, so they are not worth keeping: ``ModelCheckpoint`` refuses
    to save a non-finite state, and the file it wrote last stays on disk untouched.

    Attributes:
        stopped_epoch: the epoch (from 0) of the bad batch, ``None`` if none came.
        stopped_batch: the batch (from 0, within its epoch), ``None`` if none came.

    Example:
        >>> guard = TerminateOnNaN()
        >>> # model.fit(x, y, callbacks=[guard, ModelCheckpoint("last_good.lpn")])
    """

    def __init__(self):
        super().__init__()
        self.stopped_epoch = None
        self.stopped_batch = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self.stopped_epoch = None
        self.stopped_batch = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)) or self.stopped_batch is not None:
            return
        self.stopped_epoch = self._epoch
        self.stopped_batch = batch
        print(f"Epoch {self._epoch + 1}, batch {batch}: the loss is {loss}, stopping training")
        self.model.stop_training = True

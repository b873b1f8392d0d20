"""``EarlyStopping``: stop training when a monitored quantity stops improving."""

from lapenna.callbacks.base import Callback
from lapenna.callbacks.monitor import copy_weights, is_better, monitored_value, resolve_mode


class EarlyStopping(Callback):
    """Stop training once ``monitor`` has not improved for ``patience`` epochs.

    Each epoch counts as waiting; an epoch that beats the best value by more than
    ``min_delta`` resets the count (and, with ``baseline``, only if it also beats the
    baseline). Training stops at the end of the epoch where the count reaches
    ``patience`` (never after the first epoch). The semantics follow Keras's.

    Args:
        monitor: the log name to watch, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        min_delta: the smallest change that counts as an improvement (its sign is ignored).
        patience: epochs without improvement before stopping.
        verbose: 1 prints a line when stopping and when restoring weights.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (from the name: accuracies are maximised,
            losses and errors minimised).
        baseline: a value the monitored quantity must beat; until it does, training
            stops after ``patience`` epochs even if it keeps improving.
        restore_best_weights: at the end of training (stopped early or not) set the
            model's weights to those of the best epoch, exactly.
        start_from_epoch: epochs to ignore at the start (warm-up).

    Attributes:
        stopped_epoch: the epoch (from 0) at which training was stopped, 0 if it was not.
        best: the best monitored value seen; ``best_epoch`` its epoch.

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
        >>> # model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[stop])
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__()
        if patience < 0 or start_from_epoch < 0:
            raise ValueError(
                "EarlyStopping expects patience >= 0 and start_from_epoch >= 0, got "
                f"patience={patience!r}, start_from_epoch={start_from_epoch!r}"
            )
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = resolve_mode("EarlyStopping", monitor, mode)
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = monitored_value("EarlyStopping", logs, self.monitor)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # until something beats them, the first watched epoch's weights are the best
            self._keep_weights(epoch)
        self.wait += 1
        if is_better(self.mode, current, self.best, self.min_delta):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self._keep_weights(epoch)
            if self.baseline is None or is_better(
                self.mode, current, self.baseline, self.min_delta
            ):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def _keep_weights(self, epoch):
        self.best_weights = copy_weights(self.model.get_weights())
        self.best_epoch = epoch

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring the weights from the end of epoch {self.best_epoch + 1}")
            self.model.set_weights(self.best_weights)

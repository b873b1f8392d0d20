"""Learning-rate control between epochs: ``LearningRateScheduler`` and ``ReduceLROnPlateau``."""

import inspect
import math
import numbers

from lapenna.callbacks.base import Callback
from lapenna.callbacks.monitor import is_better, monitored_value, resolve_mode


def _learning_rate(model, who):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f"{who} needs a compiled model whose optimizer has a learning_rate")
    return float(optimizer.learning_rate)


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch from a function.

    Args:
        schedule: ``schedule(epoch, lr) -> new_lr`` with ``epoch`` from 0 and ``lr`` the
            current rate (a one-argument ``schedule(epoch)`` works too).
        verbose: 1 prints the rate set at each epoch.

    Raises:
        ValueError: at an epoch whose scheduled rate is not a finite number >= 0.

    Example:
        >>> def step_decay(epoch, lr):
        ...     return lr * 0.1 if epoch in (30, 60, 90) else lr
        >>> scheduler = LearningRateScheduler(step_decay)
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler expects a callable, got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose
        self._takes_lr = _accepts_two_arguments(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        lr = _learning_rate(self.model, "LearningRateScheduler")
        new_lr = self.schedule(epoch, lr) if self._takes_lr else self.schedule(epoch)
        if isinstance(new_lr, bool) or not isinstance(new_lr, numbers.Real):
            raise ValueError(
                f"LearningRateScheduler: the schedule must return a float, got {new_lr!r} "
                f"at epoch {epoch}"
            )
        if not math.isfinite(new_lr) or new_lr < 0:
            raise ValueError(
                f"LearningRateScheduler: the schedule returned {new_lr!r} at epoch {epoch}; "
                "expected a finite rate >= 0"
            )
        self.model.optimizer.learning_rate = float(new_lr)
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler sets the learning rate to {new_lr}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rate(self.model, "LearningRateScheduler")


def _accepts_two_arguments(function):
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    variadic = any(p.kind == p.VAR_POSITIONAL for p in params)
    return variadic or len(positional) >= 2


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving.

    An epoch improves when it beats the best value by more than ``min_delta``. After
    ``patience`` epochs without improvement the rate becomes ``max(lr * factor, min_lr)``
    and the next ``cooldown`` epochs are not counted. Semantics as in Keras.

    Args:
        monitor: the log name to watch.
        factor: the multiplier, in (0, 1).
        patience: epochs without improvement before reducing.
        verbose: 1 prints a line at each reduction.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (from the monitored name).
        min_delta: the smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the rate is never reduced below this.

    Raises:
        ValueError: for ``factor`` outside (0, 1) or a negative patience, cooldown or
            ``min_lr``.

    Example:
        >>> reduce = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3, min_lr=1e-5)
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
    ):
        super().__init__()
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau expects 0 < factor < 1, got {factor!r}")
        if patience < 0 or cooldown < 0 or min_lr < 0:
            raise ValueError(
                "ReduceLROnPlateau expects patience, cooldown and min_lr >= 0, got "
                f"patience={patience!r}, cooldown={cooldown!r}, min_lr={min_lr!r}"
            )
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = resolve_mode("ReduceLROnPlateau", monitor, mode)
        self.min_delta = abs(float(min_delta))
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self._reset()

    def _reset(self):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        logs["learning_rate"] = _learning_rate(self.model, "ReduceLROnPlateau")
        current = monitored_value("ReduceLROnPlateau", logs, self.monitor)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if is_better(self.mode, current, self.best, self.min_delta):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch, logs["learning_rate"])

    def _reduce(self, epoch, lr):
        if lr <= self.min_lr:
            return
        new_lr = max(lr * self.factor, self.min_lr)
        self.model.optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: ReduceLROnPlateau reduces the learning rate to {new_lr}")
        self.cooldown_counter = self.cooldown
        self.wait = 0

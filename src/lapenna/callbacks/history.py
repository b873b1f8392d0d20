"""``History``: the per-epoch record that ``fit`` returns."""

import contextlib

from lapenna.callbacks.base import Callback


class History(Callback):
    """Record every epoch's logs; ``fit`` always attaches one and returns it.

    Attributes:
        history: dict from a log name (``"loss"``, ``"val_loss"``, ``"accuracy"``,
            ``"learning_rate"``...) to the list of its values, one per epoch.
        epoch: the list of epoch indices seen (from 0).
        params: the ``fit`` parameters (``epochs``, ``steps``, ``verbose``).
        model: the trained model.

    Example:
        >>> history = History()
        >>> history.on_train_begin()
        >>> for epoch, loss in enumerate([0.9, 0.5]):
        ...     history.on_epoch_end(epoch, {"loss": loss})
        >>> history.history["loss"], history.epoch
        ([0.9, 0.5], [0, 1])
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        if self.model is not None:
            # Keras users reach the last run's record as ``model.history``
            with contextlib.suppress(AttributeError):
                self.model.history = self

    def __repr__(self):
        names = ", ".join(self.history)
        return f"<History epochs={len(self.epoch)} logs=[{names}]>"

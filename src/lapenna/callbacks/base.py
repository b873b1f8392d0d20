"""``Callback``: the hooks a training loop calls, and the protocol it follows."""


class Callback:
    """Base class of the objects that ``fit``, ``evaluate`` and ``predict`` call at each step.

    Subclass it and override the hooks you need; every hook does nothing by default.

    The protocol (what the training loop promises):

    - Before the loop starts, ``set_model(model)`` and ``set_params(params)`` with
      ``params = {"epochs": int, "steps": int or None, "verbose": 0, 1 or 2}``
      (``steps`` is the number of batches per epoch, ``None`` when unknown).
      ``evaluate`` and ``predict`` use ``epochs=1`` and their own number of batches.
    - ``fit`` calls ``on_train_begin(logs)``, then per epoch ``on_epoch_begin(epoch, logs)``,
      per batch ``on_train_batch_begin(batch, logs)`` and ``on_train_batch_end(batch, logs)``,
      and ``on_epoch_end(epoch, logs)``; at the end ``on_train_end(logs)``. Epochs and
      batches count from 0.
    - ``logs`` is a dict of Python floats. After a batch it holds the running means over the
      epoch so far: ``"loss"`` and one entry per metric name. At the end of an epoch it
      holds the epoch means, ``"val_loss"`` and ``"val_<metric>"`` when validating, and
      ``"learning_rate"``. A callback may add entries; later callbacks see them.
    - ``evaluate`` (and the validation inside ``fit``) calls ``on_test_begin(logs)``,
      ``on_test_batch_begin/end(batch, logs)`` and ``on_test_end(logs)``; ``predict`` calls
      the ``on_predict_*`` hooks the same way.
    - The model is reached duck-typed: ``model.stop_training`` (read after every batch
      and epoch; set it to ``True`` to stop), ``get_weights()``/``set_weights(arrays)``,
      ``save(path)``, ``save_weights(path)``, ``model.optimizer.learning_rate`` (a float
      that can be read and assigned), ``model.optimizer.iterations`` (int),
      ``model.trainable_weights`` (Variables with ``.name``, ``.path`` and ``.numpy()``)
      and ``model.name``.

    Attributes:
        model: the model being trained (``None`` until ``set_model``).
        params: the dict given to ``set_params``.

    Example:
        >>> import time
        >>> class EpochTimer(Callback):
        ...     def on_epoch_begin(self, epoch, logs=None):
        ...         self.start = time.perf_counter()
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         logs["seconds"] = time.perf_counter() - self.start
        >>> timer = EpochTimer()
        >>> timer.on_epoch_begin(0)
        >>> logs = {"loss": 0.5}
        >>> timer.on_epoch_end(0, logs)
        >>> sorted(logs)
        ['loss', 'seconds']
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = dict(params)

    def on_train_begin(self, logs=None):
        """Called once when ``fit`` starts."""

    def on_train_end(self, logs=None):
        """Called once when ``fit`` ends (also after an early stop) with the last logs."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of epoch ``epoch`` (from 0)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch with the epoch's training and validation results."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before training batch ``batch`` (from 0 within the epoch)."""
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after a training batch with the running epoch means so far."""
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch, logs=None):
        """Keras's older name for ``on_train_batch_begin``."""

    def on_batch_end(self, batch, logs=None):
        """Keras's older name for ``on_train_batch_end``."""

    def on_test_begin(self, logs=None):
        """Called when ``evaluate`` (or the validation pass of ``fit``) starts."""

    def on_test_end(self, logs=None):
        """Called when an evaluation ends, with its results (names without ``val_``)."""

    def on_test_batch_begin(self, batch, logs=None):
        """Called before an evaluation batch."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after an evaluation batch with the running means so far."""

    def on_predict_begin(self, logs=None):
        """Called when ``predict`` starts."""

    def on_predict_end(self, logs=None):
        """Called when ``predict`` ends."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before a prediction batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after a prediction batch."""

"""``CallbackList``: the callbacks of one ``fit``, ``evaluate`` or ``predict``, as one."""

from lapenna.callbacks.base import Callback
from lapenna.callbacks.history import History
from lapenna.callbacks.progbar import ProgbarLogger


class CallbackList:
    """Call every hook on every callback, in order.

    All callbacks of one hook call share the same ``logs`` dict (a copy of the caller's),
    so a value one callback adds (such as ``"learning_rate"``) reaches the callbacks
    after it. The ``History`` and the progress bar are added last, so they see
    everything the user's callbacks added.

    Args:
        callbacks: a list of ``Callback`` instances (or one, or ``None``).
        add_history: append a ``History`` unless the list already holds one.
        add_progbar: append a ``ProgbarLogger`` unless the list already holds one
            (``fit`` passes ``add_progbar=verbose != 0``).
        model: the model, given to every callback's ``set_model``.
        **params: ``epochs``, ``steps`` and ``verbose``, given to ``set_params``.

    Raises:
        TypeError: when an entry is not a ``Callback``.

    Example:
        >>> cbs = CallbackList([], epochs=1, steps=2, verbose=0)
        >>> cbs.on_train_begin()
        >>> cbs.on_epoch_begin(0)
        >>> cbs.on_epoch_end(0, {"loss": 0.25})
        >>> cbs.on_train_end()
        >>> cbs.history.history
        {'loss': [0.25]}
    """

    def __init__(self, callbacks=None, add_history=True, add_progbar=False, model=None, **params):
        self.model = None
        self.params = {}
        self.callbacks = []
        if isinstance(callbacks, Callback):
            callbacks = [callbacks]
        for callback in callbacks or []:
            self.append(callback)
        if add_history and self.history is None:
            self.append(History())
        if add_progbar and self.progbar is None:
            self.append(ProgbarLogger())
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback):
        """Add a callback at the end, giving it the list's model and params."""
        if not isinstance(callback, Callback):
            raise TypeError(
                f"CallbackList expects Callback instances, got {type(callback).__name__} "
                f"{callback!r}"
            )
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        if self.params:
            callback.set_params(self.params)

    @property
    def history(self):
        """The list's ``History`` (what ``fit`` returns), or ``None``."""
        return next((cb for cb in self.callbacks if isinstance(cb, History)), None)

    @property
    def progbar(self):
        """The list's ``ProgbarLogger``, or ``None``."""
        return next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)

    def set_model(self, model):
        self.model = model
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        self.params = dict(params)
        for callback in self.callbacks:
            callback.set_params(self.params)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def _call(self, hook, args, logs):
        logs = {} if logs is None else dict(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(*args, logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", (), logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", (), logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", (epoch,), logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", (epoch,), logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", (batch,), logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", (batch,), logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", (), logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", (), logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", (batch,), logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", (batch,), logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", (), logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", (), logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", (batch,), logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", (batch,), logs)

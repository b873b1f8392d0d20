"""``LambdaCallback``: a callback made of plain functions."""

from lapenna.callbacks.base import Callback

_STEP_HOOKS = (
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)
_LOOP_HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_test_begin",
    "on_test_end",
    "on_predict_begin",
    "on_predict_end",
)


_ALIASES = {"on_batch_begin": "on_train_batch_begin", "on_batch_end": "on_train_batch_end"}


class LambdaCallback(Callback):
    """Build a callback from functions, one per hook.

    Epoch hooks get ``(epoch, logs)``, batch hooks ``(batch, logs)`` and the begin/end
    hooks of a whole run ``(logs)``. ``on_batch_begin``/``on_batch_end`` are accepted as
    Keras's older names for the training-batch hooks.

    Args:
        on_epoch_begin, on_epoch_end, on_train_begin, on_train_end, on_train_batch_begin,
        on_train_batch_end: functions for those hooks (``None`` does nothing).
        **hooks: functions for any other hook (``on_test_begin``,
            ``on_predict_batch_end``...).

    Raises:
        TypeError: for an unknown hook name or a value that is not callable.

    Example:
        >>> losses = []
        >>> record = LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
        >>> record.on_epoch_end(0, {"loss": 0.5})
        >>> losses
        [0.5]
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **hooks,
    ):
        super().__init__()
        given = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            on_train_batch_begin=on_train_batch_begin,
            on_train_batch_end=on_train_batch_end,
        )
        for name, function in hooks.items():
            name = _ALIASES.get(name, name)
            if given.get(name) is not None and function is not None:
                raise TypeError(f"LambdaCallback got two functions for {name}")
            given[name] = function if function is not None else given.get(name)
        for name, function in given.items():
            self._attach(name, function)

    def _attach(self, name, function):
        if name not in _STEP_HOOKS + _LOOP_HOOKS:
            raise TypeError(
                f"LambdaCallback got an unknown hook '{name}'; known hooks: "
                f"{', '.join(_LOOP_HOOKS + _STEP_HOOKS)}"
            )
        if function is None:
            return
        if not callable(function):
            raise TypeError(f"LambdaCallback expects a function for {name}, got {function!r}")
        if name in _STEP_HOOKS:
            setattr(self, name, lambda step, logs=None: function(step, logs))
        else:
            setattr(self, name, lambda logs=None: function(logs))

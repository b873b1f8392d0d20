"""The Callback base, CallbackList, History and LambdaCallback."""

import io

import pytest

import lapenna as lp
from callback_driver import FakeModel, drive_fit
from lapenna.callbacks import (
    Callback,
    CallbackList,
    History,
    LambdaCallback,
    ProgbarLogger,
    resolve_verbose,
)


class Recorder(Callback):
    """Writes down every hook call."""

    def __init__(self, calls):
        super().__init__()
        self.calls = calls

    def __getattribute__(self, name):
        if name.startswith("on_"):
            calls = object.__getattribute__(self, "calls")
            return lambda *args: calls.append((name, *args[:-1]))
        return object.__getattribute__(self, name)


def test_hooks_run_in_fit_order():
    calls = []
    drive_fit(FakeModel(), [Recorder(calls)], epochs=2, steps=2)
    names = [c[0] for c in calls]
    assert names[0] == "on_train_begin" and names[-1] == "on_train_end"
    epoch = [
        "on_epoch_begin",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_test_begin",
        "on_test_batch_begin",
        "on_test_batch_end",
        "on_test_batch_begin",
        "on_test_batch_end",
        "on_test_end",
        "on_epoch_end",
    ]
    assert names[1:-1] == epoch * 2
    assert ("on_epoch_end", 1) in calls and ("on_train_batch_end", 1) in calls


def test_history_records_every_epoch():
    model = FakeModel()
    history = drive_fit(model, epochs=3, steps=2)
    assert isinstance(history, History)
    assert history.epoch == [0, 1, 2]
    assert sorted(history.history) == [
        "accuracy",
        "learning_rate",
        "loss",
        "val_accuracy",
        "val_loss",
    ]
    assert history.history["val_loss"] == pytest.approx([1.2, 0.6, 0.4])
    assert history.history["loss"][0] == pytest.approx((1.0 + 1 / 1.1) / 2)
    assert history.params == {"epochs": 3, "steps": 2, "verbose": 0}
    assert history.model is model and model.history is history


def test_callback_list_adds_defaults_once_and_keeps_them_last():
    mine = Callback()
    cbs = CallbackList([mine], add_progbar=True, epochs=1, steps=1, verbose=0)
    assert cbs.callbacks[0] is mine
    assert isinstance(cbs.callbacks[1], History) and isinstance(cbs.callbacks[2], ProgbarLogger)
    history, progbar = History(), ProgbarLogger()
    cbs = CallbackList([history, progbar], add_history=True, add_progbar=True)
    assert len(cbs) == 2 and cbs.history is history and cbs.progbar is progbar
    assert CallbackList(add_history=False).history is None


def test_callback_list_passes_model_and_params_and_rejects_non_callbacks():
    model = FakeModel()
    mine = Callback()
    cbs = CallbackList([mine], model=model, epochs=2, steps=5, verbose=0)
    assert mine.model is model and mine.params == {"epochs": 2, "steps": 5, "verbose": 0}
    late = Callback()
    cbs.append(late)
    assert late.model is model and late.params["steps"] == 5
    with pytest.raises(TypeError, match="CallbackList expects Callback instances, got function"):
        CallbackList([lambda: None])


def test_logs_are_shared_along_the_list_but_not_written_back():
    def add(epoch, logs):
        logs["extra"] = 1.0

    seen = []
    cbs = CallbackList(
        [LambdaCallback(on_epoch_end=add), LambdaCallback(on_epoch_end=lambda e, l: seen.append(l))]
    )
    caller_logs = {"loss": 0.5}
    cbs.on_epoch_end(0, caller_logs)
    assert seen == [{"loss": 0.5, "extra": 1.0}]
    assert caller_logs == {"loss": 0.5}
    assert cbs.history.history["extra"] == [1.0]


def test_batch_aliases_of_the_base_class():
    class Old(Callback):
        def __init__(self):
            super().__init__()
            self.ends = []

        def on_batch_end(self, batch, logs=None):
            self.ends.append(batch)

    old = Old()
    drive_fit(FakeModel(), [old], epochs=2, steps=3, val_loss=None)
    assert old.ends == [0, 1, 2, 0, 1, 2]


def test_lambda_callback_hooks_and_errors():
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append("begin"),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch", epoch, logs["loss"])),
        on_batch_end=lambda batch, logs: calls.append(("batch", batch)),
        on_test_end=lambda logs: calls.append("test"),
    )
    drive_fit(FakeModel(), [cb], epochs=1, steps=2, loss=lambda e, b: 0.5)
    assert calls == ["begin", ("batch", 0), ("batch", 1), "test", ("epoch", 0, 0.5)]
    with pytest.raises(TypeError, match="unknown hook 'on_epoch_middle'"):
        LambdaCallback(on_epoch_middle=print)
    with pytest.raises(TypeError, match="expects a function for on_epoch_end"):
        LambdaCallback(on_epoch_end=3)
    with pytest.raises(TypeError, match="two functions for on_train_batch_end"):
        LambdaCallback(on_train_batch_end=print, on_batch_end=print)


def test_resolve_verbose():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert resolve_verbose("auto", file=Terminal()) == 1
    assert resolve_verbose("auto", file=io.StringIO()) == 2
    assert [resolve_verbose(v) for v in (0, 1, 2, True, False)] == [0, 1, 2, 1, 0]
    for bad in (3, -1, "yes", 1.5, None):
        with pytest.raises(ValueError, match="verbose expects one of"):
            resolve_verbose(bad)


def test_package_is_exposed():
    assert lp.callbacks.EarlyStopping is not None and lp.plot.learning_curves is not None

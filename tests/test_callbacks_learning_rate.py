"""LearningRateScheduler and ReduceLROnPlateau change the rate at the right epochs."""

import pytest

from callback_driver import FakeModel, drive_fit
from lapenna.callbacks import LambdaCallback, LearningRateScheduler, ReduceLROnPlateau


def rates_seen(callbacks, epochs, hook="on_epoch_begin", **kwargs):
    """The optimizer's rate at each epoch's ``hook``, read after the callbacks under test."""
    model = FakeModel(learning_rate=0.1)
    seen = []
    watch = LambdaCallback(**{hook: lambda epoch, logs: seen.append(model.optimizer.learning_rate)})
    history = drive_fit(model, [*callbacks, watch], epochs=epochs, steps=2, **kwargs)
    return model, seen, history


def test_scheduler_steps_the_rate_like_the_course():
    def step_decay(epoch, lr):
        return lr * 0.1 if epoch in (2, 4) else lr

    model, seen, history = rates_seen([LearningRateScheduler(step_decay)], epochs=6)
    assert seen == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    assert history.history["learning_rate"] == pytest.approx(seen)
    assert model.optimizer.learning_rate == pytest.approx(0.001)


def test_scheduler_with_a_one_argument_schedule_and_verbose(capsys):
    table = [0.5, 0.25, 0.125]
    _, seen, _ = rates_seen([LearningRateScheduler(lambda epoch: table[epoch], verbose=1)], 3)
    assert seen == table
    assert (
        "Epoch 3: LearningRateScheduler sets the learning rate to 0.125" in capsys.readouterr().out
    )


@pytest.mark.parametrize("bad", ["0.1", None, float("nan"), -1.0])
def test_scheduler_rejects_bad_rates(bad):
    with pytest.raises(ValueError, match="LearningRateScheduler: the schedule"):
        rates_seen([LearningRateScheduler(lambda epoch, lr: bad)], 2)


def test_reduce_on_plateau_with_patience_cooldown_and_floor(capsys):
    values = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.85, 0.85, 0.85, 0.85]
    reduce = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.03, verbose=1)
    model, after, history = rates_seen(
        [reduce], len(values), hook="on_epoch_end", val_loss=lambda epoch: values[epoch]
    )
    # epoch 3: two flat epochs -> 0.05; epoch 4 is cooldown; epoch 5 -> max(0.025, 0.03)
    assert after == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.03, 0.03, 0.03, 0.03, 0.03])
    # the logs hold the rate each epoch was trained with
    assert history.history["learning_rate"] == pytest.approx([0.1] * 4 + [0.05] * 2 + [0.03] * 4)
    assert model.optimizer.learning_rate == pytest.approx(0.03)
    assert "Epoch 4: ReduceLROnPlateau reduces the learning rate to 0.05" in capsys.readouterr().out


def test_reduce_on_plateau_min_delta_and_max_mode():
    values = [1.0, 0.99995, 0.99992, 0.99991]  # steps below min_delta=1e-4 are plateaus
    _, after, _ = rates_seen(
        [ReduceLROnPlateau(patience=3, factor=0.1)], 4, "on_epoch_end", val_loss=lambda e: values[e]
    )
    assert after == pytest.approx([0.1, 0.1, 0.1, 0.01])
    accuracies = [0.5, 0.6, 0.6, 0.7]
    reduce = ReduceLROnPlateau(monitor="val_accuracy", patience=1, factor=0.5)
    _, after, _ = rates_seen([reduce], 4, "on_epoch_end", accuracy=lambda e, b: accuracies[e])
    assert reduce.mode == "max"
    assert after == pytest.approx([0.1, 0.1, 0.05, 0.05])


def test_reduce_on_plateau_arguments():
    for factor in (1.0, 0.0, 2.0):
        with pytest.raises(ValueError, match="0 < factor < 1"):
            ReduceLROnPlateau(factor=factor)
    with pytest.raises(ValueError, match="min_lr >= 0"):
        ReduceLROnPlateau(min_lr=-1)

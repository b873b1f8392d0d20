"""EarlyStopping on noisy validation curves; the expected epochs were worked out by hand."""

import numpy as np
import pytest

from callback_driver import FakeModel, drive_fit
from lapenna.callbacks import EarlyStopping, LambdaCallback

NOISY = [1.00, 0.80, 0.85, 0.70, 0.74, 0.72, 0.69, 0.71, 0.73, 0.75, 0.60]


def run(stopper, values=NOISY, monitor_accuracy=None):
    """Train on a scripted validation curve; return (epochs run, weights at each epoch end)."""
    model = FakeModel()
    snapshots = []
    keep = LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append([w.copy() for w in model.get_weights()])
    )
    accuracy = monitor_accuracy or (lambda epoch, batch: 0.5)
    history = drive_fit(
        model,
        [keep, stopper],
        epochs=len(values),
        steps=3,
        val_loss=lambda epoch: values[epoch],
        accuracy=accuracy,
    )
    return model, history, snapshots


def assert_weights_equal(model, expected):
    for live, want in zip(model.get_weights(), expected, strict=True):
        assert live.dtype == want.dtype and np.array_equal(live, want)


@pytest.mark.parametrize(
    "kwargs, stopped_epoch, best_epoch",
    [
        ({"patience": 2}, 5, 3),  # 0.74 and 0.72 do not beat 0.70
        ({"patience": 3}, 9, 6),  # 0.69 resets the wait; three worse epochs follow
        ({"patience": 3, "min_delta": 0.02}, 6, 3),  # 0.69 is not 0.02 below 0.70
        ({"patience": 1, "start_from_epoch": 4}, 7, 6),  # epochs 0-3 are not watched
        ({"patience": 2, "baseline": 0.75}, 2, 1),  # improving above the baseline counts
    ],
)
def test_stops_at_the_right_epoch(kwargs, stopped_epoch, best_epoch):
    stopper = EarlyStopping(monitor="val_loss", restore_best_weights=True, **kwargs)
    model, history, snapshots = run(stopper)
    assert stopper.stopped_epoch == stopped_epoch
    assert history.epoch == list(range(stopped_epoch + 1))
    assert stopper.best_epoch == best_epoch
    assert stopper.best == pytest.approx(NOISY[best_epoch])
    assert_weights_equal(model, snapshots[best_epoch])
    # the weights really moved after the best epoch, so restoring was needed
    assert not np.array_equal(snapshots[-1][0], snapshots[best_epoch][0])


def test_without_restore_the_last_weights_stay():
    model, _, snapshots = run(EarlyStopping(patience=2))
    assert_weights_equal(model, snapshots[5])


def test_restores_when_training_ends_by_itself():
    values = [1.0, 0.9, 0.8, 0.85, 0.9]
    stopper = EarlyStopping(patience=10, restore_best_weights=True)
    model, history, snapshots = run(stopper, values)
    assert stopper.stopped_epoch == 0 and len(history.epoch) == 5
    assert_weights_equal(model, snapshots[2])


def test_maximises_accuracy_in_auto_mode():
    accuracies = [0.5, 0.6, 0.55, 0.58, 0.59, 0.7]
    stopper = EarlyStopping(monitor="val_accuracy", patience=2, restore_best_weights=True)
    model, _, snapshots = run(
        stopper, [1.0] * 6, monitor_accuracy=lambda epoch, batch: accuracies[epoch]
    )
    assert stopper.mode == "max"
    assert stopper.stopped_epoch == 3 and stopper.best_epoch == 1
    assert_weights_equal(model, snapshots[1])


def test_patience_zero_stops_at_the_first_worse_epoch_and_prints(capsys):
    stopper = EarlyStopping(patience=0, verbose=1, restore_best_weights=True)
    run(stopper, [1.0, 1.1, 0.5])
    assert stopper.stopped_epoch == 1
    out = capsys.readouterr().out
    assert "Epoch 2: early stopping" in out and "epoch 1" in out


def test_missing_monitor_warns_and_does_nothing():
    stopper = EarlyStopping(monitor="val_auc", patience=0)
    with pytest.warns(UserWarning, match="monitors 'val_auc'.*available: accuracy"):
        _, history, _ = run(stopper, [1.0, 2.0, 3.0])
    assert len(history.epoch) == 3


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode 'auto', 'min' or 'max', got 'best'"):
        EarlyStopping(mode="best")
    with pytest.raises(ValueError, match="patience >= 0"):
        EarlyStopping(patience=-1)

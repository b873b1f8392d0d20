"""ModelCheckpoint (placeholders, best-only, modes, batch saving) and TerminateOnNaN."""

import math
import os

import numpy as np
import pytest

from callback_driver import FakeModel, drive_fit, load
from lapenna.callbacks import LambdaCallback, ModelCheckpoint, TerminateOnNaN

VAL = [0.5, 0.4, 0.45, 0.41]


def run(callbacks, values=VAL, steps=3, **kwargs):
    model = FakeModel()
    snapshots = []
    keep = LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append([w.copy() for w in model.get_weights()])
    )
    drive_fit(
        model,
        [keep, *callbacks],
        epochs=len(values),
        steps=steps,
        val_loss=lambda epoch: values[epoch],
        **kwargs,
    )
    return model, snapshots


def assert_file_holds(path, weights, kind="model"):
    saved_kind, arrays = load(path)
    assert saved_kind == kind
    for got, want in zip(arrays, weights, strict=True):
        assert np.array_equal(got, want)


def test_placeholders_name_one_file_per_epoch(tmp_path):
    pattern = str(tmp_path / "ckpt" / "model-{epoch:02d}-{val_loss:.2f}.lpn")
    _, snapshots = run([ModelCheckpoint(pattern)])
    names = sorted(os.listdir(tmp_path / "ckpt"))
    assert names == [
        "model-01-0.50.lpn",
        "model-02-0.40.lpn",
        "model-03-0.45.lpn",
        "model-04-0.41.lpn",
    ]
    for epoch, name in enumerate(names):
        assert_file_holds(tmp_path / "ckpt" / name, snapshots[epoch])


def test_save_best_only_keeps_the_best_epoch(tmp_path, capsys):
    path = tmp_path / "best.lpn"
    checkpoint = ModelCheckpoint(path, save_best_only=True, verbose=1)
    model, snapshots = run([checkpoint])
    assert [kind for kind, _ in model.saves] == ["model", "model"]  # epochs 1 and 2 only
    assert_file_holds(path, snapshots[1])
    assert checkpoint.best == pytest.approx(0.4)
    out = capsys.readouterr().out
    assert "Epoch 2: val_loss improved from 0.50000 to 0.40000" in out
    assert "Epoch 3: val_loss did not improve on 0.40000" in out


def test_modes_and_initial_threshold(tmp_path):
    accuracies = [0.6, 0.7, 0.65, 0.8]
    accuracy = lambda epoch, batch: accuracies[epoch]  # noqa: E731
    auto = ModelCheckpoint(tmp_path / "acc.lpn", monitor="val_accuracy", save_best_only=True)
    assert auto.mode == "max"
    model, snapshots = run([auto], accuracy=accuracy)
    assert len(model.saves) == 3
    assert_file_holds(tmp_path / "acc.lpn", snapshots[3])

    lowest = ModelCheckpoint(
        tmp_path / "low.lpn", monitor="val_accuracy", save_best_only=True, mode="min"
    )
    model, snapshots = run([lowest], accuracy=accuracy)
    assert len(model.saves) == 1
    assert_file_holds(tmp_path / "low.lpn", snapshots[0])

    gated = ModelCheckpoint(
        tmp_path / "gate.lpn", save_best_only=True, initial_value_threshold=0.42
    )
    model, snapshots = run([gated])
    assert len(model.saves) == 1  # only 0.40 beats 0.42; 0.41 does not beat 0.40
    assert_file_holds(tmp_path / "gate.lpn", snapshots[1])


def test_batch_frequency_and_weights_only(tmp_path):
    pattern = str(tmp_path / "w-{epoch}-{batch}-{loss:.3f}.weights")
    model, _ = run([ModelCheckpoint(pattern, save_weights_only=True, save_freq=2)], VAL[:2])
    names = [os.path.basename(path) for kind, path in model.saves]
    assert [kind for kind, _ in model.saves] == ["weights"] * 3
    # 6 batches in all, a save after every second one: (epoch 1, batch 2), (2, 1), (2, 3)
    assert [n.split("-")[1:3] for n in names] == [["1", "2"], ["2", "1"], ["2", "3"]]
    assert names[0].endswith(f"-{(1.0 + 1 / 1.1) / 2:.3f}.weights")


def test_bad_placeholder_and_arguments(tmp_path):
    with pytest.raises(KeyError, match="'val_auc' is not among the available names"):
        run([ModelCheckpoint(str(tmp_path / "m-{val_auc:.2f}.lpn"))])
    for bad in (0, "batch", 1.5, True):
        with pytest.raises(ValueError, match="save_freq 'epoch' or a number of batches"):
            ModelCheckpoint("m.lpn", save_freq=bad)
    with pytest.raises(ValueError, match="mode 'auto', 'min' or 'max'"):
        ModelCheckpoint("m.lpn", mode="up")


def nan_at(bad_epoch, bad_batch):
    def loss(epoch, batch):
        return math.nan if (epoch, batch) == (bad_epoch, bad_batch) else 1.0 / (1 + epoch)

    return loss


def test_terminate_on_nan_stops_at_the_bad_batch(capsys):
    guard = TerminateOnNaN()
    model, snapshots = run([guard], steps=4, loss=nan_at(1, 2))
    assert (guard.stopped_epoch, guard.stopped_batch) == (1, 2)
    assert model.batches_run == 4 + 3
    assert len(snapshots) == 2  # the epoch is closed, no further epoch starts
    assert "batch 2: the loss is nan" in capsys.readouterr().out


def test_infinite_loss_also_stops():
    guard = TerminateOnNaN()
    run([guard], steps=4, loss=lambda e, b: math.inf if b == 1 else 1.0)
    assert (guard.stopped_epoch, guard.stopped_batch) == (0, 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"save_best_only": True, "monitor": "loss"},
        {"save_best_only": True},  # monitors val_loss, which stays finite
        {"save_best_only": False},
    ],
)
def test_the_last_good_checkpoint_survives_a_nan(tmp_path, kwargs):
    path = tmp_path / "last_good.lpn"
    checkpoint = ModelCheckpoint(path, **kwargs)
    values = [0.5, 0.4, 0.3]
    with pytest.warns(UserWarning, match="not saving, the last checkpoint is kept"):
        model, snapshots = run([TerminateOnNaN(), checkpoint], values, steps=4, loss=nan_at(1, 2))
    assert len(model.saves) == 1
    assert_file_holds(path, snapshots[0])
    assert all(np.isfinite(a).all() for a in load(path)[1])
    assert np.isnan(model.get_weights()[0]).all()


def test_batch_checkpoint_keeps_the_batch_before_the_nan(tmp_path):
    path = tmp_path / "batch.lpn"
    model = FakeModel()
    before = []
    record = LambdaCallback(
        on_train_batch_end=lambda batch, logs: before.append(model.get_weights()[0].copy())
    )
    with pytest.warns(UserWarning, match="Epoch 2, batch 3: loss is nan"):
        drive_fit(
            model,
            [record, TerminateOnNaN(), ModelCheckpoint(path, save_freq=1)],
            epochs=3,
            steps=4,
            loss=nan_at(1, 2),
        )
    assert len(model.saves) == 6  # four batches of epoch 1, two of epoch 2
    assert np.array_equal(load(path)[1][0], before[5])

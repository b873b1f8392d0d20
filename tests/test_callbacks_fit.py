"""Callbacks inside the real fit: the hooks, early stopping, NaN guard, logs and progress."""

import csv
import io as stdio

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return x, y


def _model():
    inputs = layers.Input((4,))
    h = layers.Dense(8, activation="relu")(inputs)
    model = lp.Model(inputs, layers.Dense(2, activation="softmax")(h))
    model.compile(
        optimizer=lp.optimizers.Adam(0.02),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def test_hooks_are_called_in_order():
    x, y = _data(40)
    calls = []
    hooks = [
        "on_train_begin",
        "on_epoch_begin",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_test_begin",
        "on_test_batch_end",
        "on_test_end",
        "on_epoch_end",
        "on_train_end",
    ]

    def record(name):
        return lambda *args: calls.append(name)

    callback = lp.callbacks.LambdaCallback(**{h: record(h) for h in hooks})
    _model().fit(
        x, y, epochs=2, batch_size=20, validation_split=0.5, verbose=0, callbacks=[callback]
    )
    assert calls[0] == "on_train_begin" and calls[-1] == "on_train_end"
    assert calls.count("on_epoch_begin") == 2 and calls.count("on_train_batch_end") == 2
    first_epoch = calls[1 : calls.index("on_epoch_end") + 1]
    assert first_epoch == [
        "on_epoch_begin",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_test_begin",
        "on_test_batch_end",
        "on_test_end",
        "on_epoch_end",
    ]


def test_early_stopping_restores_the_best_weights_exactly():
    x, y = _data()
    model = _model()
    best = {}

    class Keep(lp.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            best[epoch] = (logs["val_loss"], [w.copy() for w in self.model.get_weights()])

    stop = lp.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    # a noisy validation set: labels flipped at random, so val_loss soon stops improving
    rng = np.random.default_rng(5)
    xv = rng.standard_normal((60, 4)).astype(np.float32)
    yv = rng.integers(0, 2, 60)
    history = model.fit(
        x,
        y,
        epochs=50,
        batch_size=16,
        validation_data=(xv, yv),
        verbose=0,
        callbacks=[Keep(), stop],
    )
    assert len(history.epoch) < 50
    best_epoch = min(best, key=lambda e: best[e][0])
    for a, b in zip(model.get_weights(), best[best_epoch][1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore:ModelCheckpoint")
def test_terminate_on_nan_stops_at_the_batch_and_keeps_the_good_checkpoint(tmp_path):
    x, y = _data(80)
    model = _model()
    checkpoint = tmp_path / "best.lpn"

    class Poison(lp.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations == 7:
                w = self.model.layers[0].kernel
                w.assign(w.numpy() * np.nan)

    stopper = lp.callbacks.TerminateOnNaN()
    history = model.fit(
        x,
        y,
        epochs=5,
        batch_size=16,
        validation_split=0.2,
        verbose=0,
        callbacks=[
            lp.callbacks.ModelCheckpoint(str(checkpoint), save_best_only=True),
            Poison(),
            stopper,
        ],
    )
    # 4 batches per epoch: the weights turn NaN after step 7 (epoch 1, batch 2), so the loss
    # first is NaN at epoch 1, batch 3
    assert stopper.stopped_batch == 3 and stopper.stopped_epoch == 1
    assert len(history.epoch) == 2
    saved = lp.models.load_model(checkpoint)
    assert all(np.isfinite(w).all() for w in saved.get_weights())


def test_csv_and_tensorboard_logs_from_fit(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    x, y = _data()
    _model().fit(
        x,
        y,
        epochs=3,
        batch_size=30,
        validation_split=0.25,
        verbose=0,
        callbacks=[
            lp.callbacks.CSVLogger(str(tmp_path / "log.csv")),
            lp.callbacks.TensorBoard(str(tmp_path / "tb"), histogram_freq=1),
        ],
    )
    with open(tmp_path / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(rows[0])
    train = EventAccumulator(str(tmp_path / "tb" / "train"), size_guidance={"histograms": 0})
    train.Reload()
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(train.Tags()["scalars"])
    assert [e.step for e in train.Scalars("epoch_loss")] == [0, 1, 2]
    assert any("kernel" in tag for tag in train.Tags()["histograms"])
    val = EventAccumulator(str(tmp_path / "tb" / "validation"))
    val.Reload()
    assert "epoch_loss" in val.Tags()["scalars"]


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_progress_output_piped_to_a_file(verbose, monkeypatch):
    x, y = _data(64)
    out = stdio.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    _model().fit(x, y, epochs=3, batch_size=16, verbose=verbose, validation_split=0.25)
    text = out.getvalue()
    if verbose == 0:
        assert text == ""
        return
    assert "\r" not in text
    assert text.count("Epoch ") == 3 and "Epoch 3/3" in text
    assert "val_loss" in text and "loss:" in text
    if verbose == 2:
        assert len(text.strip().splitlines()) == 3


def test_reduce_lr_on_plateau_changes_the_optimizer_rate():
    x, y = _data(60)
    model = _model()
    xv = np.random.default_rng(9).standard_normal((30, 4)).astype(np.float32)
    yv = np.random.default_rng(9).integers(0, 2, 30)
    history = model.fit(
        x,
        y,
        epochs=12,
        batch_size=30,
        validation_data=(xv, yv),
        verbose=0,
        callbacks=[lp.callbacks.ReduceLROnPlateau(factor=0.5, patience=1)],
    )
    rates = history.history["learning_rate"]
    assert rates[0] == pytest.approx(0.02) and min(rates) < 0.02
    # the log holds the rate each epoch trained with; a reduction at the last epoch's end
    # only shows in the optimizer
    assert model.optimizer.learning_rate <= rates[-1]
    assert all(b <= a for a, b in zip(rates, rates[1:]))

"""Callbacks: watching and steering training from the outside.

``fit`` calls every callback at the start and end of training, of each epoch and of each
batch (``on_epoch_begin``, ``on_epoch_end``, ...), with the current logs. The course's
three:

- ``TensorBoard(log_dir, histogram_freq=1)`` writes the losses and metrics of every epoch
  and a histogram of every weight; look at them with ``tensorboard --logdir <out>/logs``;
- a custom callback, a subclass of ``Callback`` that overrides two hooks to time each
  epoch (and adds the time to the logs, so later callbacks and the History see it);
- ``EarlyStopping(monitor="val_loss", patience=...)`` stops when the validation loss has
  not improved for ``patience`` epochs and puts back the weights of the best epoch.

The network is a deliberately large MLP on scikit-learn's 8x8 digits, which overfits after
a few dozen epochs, so early stopping has something to do.

Run: ``python examples/callbacks_demo.py`` (under a minute on two cores).
"""

import argparse
import os
import time

import numpy as np

import lapenna as lp
from lapenna import layers


class EpochTimer(lp.callbacks.Callback):
    """Measure the wall-clock time of each epoch and log it as ``epoch_seconds``."""

    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        self.times.append(seconds)
        if logs is not None:
            logs["epoch_seconds"] = seconds


def load_digits():
    (x_train, y_train), (x_test, y_test) = lp.datasets.digits.load_data()
    scale = np.asarray(1 / 16, dtype=lp.floatx())
    flat_train = x_train.reshape(len(x_train), -1) * scale
    return (flat_train, y_train), (x_test.reshape(len(x_test), -1) * scale, y_test)


def build_model(width=256):
    model = lp.Sequential(
        [
            layers.Input((64,)),
            layers.Dense(width, activation="relu"),
            layers.Dense(width, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(
    epochs=100, patience=5, batch_size=32, n_train=None, out="callbacks_run", seed=0, verbose=1
):
    """Train with the three callbacks; returns what each of them observed."""
    lp.set_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_digits()
    x_train, y_train = x_train[:n_train], y_train[:n_train]
    log_dir = os.path.join(out, "logs")
    timer = EpochTimer()
    early_stopping = lp.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True, verbose=verbose
    )
    board = lp.callbacks.TensorBoard(log_dir=log_dir, histogram_freq=1)
    model = build_model()
    history = model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=0.2,
        callbacks=[timer, early_stopping, board],
        verbose=verbose,
    )
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    event_files = sorted(
        os.path.join(folder, name)
        for folder, _, names in os.walk(log_dir)
        for name in names
        if name.startswith("events.out.tfevents")
    )
    print(
        f"ran {len(history.epoch)} of {epochs} epochs, best epoch {early_stopping.best_epoch + 1} "
        f"(val_loss {early_stopping.best:.4f}); mean epoch time {np.mean(timer.times):.3f} s; "
        f"test accuracy {test_accuracy:.4f} with the restored best weights"
    )
    print(f"TensorBoard: tensorboard --logdir {log_dir}  ({len(event_files)} event files)")
    return {
        "history": history.history,
        "epoch_times": timer.times,
        "best_epoch": early_stopping.best_epoch,
        "stopped_epoch": early_stopping.stopped_epoch,
        "test_accuracy": test_accuracy,
        "event_files": event_files,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--out", default="callbacks_run", help="folder for the TensorBoard logs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(epochs=args.epochs, patience=args.patience, out=args.out, seed=args.seed)

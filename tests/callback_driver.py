"""A fake model that follows the callback protocol and a loop that calls the hooks as fit does.

The loop mirrors ``fit``: hooks in the documented order, running epoch means in the batch
logs, a validation pass (test hooks) before ``on_epoch_end``, ``learning_rate`` in the
epoch logs, ``stop_training`` read after every batch and every epoch.
"""

import math

import numpy as np

from lapenna.callbacks import CallbackList


class FakeOptimizer:
    def __init__(self, learning_rate=0.1):
        self._learning_rate = float(learning_rate)
        self.iterations = 0

    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = float(value)


class FakeWeight:
    def __init__(self, layer, name, array):
        self.name, self.path, self._array = name, f"{layer}/{name}", array

    def numpy(self):
        return self._array.copy()


class FakeLayer:
    def __init__(self, name, weights):
        self.name, self.weights = name, weights


class FakeModel:
    """Two weights updated in place; get_weights hands out the live arrays on purpose."""

    def __init__(self, learning_rate=0.1):
        self.name = "fake"
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self._arrays = [
            np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(3, 2),
            np.zeros(2, dtype=np.float32),
        ]
        self.trainable_weights = [
            FakeWeight("dense", "kernel", self._arrays[0]),
            FakeWeight("dense", "bias", self._arrays[1]),
        ]
        self.layers = [FakeLayer("dense", self.trainable_weights)]
        self.saves = []

    def get_weights(self):
        return list(self._arrays)

    def set_weights(self, weights):
        for live, new in zip(self._arrays, weights, strict=True):
            live[...] = new

    def train_step(self, loss):
        if math.isfinite(loss):
            step = self.optimizer.iterations + 1
            self._arrays[0] += np.float32(self.optimizer.learning_rate * 0.01 * step)
            self._arrays[1] -= np.float32(self.optimizer.learning_rate * 0.02)
        else:
            for array in self._arrays:
                array[...] = np.nan
        self.optimizer.iterations += 1

    def _write(self, path, kind):
        with open(path, "wb") as file:
            np.savez(file, *self._arrays, kind=np.array(kind))
        self.saves.append((kind, str(path)))

    def save(self, path):
        self._write(path, "model")

    def save_weights(self, path):
        self._write(path, "weights")


def load(path):
    """(kind, [arrays]) of a file written by FakeModel.save or save_weights."""
    with np.load(path) as data:
        return str(data["kind"]), [data[f"arr_{i}"] for i in range(len(data.files) - 1)]


def _means(sums, count):
    return {name: total / count for name, total in sums.items()}


def drive_fit(
    model,
    callbacks=(),
    epochs=3,
    steps=4,
    loss=lambda epoch, batch: 1.0 / (1 + epoch + 0.1 * batch),
    accuracy=lambda epoch, batch: min(1.0, 0.5 + 0.1 * epoch),
    val_loss=lambda epoch: 1.2 / (1 + epoch),
    verbose=0,
    declared_steps="same",
):
    """Run the hook sequence of ``fit`` and return the History (and count the batches run)."""
    cbs = CallbackList(
        list(callbacks),
        add_history=True,
        add_progbar=verbose != 0,
        model=model,
        epochs=epochs,
        steps=steps if declared_steps == "same" else declared_steps,
        verbose=verbose,
    )
    model.stop_training = False
    model.batches_run = 0
    cbs.on_train_begin()
    epoch_logs = {}
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        sums = {"loss": 0.0, "accuracy": 0.0}
        for batch in range(steps):
            cbs.on_train_batch_begin(batch)
            batch_loss = loss(epoch, batch)
            model.train_step(batch_loss)
            model.batches_run += 1
            sums["loss"] += batch_loss
            sums["accuracy"] += accuracy(epoch, batch)
            logs = _means(sums, batch + 1)
            cbs.on_train_batch_end(batch, logs)
            if model.stop_training:
                break
        epoch_logs = dict(logs)
        validation = val_loss(epoch) if val_loss is not None else None
        if validation is not None:
            results = drive_evaluate(cbs, validation, accuracy(epoch, 0) - 0.05)
            epoch_logs.update({f"val_{k}": v for k, v in results.items()})
        epoch_logs["learning_rate"] = model.optimizer.learning_rate
        cbs.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cbs.on_train_end(epoch_logs)
    return cbs.history


def drive_evaluate(cbs, loss_value, accuracy_value, steps=2):
    """The test hooks of one evaluation with constant batch results; returns the results."""
    cbs.on_test_begin()
    logs = {}
    for batch in range(steps):
        cbs.on_test_batch_begin(batch)
        logs = {"loss": loss_value, "accuracy": accuracy_value}
        cbs.on_test_batch_end(batch, logs)
    cbs.on_test_end(logs)
    return logs


def evaluate(model, callbacks=(), steps=2, verbose=0):
    cbs = CallbackList(
        list(callbacks), add_history=False, add_progbar=verbose != 0, model=model,
        epochs=1, steps=steps, verbose=verbose,
    )  # fmt: skip
    return drive_evaluate(cbs, 0.25, 0.875, steps)


def predict(model, callbacks=(), steps=3, verbose=0):
    cbs = CallbackList(
        list(callbacks), add_history=False, add_progbar=verbose != 0, model=model,
        epochs=1, steps=steps, verbose=verbose,
    )  # fmt: skip
    cbs.on_predict_begin()
    for batch in range(steps):
        cbs.on_predict_batch_begin(batch)
        cbs.on_predict_batch_end(batch, {})
    cbs.on_predict_end()

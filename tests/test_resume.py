"""Exact resume: a run that crashes at any batch and resumes from its backup ends
bit-identical to one never interrupted (weights, optimizer state, logs), for arrays and for
Dataset pipelines with shuffle, map and augmentation, with dropout in the model."""

import time

import numpy as np
import pytest

import lapenna as lp
from lapenna import data, layers
from lapenna.data import augment


class Crash(Exception):
    pass


class CrashAt(lp.callbacks.Callback):
    """Raise at the ``at``-th training batch of the run (counting from 1)."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise Crash(f"crash at batch {self.seen}")


def _model():
    inputs = layers.Input((6, 6, 1))
    h = layers.Flatten()(inputs)
    h = layers.Dense(16, activation="relu")(h)
    h = layers.Dropout(0.3)(h)
    h = layers.GaussianNoise(0.1)(h)
    model = lp.Model(inputs, layers.Dense(3)(h))
    model.compile(
        optimizer=lp.optimizers.Adam(0.01),
        loss=lp.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _arrays():
    rng = np.random.default_rng(0)
    return rng.standard_normal((40, 6, 6, 1)).astype(np.float32), rng.integers(0, 3, 40)


def _augment(x, y):
    x = augment.random_flip(x)
    return augment.random_translation(x, 0.2, 0.2, fill_mode="nearest"), y


def _pipeline(kind):
    x, y = _arrays()
    if kind == "arrays":
        return {"x": x, "y": y, "batch_size": 8}
    ds = data.Dataset.from_tensor_slices((x, y)).shuffle(40).batch(8)
    if kind == "dataset_map_augment":
        ds = ds.map(_augment)
    elif kind == "dataset_buffer_shuffle":  # an element-wise shuffle buffer and prefetch
        ds = data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a * 1.0, b))
        ds = ds.shuffle(7).batch(8).map(_augment).prefetch(2)
    return {"x": ds}


def _train(tmp_path, kind, save_freq, crash_at=None, model=None, built=None):
    lp.set_seed(11)
    model = model or _model()
    if built is not None:
        built.append(model)
    callbacks = [lp.callbacks.BackupAndRestore(tmp_path / "backup", save_freq=save_freq)]
    if crash_at:
        callbacks.append(CrashAt(crash_at))
    history = model.fit(**_pipeline(kind), epochs=3, verbose=0, callbacks=callbacks)
    return model, history


def _assert_same_run(a, b, history_a, history_b, epochs):
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    # slot names carry the (process-global) layer names: compare the slots in order
    state_a, state_b = a.optimizer.get_state(), b.optimizer.get_state()
    for va, vb in zip(state_a.values(), state_b.values(), strict=True):
        np.testing.assert_array_equal(va, vb)
    for key, values in history_b.history.items():
        assert history_a.history[key][-len(values) :] == values, key
    assert history_b.epoch == epochs


@pytest.mark.parametrize(
    ("kind", "save_freq", "crash_at"),
    [
        ("arrays", 2, 7),
        ("arrays", 5, 7),  # the backup holds the last batch of an epoch: nothing to replay
        ("arrays", "epoch", 8),
        ("dataset", 3, 8),
        ("dataset_map_augment", 2, 9),
        ("dataset_map_augment", "epoch", 11),
        ("dataset_buffer_shuffle", 3, 13),
    ],
)
def test_a_crash_then_resume_is_bit_identical(tmp_path, kind, save_freq, crash_at):
    clean, clean_history = _train(tmp_path / "clean", kind, save_freq)
    built = []
    with pytest.raises(Crash):
        _train(tmp_path / "run", kind, save_freq, crash_at, built=built)
    assert (tmp_path / "run" / "backup" / "backup.lpn").exists()
    # the resumed run builds its model again, as a new process (or a notebook cell) would:
    # its layers get new names, the backup matches weights by their place in the model
    assert built[0].layers[1].name != clean.layers[1].name
    resumed, history = _train(tmp_path / "run", kind, save_freq)
    # five batches an epoch: the epoch the last backup was taken in (an epoch-end backup
    # belongs to the next epoch)
    if save_freq == "epoch":
        saved_epoch = crash_at // 5
    else:
        saved_epoch = ((crash_at // save_freq) * save_freq - 1) // 5
    _assert_same_run(clean, resumed, clean_history, history, list(range(saved_epoch, 3)))
    assert not (tmp_path / "run" / "backup" / "backup.lpn").exists()


def test_metrics_of_a_resumed_epoch_cover_the_whole_epoch(tmp_path):
    clean, clean_history = _train(tmp_path / "clean", "arrays", 2)
    built = []
    with pytest.raises(Crash):
        _train(tmp_path / "run", "arrays", 2, crash_at=3, built=built)
    _, history = _train(tmp_path / "run", "arrays", 2)
    # the first epoch's accuracy and loss count its first two batches too
    assert history.history["accuracy"] == clean_history.history["accuracy"]
    assert history.history["loss"] == clean_history.history["loss"]


def test_fit_position_is_public_and_restorable():
    position = lp.callbacks.FitPosition()
    position.restore({"epoch": 1, "step": 2, "totals": {"loss": 3.0}, "count": 16})
    assert (position.epoch, position.step, position.count, position.resumed) == (1, 2, 16, True)
    for bad, key in (({"epoch": -1}, "epoch"), ({"epoch": 0, "step": "2"}, "step")):
        with pytest.raises(ValueError, match=key):
            lp.callbacks.FitPosition().restore(bad)
    with pytest.raises(ValueError, match="totals"):
        lp.callbacks.FitPosition().restore({"epoch": 0, "totals": {"loss": float("nan")}})


def test_random_streams_are_separate_and_restorable():
    lp.set_seed(5)
    state = lp.get_rng_state()
    assert set(state["streams"]) == {"default", "shuffle", "augment", "noise"}
    noise = lp.backend.generator("noise").random(3)
    shuffle = lp.backend.generator("shuffle").random(3)
    assert not np.array_equal(noise, shuffle)
    lp.set_rng_state(state, purposes=("noise",))
    np.testing.assert_array_equal(lp.backend.generator("noise").random(3), noise)
    assert not np.array_equal(lp.backend.generator("shuffle").random(3), shuffle)
    # the default stream is what set_seed gave before the streams were split
    lp.set_seed(5)
    np.testing.assert_array_equal(
        lp.backend.generator().random(4), np.random.default_rng(5).random(4)
    )
    with pytest.raises(ValueError, match="purpose"):
        lp.backend.generator("dropout")
    with pytest.raises(ValueError, match="bit generator"):
        lp.set_rng_state({"streams": {"noise": {"bit_generator": "os.system"}}})


def _convnet():
    inputs = layers.Input((6, 6, 1))
    h = layers.Conv2D(2, 3)(inputs)
    h = layers.BatchNormalization()(h)
    model = lp.Model(inputs, layers.Dense(3)(layers.Flatten()(h)))
    model.compile(optimizer="adam", loss="mse")
    return model


def test_a_model_built_twice_in_one_process_loads_its_own_files(tmp_path):
    first = _convnet()
    first.fit(*_arrays()[:1], np.zeros((40, 3), np.float32), epochs=1, verbose=0)
    first.save_weights(tmp_path / "w.safetensors")
    first.save(tmp_path / "m.lpn")
    lp.io.save_checkpoint(first, tmp_path / "c.lpn", epoch=1)
    second = _convnet()  # conv2d_1, batch_normalization_1, dense_1...: other names
    assert [w.path for w in second.weights] != [w.path for w in first.weights]
    assert list(second.get_state()) == list(first.get_state())
    assert "conv2d/kernel" in first.get_state() and "dense/bias" in first.get_state()
    second.load_weights(tmp_path / "w.safetensors")
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    third = _convnet()
    lp.io.load_checkpoint(third, tmp_path / "c.lpn")  # optimizer slots too
    for a, b in zip(first.optimizer.get_state().values(), third.optimizer.get_state().values()):
        np.testing.assert_array_equal(a, b)
    loaded = lp.models.load_model(tmp_path / "m.lpn")
    np.testing.assert_array_equal(loaded.get_weights()[0], first.get_weights()[0])


def test_matching_by_layer_name_is_an_option(tmp_path):
    model = _convnet()
    by_name = model.get_state(by_name=True)
    assert list(by_name)[0] == model.weights[0].path  # "<layer name>/kernel"
    lp.io.save_file(by_name, tmp_path / "named.safetensors")
    model.load_weights(tmp_path / "named.safetensors", by_name=True)
    model.load_weights(tmp_path / "named.safetensors")  # files keyed by name still load
    other = _convnet()
    with pytest.raises(lp.io.FormatError, match="missing"):
        other.load_weights(tmp_path / "named.safetensors", by_name=True)


def test_set_state_checks_everything_before_assigning():
    model = _convnet()
    before = model.get_weights()
    state = model.get_state()
    state["dense/kernel"] = np.zeros((8, 4), np.float32)
    state["conv2d/kernel"] = state["conv2d/kernel"] + 1
    with pytest.raises(ValueError, match=r"dense/kernel"):
        model.set_state(state)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


class Slow(lp.callbacks.Callback):
    """A training step slower than the pipeline, so the prefetch thread is always ahead."""

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.05)


def _slow_augment(x, y):
    time.sleep(0.02)
    return _augment(x, y)


def _prefetched_run(tmp_path, crash_at=None):
    """Prefetch two batches ahead of an epoch cut to 3 of its 5 batches: the worker thread
    augments batches the epoch never trains on. A resumed epoch replays its skipped
    batches at once, so its thread gets less far ahead than the uninterrupted run's."""
    lp.set_seed(5)
    x, y = _arrays()
    ds = data.Dataset.from_tensor_slices((x, y)).shuffle(40).batch(8)
    ds = ds.map(_slow_augment).prefetch(2)
    model = _model()
    callbacks = [lp.callbacks.BackupAndRestore(tmp_path / "backup", save_freq=2), Slow()]
    if crash_at:
        callbacks.append(CrashAt(crash_at))
    history = model.fit(ds, epochs=4, steps_per_epoch=3, verbose=0, callbacks=callbacks)
    return model, history


# 7: the last backup holds an epoch's last batch (its 3 batches are replayed, none trained);
# 5: it holds the first batch of epoch 1
@pytest.mark.parametrize("crash_at", [7, 5])
def test_prefetch_ahead_of_steps_per_epoch_does_not_change_a_resumed_run(tmp_path, crash_at):
    clean, clean_history = _prefetched_run(tmp_path / "clean")
    with pytest.raises(Crash):
        _prefetched_run(tmp_path / "run", crash_at)
    resumed, history = _prefetched_run(tmp_path / "run")
    # backups every 2 batches, 3 batches an epoch: the last one before the crash
    saved_epoch = ((crash_at // 2) * 2 - 1) // 3
    _assert_same_run(clean, resumed, clean_history, history, list(range(saved_epoch, 4)))


def test_a_prefetch_stopped_early_leaves_the_streams_after_the_items_taken():
    def draw(x):
        return x + lp.backend.generator("augment").integers(1000)

    ds = data.Dataset.range(10).map(draw)
    for wait in (0.0, 0.05):
        lp.set_seed(3)
        iterator = iter(ds.prefetch(3))
        taken = [next(iterator) for _ in range(4)]
        time.sleep(wait)  # the thread gets ahead, or not
        iterator.close()
        after = lp.backend.generator("augment").integers(1000)
        lp.set_seed(3)
        plain = iter(ds)
        assert [next(plain) for _ in range(4)] == taken
        plain.close()
        assert after == lp.backend.generator("augment").integers(1000)

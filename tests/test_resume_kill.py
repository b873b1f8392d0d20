"""The kill -9 matrix: a training process killed at a chosen batch (or in the middle of
writing a backup) and started again ends bit-identical to a run never interrupted, for a
Dataset pipeline with shuffle, map and augmentation, and for the ``lapenna train`` command
with and without ``--augment`` (weights, optimizer state and history.csv alike)."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import lapenna as lp

SRC = Path(__file__).resolve().parents[1] / "src"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}

# kill_at > 0: SIGKILL after that many training batches; kill_at < 0: SIGKILL in the middle
# of writing backup number -kill_at (after the zip's first entry).
KILLER = textwrap.dedent("""
    import os, signal
    import lapenna as lp
    from lapenna.io import archive

    def arm(kill_at):
        if kill_at > 0:
            seen = [0]
            end = lp.callbacks.BackupAndRestore.on_train_batch_end

            def on_train_batch_end(self, batch, logs=None):
                end(self, batch, logs)
                seen[0] += 1
                if seen[0] == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)

            lp.callbacks.BackupAndRestore.on_train_batch_end = on_train_batch_end
        elif kill_at < 0:
            saves = [0]
            write = archive._write_zip

            def _write_zip(fileobj, entries, compress):
                saves[0] += 1
                if saves[0] == -kill_at:
                    first = dict(list(entries.items())[:1])
                    write(fileobj, first, compress)
                    fileobj.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
                write(fileobj, entries, compress)

            archive._write_zip = _write_zip
""")

FIT = textwrap.dedent("""
    import sys
    import numpy as np
    import lapenna as lp
    from lapenna import data, layers
    from lapenna.data import augment
    from killer import arm

    backup, out, kill_at, save_freq = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    arm(kill_at)
    lp.set_seed(3)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, 48)

    def aug(a, b):
        return augment.random_rotation(augment.random_flip(a), 0.1, fill_mode="nearest"), b

    ds = data.Dataset.from_tensor_slices((x, y)).shuffle(48).batch(8).map(aug).prefetch(2)
    inputs = layers.Input((6, 6, 1))
    h = layers.Dropout(0.2)(layers.Dense(16, activation="relu")(layers.Flatten()(inputs)))
    model = lp.Model(inputs, layers.Dense(3)(h))
    model.compile(optimizer="adam", loss=lp.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    save_freq = save_freq if save_freq == "epoch" else int(save_freq)
    backup_cb = lp.callbacks.BackupAndRestore(backup, save_freq=save_freq)
    history = model.fit(ds, epochs=3, verbose=0, callbacks=[backup_cb])
    slots = list(model.optimizer.get_state().values())
    np.savez(out, *model.get_weights(), *slots, np.asarray(history.history["accuracy"]))
""")

CLI = textwrap.dedent("""
    import sys
    from killer import arm
    arm(int(sys.argv[1]))
    from lapenna.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def _script(tmp_path, name, text):
    (tmp_path / "killer.py").write_text(KILLER)
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def _python(tmp_path, *args):
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=tmp_path, env=ENV, capture_output=True, text=True
    )


def _arrays(path):
    data = np.load(path)
    return [data[k] for k in sorted(data.files, key=lambda k: int(k.split("_")[1]))]


@pytest.fixture(scope="module")
def clean_fit(tmp_path_factory):
    """The uninterrupted run (how often it backs up does not change what it computes)."""
    folder = tmp_path_factory.mktemp("clean")
    script = _script(folder, "fit.py", FIT)
    clean = _python(folder, script, folder / "backup", folder / "clean.npz", 0, 2)
    assert clean.returncode == 0, clean.stderr
    return _arrays(folder / "clean.npz")


@pytest.mark.parametrize(("save_freq", "kill_at"), [(2, 9), ("epoch", 10), (2, -3)])
def test_dataset_with_augmentation_killed_and_resumed(tmp_path, clean_fit, save_freq, kill_at):
    script = _script(tmp_path, "fit.py", FIT)
    killed = _python(tmp_path, script, tmp_path / "b", tmp_path / "r.npz", kill_at, save_freq)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if kill_at < 0:  # killed while writing: the previous backup is whole, a .tmp is left
        assert list((tmp_path / "b").glob(".backup.lpn.*.tmp"))
        lp.io.model_file.read_model_file(tmp_path / "b" / "backup.lpn")
    resumed = _python(tmp_path, script, tmp_path / "b", tmp_path / "r.npz", 0, save_freq)
    assert resumed.returncode == 0, resumed.stderr
    clean_arrays, resumed_arrays = clean_fit, _arrays(tmp_path / "r.npz")
    # weights and optimizer slots equal; the accuracy of the epochs the resumed run logged
    for a, b in zip(clean_arrays[:-1], resumed_arrays[:-1], strict=True):
        np.testing.assert_array_equal(a, b)
    logged = resumed_arrays[-1]
    np.testing.assert_array_equal(clean_arrays[-1][-len(logged) :], logged)


def _cli(tmp_path, kill_at, out, augment):
    model = tmp_path / "mlp.lpn"
    if not model.exists():
        net = lp.Sequential(
            [
                lp.layers.Input((8, 8, 1)),
                lp.layers.Flatten(),
                lp.layers.Dense(16, activation="relu"),
                lp.layers.Dropout(0.1),
                lp.layers.Dense(10, activation="softmax"),
            ]
        )
        net.save(model)
    args = ["train", "--model", model, "--dataset", "digits", "--limit", 120, "--epochs", 2]
    args += ["--batch-size", 16, "--backup-every", 3, "--out", out]
    args += ["--augment"] if augment else []
    if kill_at == 0 and (out / "backup").exists():
        args.append("--resume")
    return _python(tmp_path, _script(tmp_path, "cli.py", CLI), kill_at, *args)


def _history_rows(path):
    return path.read_text().strip().splitlines()


@pytest.mark.parametrize("augment", [False, True])
def test_cli_train_killed_and_resumed_is_bit_identical(tmp_path, augment):
    clean = _cli(tmp_path, 0, tmp_path / "clean", augment)
    assert clean.returncode == 0, clean.stderr
    killed = _cli(tmp_path, 8, tmp_path / "run", augment)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (tmp_path / "run" / "backup" / "backup.lpn").exists()
    resumed = _cli(tmp_path, 0, tmp_path / "run", augment)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the interrupted run" in resumed.stdout
    assert _history_rows(tmp_path / "run" / "history.csv") == _history_rows(
        tmp_path / "clean" / "history.csv"
    )
    a = lp.models.load_model(tmp_path / "clean" / "best.lpn")
    b = lp.models.load_model(tmp_path / "run" / "best.lpn")
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    results = [(tmp_path / d / "results.json").read_text() for d in ("clean", "run")]
    assert results[0] == results[1]

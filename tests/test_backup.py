"""BackupAndRestore: a run killed mid-epoch resumes to bit-identical weights."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lapenna as lp

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import lapenna as lp
    from lapenna import layers

    backup_dir, out, kill_at, save_freq = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    save_freq = save_freq if save_freq == "epoch" else int(save_freq)
    lp.set_seed(7)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 6)).astype(np.float32)
    y = rng.integers(0, 3, 96)
    inputs = layers.Input((6,))
    h = layers.Dense(16, activation="relu")(inputs)
    model = lp.Model(inputs, layers.Dense(3)(h))
    model.compile(optimizer=lp.optimizers.Adam(0.01),
                  loss=lp.losses.SparseCategoricalCrossentropy(from_logits=True))

    class Killer(lp.callbacks.Callback):
        seen = 0
        def on_train_batch_end(self, batch, logs=None):
            Killer.seen += 1
            if Killer.seen == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    callbacks = [lp.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq)]
    if kill_at > 0:
        callbacks.append(Killer())
    model.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=callbacks)
    np.savez(out, *model.get_weights())
""")


def _run(tmp_path, backup, out, kill_at, save_freq):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    return subprocess.run(
        [sys.executable, str(script), str(backup), str(out), str(kill_at), str(save_freq)],
        capture_output=True,
        text=True,
    )


def _weights(path):
    data = np.load(path)
    return [data[k] for k in sorted(data.files, key=lambda k: int(k.split("_")[1]))]


@pytest.mark.parametrize(("save_freq", "kill_at"), [(5, 17), ("epoch", 30)])
def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path, save_freq, kill_at):
    clean = _run(tmp_path, tmp_path / "clean_backup", tmp_path / "clean.npz", 0, save_freq)
    assert clean.returncode == 0, clean.stderr
    killed = _run(tmp_path, tmp_path / "backup", tmp_path / "resumed.npz", kill_at, save_freq)
    assert killed.returncode == -signal.SIGKILL
    assert (tmp_path / "backup" / "backup.lpn").exists()
    resumed = _run(tmp_path, tmp_path / "backup", tmp_path / "resumed.npz", 0, save_freq)
    assert resumed.returncode == 0, resumed.stderr
    for a, b in zip(_weights(tmp_path / "clean.npz"), _weights(tmp_path / "resumed.npz")):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "backup" / "backup.lpn").exists()  # deleted after success


def test_a_finished_run_removes_the_temporary_file_a_killed_save_left(tmp_path):
    backup = lp.callbacks.BackupAndRestore(tmp_path)
    stale = tmp_path / ".backup.lpn.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    other = tmp_path / "notes.txt"
    other.write_text("kept")
    backup.on_train_end({})
    assert not stale.exists() and other.exists()


def test_bad_save_freq():
    with pytest.raises(ValueError, match="save_freq"):
        lp.callbacks.BackupAndRestore("x", save_freq=0)


def test_interrupted_run_leaves_a_loadable_backup(tmp_path):
    killed = _run(tmp_path, tmp_path / "b", tmp_path / "o.npz", 9, 4)
    assert killed.returncode == -signal.SIGKILL
    config, arrays = lp.io.model_file.read_model_file(tmp_path / "b" / "backup.lpn")
    assert config["extra"]["epoch"] == 0 and config["extra"]["step"] == 8
    assert any(k.startswith("optimizer/") for k in arrays)
    assert os.path.getsize(tmp_path / "b" / "backup.lpn") > 0

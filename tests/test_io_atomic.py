import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lapenna.io import atomic_write, load_state, save_state

SRC = Path(__file__).resolve().parents[1] / "src"


def test_success_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with atomic_write(path) as f:
        f.write(b"new")
        assert path.read_bytes() == b"old"  # nothing visible until the rename
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_an_exception_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_write(path) as f:
        f.write(b"half of the new")
        raise RuntimeError("disk on fire")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_text_mode_and_permissions(tmp_path):
    path = tmp_path / "f.txt"
    with atomic_write(path, "w") as f:
        f.write("héllo")
    assert path.read_text(encoding="utf-8") == "héllo"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    path.chmod(0o640)
    with atomic_write(path) as f:
        f.write(b"x")
    assert path.stat().st_mode & 0o777 == 0o640
    with pytest.raises(ValueError, match="mode"), atomic_write(path, "a"):
        pass


_CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from lapenna.io import load_state, save_state

    path, step = sys.argv[1], int(sys.argv[2])
    while True:
        step += 1
        weights = np.full(400_000, step, np.int64)
        save_state({"model": {"w": weights}, "step": step}, path, {"step": str(step)})
        print(step, flush=True)
    """
)


def _check_checkpoint(path):
    state, meta = load_state(path)
    step = int(meta["step"])
    assert int(state["step"]) == step
    assert state["model"]["w"].shape == (400_000,)
    assert (state["model"]["w"] == step).all()
    return step


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_repeated_saves_leaves_a_complete_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save_state({"model": {"w": np.full(400_000, 0, np.int64)}, "step": 0}, path, {"step": "0"})
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    rng = random.Random(1234)
    step = 0
    for _round in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), str(step)],
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        child.stdout.readline()  # one save completed: the next ones are in flight
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        new_step = _check_checkpoint(path)
        assert new_step >= step + 1  # the previous complete file or a newer complete one
        step = new_step
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != path.name]
    assert all(name.startswith(".ckpt.safetensors.") for name in leftovers)


_HALF_WRITER = textwrap.dedent(
    """
    import sys, time
    from lapenna.io import atomic_write

    with atomic_write(sys.argv[1]) as f:
        f.write(b"new data, first half;")
        f.flush()
        print("half", flush=True)
        time.sleep(60)
        f.write(b" second half")
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_in_the_middle_of_a_write_keeps_the_old_file(tmp_path):
    # the random kills above land anywhere in the save loop; this one lands mid-write
    path = tmp_path / "f.bin"
    path.write_bytes(b"old complete file")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen(
        [sys.executable, "-c", _HALF_WRITER, str(path)], stdout=subprocess.PIPE, env=env
    )
    assert child.stdout.readline() == b"half\n"
    temporaries = [p for p in tmp_path.iterdir() if p != path]
    assert len(temporaries) == 1 and temporaries[0].read_bytes() == b"new data, first half;"
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert path.read_bytes() == b"old complete file"

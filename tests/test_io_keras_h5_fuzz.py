"""Fuzzed Keras HDF5 files: seeded byte mutations of small real Keras files (a whole-model
``.h5`` and a ``.weights.h5``, written by Keras in the test). Every load either works or
raises a FormatError naming the file, and never hangs: HDF5's C code cannot be
interrupted, so the loads run in one worker process that the test kills (and names the
file) when a load takes longer than the timeout."""

import os
import queue
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("h5py")
pytest.importorskip("keras")
from lapenna.testing.keras_reference import keras_module  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
MUTATIONS = 300
TIMEOUT_S = 60  # a load takes milliseconds; a spin in HDF5 took 300 s and more

# reads one path a line, loads it, writes one result line: "ok", or the error's class and
# message; a .weights.h5 fills a model, which must be unchanged when the load fails
WORKER = r"""
import sys, warnings
warnings.simplefilter("ignore")
import numpy as np
import lapenna as lp
from lapenna import layers

model = lp.Sequential([layers.Input((4,)), layers.Dense(3), layers.BatchNormalization(),
                       layers.Dense(2)])
before = model.get_weights()
for line in sys.stdin:
    path = line.strip()
    try:
        if path.endswith(".weights.h5"):
            model.load_weights(path)
            model.set_weights(before)
        else:
            lp.models.load_model(path)
        result = "ok"
    except Exception as err:
        result = f"{type(err).__name__} {err}".replace("\n", " ")
        if any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights())):
            result = "changed the model: " + result
    print(result, flush=True)
"""


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    keras = keras_module()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(2),
        ]
    )
    folder = tmp_path_factory.mktemp("keras_h5")
    model.save(folder / "model.h5")
    model.save_weights(folder / "model.weights.h5")
    return folder


class _Worker:
    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def load(self, path):
        self.process.stdin.write(f"{path}\n")
        self.process.stdin.flush()
        try:
            return self.lines.get(timeout=TIMEOUT_S)
        except queue.Empty:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"loading {path} hung for {TIMEOUT_S} s") from None

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=TIMEOUT_S)


@pytest.mark.parametrize("name", ["model.h5", "model.weights.h5"])
def test_mutated_keras_h5_files_load_or_are_refused_by_name_without_hanging(
    keras_files, tmp_path, name
):
    original = (keras_files / name).read_bytes()
    rng = np.random.default_rng(16)
    worker, outcomes = _Worker(), {"ok": 0, "refused": 0}
    try:
        assert worker.load(keras_files / name) == "ok"  # the file itself loads
        for index in range(MUTATIONS):
            raw = bytearray(original)
            for _ in range(int(rng.integers(1, 9))):
                raw[int(rng.integers(len(raw)))] = int(rng.integers(256))
            path = tmp_path / f"{index}.{name}"
            path.write_bytes(bytes(raw))
            result = worker.load(path)
            assert result is not None, f"the worker died loading {path}"
            if result == "ok":
                outcomes["ok"] += 1
            else:
                assert result.startswith("FormatError "), result
                assert str(path) in result, result
                outcomes["refused"] += 1
            path.unlink()
    finally:
        worker.close()
    assert outcomes["refused"] > MUTATIONS // 10, outcomes


def _spinning_copy(original):
    """``original`` with the size of the last object of its global heap collection grown
    so that HDF5's walk lands inside the free space, on an object of index 0 and size 0:
    HDF5 then never moves on (the spin mutated Keras files hit in h5py's attribute read)."""
    raw = bytearray(original)
    at = raw.index(b"GCOL")
    end = at + struct.unpack_from("<Q", raw, at + 8)[0]
    p, last = at + 16, None
    while p + 16 <= end:
        index, _, _, size = struct.unpack_from("<HHIQ", raw, p)
        if index == 0:
            break
        last, p = (p, size), p + 16 + (size + 7) // 8 * 8
    assert last is not None and raw[p + 16 : p + 48] == bytes(32)  # free space is zeros
    where, size = last
    struct.pack_into("<Q", raw, where + 8, (size + 7) // 8 * 8 + 32)
    return bytes(raw)


@pytest.mark.parametrize("name", ["model.h5", "model.weights.h5"])
def test_a_global_heap_walk_that_would_spin_is_refused_first(keras_files, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(_spinning_copy((keras_files / name).read_bytes()))
    worker = _Worker()
    try:
        result = worker.load(path)
    finally:
        worker.close()
    assert result.startswith("FormatError ") and str(path) in result, result
    assert "global heap collection" in result and "size 0" in result


def test_a_string_attribute_whose_type_became_a_sequence_is_refused_not_read(keras_files, tmp_path):
    # one byte of model_config's type message (a version 1 attribute message: the name
    # padded to 16 bytes, then the type) turns a variable-length string into a
    # variable-length sequence; HDF5 crashed the process reading it
    raw = bytearray((keras_files / "model.h5").read_bytes())
    at = raw.index(b"model_config\x00") + 16
    assert raw[at] == 0x19 and raw[at + 1] == 1  # vlen (class 9, version 1) of strings
    raw[at + 1] = 0
    path = tmp_path / "model.h5"
    path.write_bytes(bytes(raw))
    worker = _Worker()
    try:
        result = worker.load(path)
    finally:
        worker.close()
    assert result is not None, "the worker crashed"
    assert result.startswith("FormatError ") and str(path) in result, result
    assert "'model_config' of '/' must list strings" in result

"""Hostile model files are refused with FormatError naming the file, before they cost
memory or time: schema-checked configs, per-entry size caps checked before inflating,
weights bounded by what the file holds, and only regular files opened (no FIFO hangs,
no endless reads from /dev/zero). Memory is measured with tracemalloc around each load;
a SIGALRM guard turns a hang into a failure instead of a stuck suite."""

import contextlib
import json
import os
import signal
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.io import FormatError

BUDGET = 8 * 2**20  # a few MB: every file here declares far more, or holds far less


def _model():
    model = lp.Sequential([layers.Input((4,)), layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    return model


@pytest.fixture
def saved(tmp_path):
    model = _model()
    model.save(tmp_path / "m.lpn")
    with zipfile.ZipFile(tmp_path / "m.lpn") as zf:
        config = json.loads(zf.read("config.json"))
        weights = zf.read("model.safetensors")
    return model, config, weights


def _write(path, config, weights, config_bytes=None):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", config_bytes or json.dumps(config))
        zf.writestr("model.safetensors", weights)
    return path


@contextlib.contextmanager
def _no_hang(seconds=60):
    def stop(*_):
        raise TimeoutError("the reader hung")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _refused(call, *args, match=None, **kwargs):
    """Call; it must raise FormatError (matching ``match``) within the memory budget."""
    tracemalloc.start()
    try:
        with _no_hang(), pytest.raises(FormatError, match=match) as info:
            call(*args, **kwargs)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < BUDGET, f"{peak} bytes used before the refusal"
    return str(info.value)


def _edit(config, key, value):
    config = json.loads(json.dumps(config))
    node = config
    *parents, last = key
    for part in parents:
        node = node[part]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return config


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        (("build_input_shape",), "x", "build_input_shape"),
        (("build_input_shape",), [[[[[[[[[[[4]]]]]]]]]]], "build_input_shape"),
        (("format_version",), "2", "format_version"),
        (("format_version",), None, "format_version"),
        (("format_version",), True, "format_version"),
        (("compile",), "adam", "compile"),
        (("model",), KeyError, "model"),
        (("model",), "Sequential", "model"),
        (("model", "class_name"), 7, "class_name"),
        (("compile", "optimizer"), KeyError, "optimizer"),
        (("compile", "loss"), KeyError, "loss"),
        (("compile", "metrics"), KeyError, "metrics"),
        (("compile", "metrics"), 5, "metrics"),
        (("compile", "optimizer"), {"class_name": "NoSuchOptimizer", "config": {}}, "compile"),
        (("extra",), [1], "extra"),
        (("model", "config", "layers", 0, "config", "units"), -3, "model"),
    ],
)
def test_a_config_off_the_schema_is_a_format_error_naming_file_and_key(
    tmp_path, saved, key, value, named
):
    _, config, weights = saved
    path = _write(tmp_path / "bad.lpn", _edit(config, key, value), weights)
    message = _refused(lp.models.load_model, path)
    assert str(path) in message and named in message


def test_a_safetensors_dtype_given_as_a_list(tmp_path, saved):
    _, config, weights = saved
    (length,) = struct.unpack("<Q", weights[:8])
    header = json.loads(weights[8 : 8 + length])
    name = next(k for k in header if k != "__metadata__")
    header[name]["dtype"] = ["F32"]
    raw = json.dumps(header).encode()
    path = _write(
        tmp_path / "dt.lpn", config, struct.pack("<Q", len(raw)) + raw + weights[8 + length :]
    )
    assert "unknown dtype ['F32']" in _refused(lp.models.load_model, path)


def _bomb_entry(zf, name, size):
    """An entry of ``size`` zero bytes, deflated (1 GiB becomes about 1 MB)."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=True) as out:
        block = bytes(2**20)
        for _ in range(size // len(block)):
            out.write(block)


def test_a_config_bomb_is_refused_on_its_declared_size(tmp_path, saved):
    _, _, weights = saved
    path = tmp_path / "bomb.lpn"
    with zipfile.ZipFile(path, "w") as zf:
        _bomb_entry(zf, "config.json", 64 * 2**20)  # over the 16 MB bound of configs
        zf.writestr("model.safetensors", weights)
    message = _refused(lp.models.load_model, path, match="declares")
    assert "config.json" in message and str(path) in message


def test_an_entry_that_inflates_past_its_declared_size_is_cut_off(tmp_path, saved):
    _, config, weights = saved
    path = _write(
        tmp_path / "liar.lpn", config, weights, config_bytes=json.dumps(config) + " " * 10**6
    )
    raw = bytearray(path.read_bytes())
    # set the declared (uncompressed) size of config.json to 100 bytes, in both headers
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("config.json")
    true_size = struct.pack("<I", info.file_size)
    count = raw.count(true_size)
    assert count >= 2
    raw = raw.replace(true_size, struct.pack("<I", 100))
    path.write_bytes(bytes(raw))
    message = _refused(lp.models.load_model, path)
    assert str(path) in message


def test_a_config_declaring_huge_layers_allocates_nothing_first(tmp_path, saved):
    _, config, weights = saved
    huge = _edit(config, ("model", "config", "layers", 0, "config", "units"), 3_500_000)
    path = _write(tmp_path / "huge.lpn", huge, weights)
    message = _refused(lp.models.load_model, path, match="bytes")
    assert "Dense" in message and str(path) in message


def test_an_npz_bomb_is_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as zf:
        _bomb_entry(zf, "dense/kernel.npy", 256 * 2**20)
    model = _model()
    before = model.get_weights()
    message = _refused(model.load_weights, path, match="declare")
    assert str(path) in message
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    _refused(lp.io.load_npz, path, max_bytes=2**20)


def test_a_chunked_gzip_h5_bomb_is_refused_unread(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "bomb.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        group = f.create_group("dense")
        group.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
        group.create_dataset(
            "dense/kernel:0",
            shape=(2**14, 2**14),
            dtype="f4",
            chunks=(256, 256),
            compression="gzip",
        )
        group.create_dataset("dense/bias:0", data=np.zeros(3, np.float32))
    assert os.path.getsize(path) < 2**20  # 1 GiB of zeros declared, nothing stored
    model = _model()
    before = model.get_weights()
    assert str(path) in _refused(model.load_weights, path, match="bound")
    np.testing.assert_array_equal(before[0], model.get_weights()[0])


@pytest.mark.parametrize("suffix", [".lpn", ".safetensors", ".npz", ".h5"])
def test_a_fifo_is_refused_without_blocking(tmp_path, suffix):
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    model = _model()
    assert "FIFO" in _refused(model.load_weights, fifo)
    if suffix == ".lpn":
        assert "FIFO" in _refused(lp.models.load_model, fifo)


@pytest.mark.parametrize("suffix", [".lpn", ".safetensors", ".npz"])
def test_a_symlink_to_dev_zero_is_refused_unread(tmp_path, suffix):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero on this system")
    link = tmp_path / f"zero{suffix}"
    link.symlink_to("/dev/zero")
    assert "character device" in _refused(_model().load_weights, link)


def test_a_folder_is_still_an_os_error(tmp_path):
    (tmp_path / "w.safetensors").mkdir()
    with pytest.raises(IsADirectoryError):
        _model().load_weights(tmp_path / "w.safetensors")


def test_fuzzed_model_files_load_or_are_refused_and_leave_the_model_unchanged(tmp_path, saved):
    model, _, _ = saved
    original = (tmp_path / "m.lpn").read_bytes()
    target = _model()
    before = target.get_weights()
    rng = np.random.default_rng(16)
    outcomes = {"loaded": 0, "refused": 0}
    for index in range(120):
        raw = bytearray(original)
        for _ in range(int(rng.integers(1, 8))):
            position = int(rng.integers(len(raw)))
            raw[position] = int(rng.integers(256))
        path = tmp_path / f"fuzz{index}.lpn"
        path.write_bytes(bytes(raw))
        tracemalloc.start()
        try:
            with _no_hang():
                try:
                    lp.models.load_model(path)
                    target.load_weights(path)
                    outcomes["loaded"] += 1
                    target.set_weights(before)
                except FormatError as err:
                    assert str(path) in str(err)
                    outcomes["refused"] += 1
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < BUDGET, f"mutation {index} used {peak} bytes"
        for a, b in zip(before, target.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    assert outcomes["refused"] > 60, outcomes


def test_a_sequential_of_many_layers_is_assembled_in_linear_work():
    # loading 20,000 layers took 19 s because add() compared each new name with every
    # layer before it; count the name reads instead of timing
    class Counted(layers.Layer):
        reads = 0

        @property
        def name(self):
            Counted.reads += 1
            return self._counted_name

        @name.setter
        def name(self, value):
            self._counted_name = value

    n = 1500
    lp.Sequential([Counted() for _ in range(n)])
    assert Counted.reads < 20 * n  # quadratic work would read names about n * n / 2 times


def test_h5_name_attributes_are_bounded_before_they_are_read(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    from lapenna.io import keras_h5

    path = tmp_path / "names.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [f"dense_{i}".encode() for i in range(2000)]
    monkeypatch.setattr(keras_h5, "MAX_ATTR_BYTES", 1000)
    message = _refused(keras_h5.read_keras_weights, path, match="layer_names")
    assert "2000 items" in message and str(path) in message


def test_a_weights_entry_bomb_is_refused_on_its_declared_size(tmp_path, saved, monkeypatch):
    from lapenna.io import model_file

    _, config, _ = saved
    path = tmp_path / "bomb.lpn"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        _bomb_entry(zf, "model.safetensors", 32 * 2**20)
    model = _model()
    before = model.get_weights()
    # filling a known model: the bound is four times its weights
    assert "model.safetensors" in _refused(lp.io.load_checkpoint, model, path, match="declares")
    _unchanged = [np.testing.assert_array_equal(a, b) for a, b in zip(before, model.get_weights())]
    assert len(_unchanged) == 2
    # building from the file alone: the entry's own cap (made small here)
    bounds = {**model_file._ENTRY_BOUNDS, "model.safetensors": 2**20}
    monkeypatch.setattr(model_file, "_ENTRY_BOUNDS", bounds)
    assert str(path) in _refused(lp.models.load_model, path, match="declares")


def _sparse_entry(zf, name, size, head=b""):
    """An entry of ``size`` bytes deflated to about 1/250 of it (under the ratio cap):
    ``head``, then random bytes (which do not compress) and zeros (which do)."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    noise = np.random.default_rng(0).bytes(size // 300)
    with zf.open(info, "w", force_zip64=True) as out:
        out.write(head + noise)
        left = size - len(head) - len(noise)
        while left > 0:
            out.write(bytes(min(left, 2**20)))
            left -= 2**20


def test_load_model_inflates_the_weights_entry_only_up_to_what_its_model_needs(tmp_path, saved):
    # 24 MB declared and held (not a bomb by ratio), for a model of 15 weights: refused on
    # its declared size once the config is built, before a byte of it is inflated
    _, config, weights = saved
    path = tmp_path / "big.lpn"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        _sparse_entry(zf, "model.safetensors", 24 * 2**20, head=weights)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("model.safetensors")
    assert 100 < info.file_size / info.compress_size < 400
    message = _refused(lp.models.load_model, path, match="declares")
    assert "model.safetensors" in message and str(path) in message


@pytest.mark.parametrize("entry", ["config.json", "model.safetensors"])
def test_a_deflated_entry_far_larger_than_its_compressed_bytes_is_refused_unread(
    tmp_path, saved, entry
):
    # 15 MB of spaces after a valid config (JSON allows them; under the 16 MB config cap),
    # or zeros after the weights: about 1000:1, refused on its ratio, not read
    _, config, weights = saved
    path = tmp_path / "ratio.lpn"
    padding = 15 * 2**20
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        text = json.dumps(config).encode()
        zf.writestr("config.json", text + b" " * padding if entry == "config.json" else text)
        zf.writestr("model.safetensors", weights + bytes(padding if entry != "config.json" else 0))
    message = _refused(lp.models.load_model, path, match="times as many")
    assert entry in message and str(path) in message
    # the same bytes stored, not deflated: they load (the ratio is the deflated entry's)
    stored = tmp_path / "stored.lpn"
    with zipfile.ZipFile(path) as zf, zipfile.ZipFile(stored, "w") as out:
        for name in zf.namelist():
            out.writestr(name, zf.read(name))
    if entry == "config.json":
        assert lp.models.load_model(stored).count_params() == 15
    else:  # too large for the model it fills
        assert "declares" in _refused(lp.models.load_model, stored)


def test_loading_a_model_file_does_work_linear_in_its_layers(tmp_path):
    # 20,000 layers load in about 6 s with 1,663 Python calls a layer at every size
    # measured (2,500 to 20,000); count the calls at two sizes instead of timing
    import sys

    def calls_to_load(n):
        path = tmp_path / f"deep{n}.lpn"
        lp.Sequential([layers.Input((2,))] + [layers.Dense(2) for _ in range(n)]).save(path)
        count = 0

        def profile(frame, event, arg):
            nonlocal count
            count += event == "call"

        sys.setprofile(profile)
        try:
            lp.models.load_model(path)
        finally:
            sys.setprofile(None)
        return count

    small, large = calls_to_load(200), calls_to_load(800)
    assert large < 4.4 * small, (small, large)  # quadratic work would make it about 16


def test_a_save_never_writes_a_config_its_load_would_refuse(tmp_path, monkeypatch):
    # a 40,000-layer model's config (24 MB written with an indent) was saved, then refused
    # by load_model's 16 MB bound; now the config is written compactly when the indent
    # would pass the bound, and refused before anything is written when even that would
    import functools

    from lapenna.io import config as config_module
    from lapenna.io import model_file

    model = lp.Sequential([layers.Input((2,))] + [layers.Dense(2) for _ in range(6)])
    small, compact = {"a": [1, 2]}, b'{"a": [1, 2]}'
    indented = config_module.dumps_config(small, indent=1).encode()
    assert config_module.encode_config(small, max_bytes=len(indented)) == indented
    assert config_module.encode_config(small, max_bytes=len(indented) - 1) == compact
    with pytest.raises(ValueError, match="13 bytes of JSON, more than the 12"):
        config_module.encode_config(small, max_bytes=12)

    path = tmp_path / "deep.lpn"
    model.save(path)
    full = len(zipfile.ZipFile(path).read("config.json"))
    compact = len(json.dumps(json.loads(zipfile.ZipFile(path).read("config.json"))))
    assert compact < full
    # a bound between the two sizes: saved without whitespace, and it loads
    bound = (compact + full) // 2
    monkeypatch.setattr(
        model_file, "encode_config", functools.partial(config_module.encode_config, max_bytes=bound)
    )
    model.save(tmp_path / "compact.lpn")
    stored = zipfile.ZipFile(tmp_path / "compact.lpn").read("config.json")
    assert b"\n" not in stored and len(stored) <= bound
    assert lp.models.load_model(tmp_path / "compact.lpn").count_params() == model.count_params()
    # a bound below both: refused, and the file already there is untouched
    before = path.read_bytes()
    monkeypatch.setattr(
        model_file, "encode_config", functools.partial(config_module.encode_config, max_bytes=100)
    )
    with pytest.raises(ValueError, match="more than the 100 that loading reads"):
        model.save(path)
    assert path.read_bytes() == before

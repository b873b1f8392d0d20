"""A corpus of hostile files: each is refused with a clear error and leaves no trace.

Every payload that could run code would, if it ran, create the canary folder; every
path escape would write beside the work folder. After each refusal the whole tmp_path
tree must be exactly as it was, and the canary must not exist.
"""

import io
import os
import pickle
import re
import struct
import zipfile

import numpy as np
import pytest

from extras import requires
from io_helpers import patch_zip_sizes, raw_safetensors, zip_with
from lapenna.io import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    FormatError,
    load_file,
    load_npz,
    loads_config,
    read_archive,
    read_header,
    read_keras_weights,
    save_bytes,
)


class _Payload:
    """Unpickling this creates the canary: proof that code ran."""

    def __init__(self, canary):
        self.canary = canary

    def __reduce__(self):
        return os.mkdir, (self.canary,)


def _pickled(canary):
    return pickle.dumps({"weights": _Payload(canary)})


def _object_npz(canary):
    buffer = io.BytesIO()
    np.savez(buffer, evil=np.array([_Payload(canary)], dtype=object))
    return buffer.getvalue()


def _f32(begin, end, name="x"):
    return {name: {"dtype": "F32", "shape": [2], "data_offsets": [begin, end]}}


def _lpn(entries):
    return zip_with(list(entries.items()))


_VALID_WEIGHTS = save_bytes({"w": np.ones(4, np.float32)})


def _read_lpn(path):
    return read_archive(path, [CONFIG_NAME, WEIGHTS_NAME], max_entry_bytes=2**20)


def _read_config(path):
    return loads_config(path.read_bytes())


def _corpus(canary):
    """name -> (file bytes, reader, expected message)."""
    safetensors, lpn = load_file, _read_lpn
    return {
        "header_2_62": (struct.pack("<Q", 2**62) + b"{}", safetensors, "header claims 461"),
        "header_past_end": (struct.pack("<Q", 4096) + b"{}", read_header, "only 2 follow"),
        "overlapping_offsets": (
            raw_safetensors({**_f32(0, 8, "a"), **_f32(4, 12, "b")}, bytes(12)),
            safetensors,
            "overlap tensor 'a'",
        ),
        "offsets_out_of_range": (
            raw_safetensors(_f32(2**40, 2**40 + 8), bytes(8)),
            safetensors,
            "leaving a gap",
        ),
        "truncated_safetensors": (_VALID_WEIGHTS[:-3], safetensors, "truncated file"),
        "unknown_dtype": (
            raw_safetensors({"x": {"dtype": "PY_OBJECT", "shape": [1], "data_offsets": [0, 8]}}),
            safetensors,
            "unknown dtype 'PY_OBJECT'",
        ),
        "pickle_as_safetensors": (_pickled(canary), safetensors, "header claims"),
        "pickle_as_npz": (_pickled(canary), load_npz, "not a valid zip archive"),
        "pickle_as_lpn": (_pickled(canary), lpn, "not a valid zip archive"),
        "pickle_as_h5": (_pickled(canary), read_keras_weights, "not an HDF5 file"),
        "object_npy_in_npz": (_object_npz(canary), load_npz, "object dtype"),
        "zip_slip_entry": (
            _lpn({CONFIG_NAME: b"{}", WEIGHTS_NAME: _VALID_WEIGHTS, "../evil": b"boom"}),
            lpn,
            "entry '../evil' has an unsafe name",
        ),
        "absolute_entry": (
            _lpn({CONFIG_NAME: b"{}", "/tmp/evil": b"boom"}),
            lpn,
            "entry '/tmp/evil' has an unsafe name",
        ),
        "zip_bomb_declared": (
            patch_zip_sizes(_lpn({CONFIG_NAME: b"{}", WEIGHTS_NAME: b""}), CONFIG_NAME, 2**32 - 1),
            lpn,
            "declares 4294967295 bytes",
        ),
        "zip_bomb_real": (
            _lpn({CONFIG_NAME: bytes(2**24), WEIGHTS_NAME: b""}),
            lpn,
            "declares 16777216 bytes",
        ),
        "truncated_lpn": (
            _lpn({CONFIG_NAME: b"{}", WEIGHTS_NAME: _VALID_WEIGHTS})[:-30],
            lpn,
            "not a valid zip archive",
        ),
        "config_os_system": (
            b'{"class_name": "Dense", "config": {"activation": "os.system"}}',
            _read_config,
            "'os.system' reads as a Python module path",
        ),
        "config_module_path": (
            b'{"module": "subprocess", "class_name": "Popen", "config": {}}',
            _read_config,
            "may not name a module",
        ),
        "config_lambda": (
            b'{"class_name": "Lambda", "config": {"function": "YmFzZTY0"}}',
            _read_config,
            "callable",
        ),
    }


def _snapshot(root):
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
    }


CASES = [
    pytest.param(case, marks=requires("h5py")) if case.endswith("_h5") else case
    for case in sorted(_corpus("unused"))
]


@pytest.mark.parametrize("case", CASES)
def test_hostile_file_is_refused_without_side_effects(tmp_path, case, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    canary = tmp_path / "canary"
    data, reader, message = _corpus(str(canary))[case]
    path = work / f"{case}.bin"
    path.write_bytes(data)
    monkeypatch.chdir(work)  # so a relative "../evil" would land in tmp_path
    before = _snapshot(tmp_path)
    with pytest.raises(FormatError, match=_escaped(message)) as err:
        reader(path)
    assert str(err.value)  # a message, naming the file where there is one
    if "config" not in case:
        assert str(path) in str(err.value)
    assert not canary.exists(), "a payload ran"
    assert _snapshot(tmp_path) == before, "something was written"


def _escaped(message):
    return re.escape(message)


def test_the_canary_would_notice_a_pickle_that_runs(tmp_path):
    # the payload is real: unpickling it (which the readers never do) trips the canary
    canary = tmp_path / "canary"
    pickle.loads(_pickled(str(canary)))
    assert canary.is_dir()


def test_the_zip_slip_entry_would_escape_if_extracted_naively(tmp_path):
    # the entry really names ../evil; a reader that joined it to a folder would escape
    data = _corpus("unused")["zip_slip_entry"][0]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert "../evil" in zf.namelist()
        escaped = os.path.normpath(os.path.join(tmp_path / "work", "../evil"))
    assert escaped == str(tmp_path / "evil")

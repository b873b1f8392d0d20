import io
import zipfile

import numpy as np
import pytest

from io_helpers import zip_with
from lapenna.io import FormatError, load_npz, save_npz


def _arrays():
    return {
        "dense/kernel": np.arange(6, dtype=np.float32).reshape(2, 3),
        "dense/bias": np.zeros(3, np.float32),
        "step": np.array(5, np.int64),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "empty": np.zeros((0, 2), np.float16),
        "labels": np.array(["cat", "dog"]),
    }


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_and_numpy_reads_our_files(tmp_path, compress):
    path = tmp_path / "w.npz"
    save_npz(_arrays(), path, compress=compress)
    for loaded in (load_npz(path), dict(np.load(path, allow_pickle=False))):
        assert list(loaded) == list(_arrays())
        for name, array in _arrays().items():
            assert loaded[name].dtype == array.dtype
            np.testing.assert_array_equal(loaded[name], array)
    assert load_npz(path)["fortran"].flags.f_contiguous


@pytest.mark.parametrize("writer", [np.savez, np.savez_compressed])
def test_we_read_numpy_files(tmp_path, writer):
    path = tmp_path / "np.npz"
    writer(path, a=np.arange(4), b=np.eye(2, dtype=np.float32))
    loaded = load_npz(path)
    np.testing.assert_array_equal(loaded["a"], np.arange(4))
    assert loaded["b"].dtype == np.float32 and loaded["b"].flags.writeable


def test_object_arrays_are_refused_both_ways(tmp_path):
    with pytest.raises(ValueError, match="object dtype"):
        save_npz({"o": np.array([{"a": 1}], dtype=object)}, tmp_path / "o.npz")
    assert not (tmp_path / "o.npz").exists()
    path = tmp_path / "pickle.npz"
    np.savez(path, evil=np.array([{"a": 1}], dtype=object))
    with pytest.raises(FormatError, match="array 'evil': object dtype .* would need pickle"):
        load_npz(path)


def test_unsafe_or_foreign_members_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unsafe"):
        save_npz({"../evil": np.zeros(1)}, tmp_path / "e.npz")
    with pytest.raises(TypeError, match="numpy array"):
        save_npz({"x": [1, 2]}, tmp_path / "e.npz")
    npy = io.BytesIO()
    np.save(npy, np.zeros(2))
    with pytest.raises(FormatError, match="unsafe name"):
        load_npz(io.BytesIO(zip_with([("../evil.npy", npy.getvalue())])))
    with pytest.raises(FormatError, match="'notes.txt' is not a .npy array"):
        load_npz(io.BytesIO(zip_with([("notes.txt", b"hi")])))


@pytest.mark.parametrize(
    "npy, message",
    [
        (b"not an npy file at all", "invalid .npy header"),
        (b"\x93NUMPY\x01\x00\x10\x00{'descr': 1}    \n", "invalid .npy header"),
        (
            b"\x93NUMPY\x01\x00v\x00"
            + b"{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }".ljust(117)
            + b"\n",
            "8796093022208 bytes",
        ),
        (
            b"\x93NUMPY\x01\x00v\x00"
            + b"{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }".ljust(117)
            + b"\n",
            "negative dimension",
        ),
    ],
)
def test_broken_npy_members_are_refused(npy, message):
    with pytest.raises(FormatError, match=message):
        load_npz(io.BytesIO(zip_with([("x.npy", npy)])))


def test_total_size_is_bounded(tmp_path):
    path = tmp_path / "w.npz"
    save_npz({"a": np.zeros(100), "b": np.zeros(100)}, path)
    with pytest.raises(FormatError, match="bound"):
        load_npz(path, max_bytes=1000)
    assert set(load_npz(path, max_bytes=2000)) == {"a", "b"}


def test_not_a_zip_is_a_format_error(tmp_path):
    path = tmp_path / "w.npz"
    path.write_bytes(b"\x80\x04K\x01.")  # a pickle
    with pytest.raises(FormatError, match="w.npz: not a valid zip archive"):
        load_npz(path)
    assert zipfile.is_zipfile(path) is False

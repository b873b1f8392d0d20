import os
import re
import struct

import numpy as np
import pytest

from io_helpers import raw_safetensors, sample_tensors
from lapenna.io import FormatError, load_bytes, load_file, read_header, save_bytes, save_file


def _assert_same(loaded, expected):
    assert list(loaded) == list(expected)
    for name, array in expected.items():
        assert loaded[name].dtype == array.dtype, name
        assert loaded[name].shape == array.shape, name
        np.testing.assert_array_equal(loaded[name], array)


def test_round_trip_every_dtype_through_file_and_bytes(tmp_path):
    tensors = sample_tensors()
    path = tmp_path / "w.safetensors"
    save_file(tensors, path, metadata={"epoch": "3", "rng": '{"seed": 1}'})
    loaded, meta = load_file(path, with_metadata=True)
    _assert_same(loaded, tensors)
    assert meta == {"epoch": "3", "rng": '{"seed": 1}'}
    _assert_same(load_bytes(save_bytes(tensors)), tensors)
    assert path.read_bytes() == save_bytes(tensors, {"epoch": "3", "rng": '{"seed": 1}'})


def test_header_is_read_without_tensors_and_data_is_aligned(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file({"a": np.zeros((2, 3), np.float32), "b": np.ones(5, np.int8)}, path)
    header = read_header(path)
    assert [(i.name, i.dtype, i.shape) for i in header.tensors.values()] == [
        ("a", "F32", (2, 3)),
        ("b", "I8", (5,)),
    ]
    assert header.data_start % 8 == 0
    assert header.tensors["b"].begin == 24 and header.tensors["b"].end == 29
    assert header.tensors["a"].numpy_dtype == np.float32


def test_loaded_arrays_are_owned_copies():
    data = bytearray(save_bytes({"x": np.arange(4, dtype=np.float32)}))
    x = load_bytes(data)["x"]
    assert x.flags.writeable
    assert not np.shares_memory(x, np.frombuffer(data, np.uint8))
    data[-4:] = b"\xff\xff\xff\xff"  # mutating the source must not reach the array
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]
    x[0] = 9.0  # and the array can be written


def test_file_arrays_are_writable(tmp_path):
    save_file({"x": np.arange(3.0)}, tmp_path / "w.safetensors")
    x = load_file(tmp_path / "w.safetensors")["x"]
    x += 1
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_big_endian_and_strided_inputs_are_written_as_little_endian_c_order():
    base = np.arange(12, dtype=">f4").reshape(3, 4)
    tensors = {"be": base, "strided": np.arange(20.0)[::3], "fortran": np.asfortranarray(base)}
    loaded = load_bytes(save_bytes(tensors))
    for name, array in tensors.items():
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].dtype.isnative


def test_bf16_loads_as_float32_exactly():
    values = np.array([1.0, -2.5, 3.140625, 0.0], np.float32)
    words = (values.view(np.uint32) >> 16).astype("<u2")
    header = {"b": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}}
    loaded = load_bytes(raw_safetensors(header, words.tobytes()))["b"]
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, values)


def test_bfloat16_arrays_are_written_as_bf16():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    values = np.array([1.0, -0.5, 256.0], ml_dtypes.bfloat16)
    data = save_bytes({"b": values})
    assert b'"BF16"' in data
    np.testing.assert_array_equal(load_bytes(data)["b"], values.astype(np.float32))


def test_writer_refuses_what_the_format_cannot_hold():
    with pytest.raises(ValueError, match="complex128"):
        save_bytes({"c": np.zeros(2, np.complex128)})
    with pytest.raises(ValueError, match="object"):
        save_bytes({"o": np.array([None])})
    with pytest.raises(TypeError, match="numpy array"):
        save_bytes({"l": [1.0, 2.0]})
    with pytest.raises(TypeError, match="strings"):
        save_bytes({1: np.zeros(1)})
    with pytest.raises(ValueError, match="reserved"):
        save_bytes({"__metadata__": np.zeros(1)})
    with pytest.raises(ValueError, match="str to str"):
        save_bytes({"x": np.zeros(1)}, metadata={"epoch": 3})


def test_empty_file_round_trips():
    assert load_bytes(save_bytes({})) == {}


def test_safetensors_package_reads_our_files(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    tensors = sample_tensors()
    path = tmp_path / "ours.safetensors"
    save_file(tensors, path, metadata={"format": "np"})
    _assert_same(dict(sorted(st.load_file(str(path)).items())), dict(sorted(tensors.items())))
    _assert_same(dict(sorted(st.load(save_bytes(tensors)).items())), dict(sorted(tensors.items())))


def test_we_read_the_safetensors_package_files(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    tensors = sample_tensors()
    path = tmp_path / "theirs.safetensors"
    st.save_file(tensors, str(path), metadata={"format": "np"})
    loaded, meta = load_file(path, with_metadata=True)
    assert meta == {"format": "np"}
    _assert_same(dict(sorted(loaded.items())), dict(sorted(tensors.items())))
    _assert_same(dict(sorted(load_bytes(st.save(tensors)).items())), dict(sorted(tensors.items())))


def _f32(name="x", begin=0, end=8, shape=(2,)):
    return {name: {"dtype": "F32", "shape": list(shape), "data_offsets": [begin, end]}}


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x01\x02", "shorter than the 8-byte header length field"),
        (struct.pack("<Q", 2**62) + b"{}", "header claims 4611686018427387904 bytes, more than"),
        (struct.pack("<Q", 50) + b"{}", "header claims 50 bytes but only 2 follow"),
        (raw_safetensors(b"\xff\xfe{}"), "not valid UTF-8"),
        (raw_safetensors(b"{not json"), "not valid JSON"),
        (raw_safetensors(b'{"a": 1, "a": 2}'), "duplicate key 'a'"),
        (raw_safetensors(b"[1, 2]"), "must be a JSON object"),
        (raw_safetensors(b'{"x": NaN}'), "NaN is not valid JSON"),
        (raw_safetensors(b"[" * 100_000 + b"]" * 100_000), "not valid JSON"),
        (raw_safetensors({"__metadata__": {"k": 1}}), "__metadata__['k'] must be a string"),
        (raw_safetensors({"__metadata__": [1]}), "__metadata__ must be an object"),
        (raw_safetensors({"x": [1]}), "tensor 'x': entry must be an object"),
        (raw_safetensors({"x": {"dtype": "F32", "shape": [1]}}), "exactly the keys"),
        (
            raw_safetensors({"x": {"dtype": "F32", "shape": [], "data_offsets": [0, 4], "k": 1}}),
            "exactly the keys",
        ),
        (raw_safetensors({"x": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}}), "Q7"),
        (raw_safetensors({"x": {"dtype": 5, "shape": [2], "data_offsets": [0, 8]}}), "unknown"),
        (
            raw_safetensors({"x": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}),
            "not supported",
        ),
        (raw_safetensors(_f32(shape=(-2,))), "non-negative ints"),
        (raw_safetensors(_f32(shape=(2.0,))), "non-negative ints"),
        (raw_safetensors(_f32(shape=(True, 2))), "non-negative ints"),
        (raw_safetensors(_f32(shape=(1,) * 33)), "at most 32"),
        (raw_safetensors(_f32(shape=(2**64,))), "non-negative ints"),
        (raw_safetensors({"x": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}), "begin"),
        (raw_safetensors({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0]}}), "two"),
        (raw_safetensors({"x": {"dtype": "F32", "shape": [2], "data_offsets": "0-8"}}), "two"),
        (raw_safetensors(_f32(end=12), bytes(12)), "span 12 bytes but dtype F32"),
        (raw_safetensors(_f32(shape=(2**40, 2**40), end=8)), "need"),
        (raw_safetensors({**_f32("a"), **_f32("b", 4, 12)}, bytes(12)), "overlap tensor 'a'"),
        (raw_safetensors(_f32(begin=4, end=12), bytes(12)), "gap after byte 0"),
        (raw_safetensors(_f32(), bytes(4)), "truncated file"),
        (raw_safetensors(_f32(begin=2**40, end=2**40 + 8), bytes(8)), "gap"),
        (raw_safetensors(_f32(), bytes(9)), "cover 8 bytes but the data buffer holds 9"),
        (
            raw_safetensors(
                {"b": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\x01\x07"
            ),
            "BOOL data holds bytes other than 0/1",
        ),
    ],
)
def test_hostile_headers_are_refused_in_bytes_and_files(tmp_path, data, message):
    with pytest.raises(FormatError, match=_escape(message)) as err:
        load_bytes(data, name="probe")
    assert str(err.value).startswith("probe")
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(data)
    with pytest.raises(FormatError, match=_escape(message)) as err:
        load_file(path)
    assert str(path) in str(err.value)


def _escape(message):
    return re.escape(message)


def test_header_bound_and_file_bound_are_configurable(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file({"x": np.zeros(100, np.float32)}, path)
    with pytest.raises(FormatError, match="more than the bound of 16"):
        read_header(path, max_header_bytes=16)
    with pytest.raises(FormatError, match="more than the bound of 100"):
        load_file(path, max_bytes=100)
    assert load_file(path, max_bytes=path.stat().st_size)["x"].shape == (100,)


def test_file_shrinking_between_header_and_data_is_a_format_error(tmp_path, monkeypatch):
    # the size is taken once, up front; a file cut short after that must still fail cleanly
    path = tmp_path / "w.safetensors"
    path.write_bytes(raw_safetensors(_f32(end=8), bytes(4)))
    real_fstat = os.fstat
    monkeypatch.setattr(
        os, "fstat", lambda fd: type("Stat", (), {"st_size": real_fstat(fd).st_size + 4})()
    )
    with pytest.raises(FormatError, match="file ended inside its data"):
        load_file(path)


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_file(tmp_path / "nope.safetensors")


def test_zero_dimensional_bf16_stays_a_writable_array():
    header = {"s": {"dtype": "BF16", "shape": [], "data_offsets": [0, 2]}}
    loaded = load_bytes(raw_safetensors(header, b"\x80\x3f"))["s"]  # 1.0 in bfloat16
    assert isinstance(loaded, np.ndarray) and loaded.shape == () and loaded.flags.writeable
    assert loaded == np.float32(1.0)

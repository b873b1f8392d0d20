"""Fuzzing the readers: every input loads exactly or raises FormatError, in bounded memory.

"Exactly" is checked against an independent decoding of the same bytes (and, for
safetensors, against the reference implementation when it is installed). Memory is
measured with tracemalloc, which sees numpy's allocations: small bounds are passed to
the readers, so no input may make them allocate more than a few megabytes.
"""

import io
import json
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from io_helpers import raw_safetensors
from lapenna.io import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    FormatError,
    archive_bytes,
    load_bytes,
    load_npz,
    read_archive,
    save_bytes,
)

PEAK_BYTES = 4 * 2**20
FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

try:
    import safetensors.numpy as reference
except ImportError:  # the cross-check is skipped, the rest of the fuzzing is not
    reference = None


def _bounded(call, *args, **kwargs):
    """Run ``call``; return its result or None for FormatError; check peak memory."""
    tracemalloc.start()  # only around the call: tracing hypothesis itself is slow
    try:
        result = call(*args, **kwargs)
    except FormatError:
        result = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{call.__name__} used {peak} bytes"
    return result


def test_the_memory_probe_sees_numpy_allocations():
    with pytest.raises(AssertionError, match="used"):
        _bounded(np.ones, PEAK_BYTES)
    assert _bounded(np.ones, 10).sum() == 10


# ---------------------------------------------------------------- safetensors


_RAW = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}


def _header(data):
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    header.pop("__metadata__", None)
    return length, header


def _independent_decode(data):
    """What the header says each tensor is, read straight from the bytes, in file order."""
    length, header = _header(data)
    out = {}
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        begin, end = entry["data_offsets"]
        raw = data[8 + length + begin : 8 + length + end]
        if entry["dtype"] == "BF16":
            words = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
            out[name] = words.view(np.float32).reshape(entry["shape"])
        else:
            out[name] = np.frombuffer(raw, _RAW[entry["dtype"]]).reshape(entry["shape"])
    return out


def _same_bits(a, b):
    return a.shape == b.shape and a.tobytes() == np.ascontiguousarray(b).tobytes()


def _check_safetensors(data):
    tensors = _bounded(load_bytes, data, max_header_bytes=4096)
    if tensors is None:
        return
    expected = _independent_decode(data)
    assert list(tensors) == list(expected)
    for name, array in tensors.items():
        assert array.flags.writeable and _same_bits(array, expected[name]), name
    has_bf16 = any(entry["dtype"] == "BF16" for entry in _header(data)[1].values())
    if reference is not None and not has_bf16:  # its numpy API has no bfloat16
        theirs = reference.load(bytes(data))
        assert set(theirs) == set(tensors)
        for name, array in theirs.items():
            assert _same_bits(tensors[name], array), name


# X9 is unknown to the reader, F8_E5M2 known but unsupported
_KNOWN = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"]
_DTYPE_NAMES = [*_KNOWN, "X9", "F8_E5M2"]
_INTS = st.one_of(st.integers(0, 40), st.integers(-3, 2**64), st.sampled_from([2**62, 2**63]))
_JSON_NOISE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
_ENTRY = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(_DTYPE_NAMES),
        "shape": st.lists(st.integers(0, 5) | _INTS, max_size=3),
        "data_offsets": st.lists(_INTS, min_size=2, max_size=2),
    }
)


@st.composite
def _plausible_header(draw):
    """Headers built from entries that are often self-consistent, sometimes not."""
    names = draw(st.lists(st.text(min_size=1, max_size=6), max_size=4, unique=True))
    header, position = {}, 0
    for name in names:
        if draw(st.integers(0, 3)):  # mostly consistent entries, so some files load
            dtype = draw(st.sampled_from(_KNOWN))
            shape = draw(st.lists(st.integers(0, 3), max_size=3))
            size = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2, "BF16": 2, "I16": 2}
            nbytes = int(np.prod(shape, dtype=np.int64)) * size.get(dtype, 1)
            header[name] = {
                "dtype": dtype,
                "shape": shape,
                "data_offsets": [position, position + nbytes],
            }
            position += nbytes
        else:
            header[name] = draw(_ENTRY | _JSON_NOISE)
    if draw(st.booleans()):
        header["__metadata__"] = draw(
            st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2) | _JSON_NOISE
        )
    extra = draw(st.sampled_from([0, 0, 0, -1, 1]))
    data = draw(st.binary(min_size=max(0, position + extra), max_size=max(0, position + extra)))
    return raw_safetensors(header, data)


@settings(FUZZ, max_examples=600)
@given(_plausible_header())
def test_fuzz_safetensors_random_headers(data):
    _check_safetensors(data)


@settings(FUZZ, max_examples=300)
@given(st.binary(max_size=64))
def test_fuzz_safetensors_random_bytes(data):
    _check_safetensors(data)


_VALID = save_bytes(
    {
        "w": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b": np.array([True, False]),
        "n": np.array(3, np.int64),
        "e": np.zeros((0, 2), np.float16),
    },
    metadata={"epoch": "1"},
)


@st.composite
def _mutated(draw, valid):
    """Truncations, bit flips, length-field changes, insertions and overwrites."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "length", "insert", "overwrite"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "truncate":
            del data[at:]
        elif kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "length" and len(data) >= 8:
            value = draw(st.integers(0, 2**64 - 1) | st.integers(0, len(data) + 16))
            struct.pack_into("<Q", data, 0, value)
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[at : at + len(chunk)] = chunk
    return bytes(data)


@settings(FUZZ, max_examples=1000)
@given(_mutated(_VALID))
def test_fuzz_safetensors_many_mutations(data):
    _check_safetensors(data)


# ---------------------------------------------------------------- zip archives

_ENTRIES = {CONFIG_NAME: b'{"class_name": "Sequential"}' * 4, WEIGHTS_NAME: _VALID}
_ARCHIVE = archive_bytes(_ENTRIES)


@settings(FUZZ, max_examples=800)
@given(_mutated(_ARCHIVE))
def test_fuzz_archive_reader(data):
    got = _bounded(
        read_archive, io.BytesIO(data), [CONFIG_NAME, WEIGHTS_NAME], max_entry_bytes=4096
    )
    assert got is None or got == _ENTRIES


_NPZ = io.BytesIO()
with zipfile.ZipFile(_NPZ, "w", zipfile.ZIP_DEFLATED) as _zf:
    for _name, _array in {"a": np.arange(5, dtype=np.int16), "b": np.eye(2)}.items():
        with _zf.open(f"{_name}.npy", "w") as _member:
            np.lib.format.write_array(_member, _array)


@settings(FUZZ, max_examples=500)
@given(_mutated(_NPZ.getvalue()))
def test_fuzz_npz_reader(data):
    got = _bounded(load_npz, io.BytesIO(data), max_bytes=4096)
    if got is not None:
        assert set(got) == {"a", "b"}
        np.testing.assert_array_equal(got["a"], np.arange(5, dtype=np.int16))
        np.testing.assert_array_equal(got["b"], np.eye(2))

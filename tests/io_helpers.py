"""Builders of valid and broken files for the io tests."""

import io
import json
import struct
import zipfile

import numpy as np


def raw_safetensors(header, data=b"", length=None):
    """Bytes of a safetensors file with ``header`` (a dict or raw bytes) and ``data``."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    size = len(text) if length is None else length
    return struct.pack("<Q", size) + text + data


def sample_tensors():
    """One array of every dtype the format stores, with awkward shapes among them."""
    rng = np.random.default_rng(0)
    return {
        "f64": rng.standard_normal((3, 2)),
        "f32": rng.standard_normal((2, 3, 4)).astype(np.float32),
        "f16": rng.standard_normal(5).astype(np.float16),
        "i64": np.array(7, dtype=np.int64),  # 0-d
        "i32": rng.integers(-9, 9, (4, 1), dtype=np.int32),
        "i16": rng.integers(-9, 9, 3, dtype=np.int16),
        "i8": rng.integers(-9, 9, 3, dtype=np.int8),
        "u64": np.array([2**63 + 5], dtype=np.uint64),
        "u32": np.arange(3, dtype=np.uint32),
        "u16": np.arange(3, dtype=np.uint16),
        "u8": np.arange(6, dtype=np.uint8).reshape(2, 3),
        "bool": np.array([True, False, True]),
        "empty": np.zeros((0, 4), np.float32),
        "optimizer/dense/kernel/m": np.ones((2, 2), np.float32),
    }


def patch_zip_sizes(data, name, declared):
    """Rewrite the uncompressed size the central directory declares for entry ``name``."""
    data = bytearray(data)
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) != -1:
        name_len = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46 : start + 46 + name_len] == name.encode():
            struct.pack_into("<I", data, start + 24, declared)
            return bytes(data)
        start += 4
    raise AssertionError(f"entry {name} not found")


def zip_with(entries, compression=zipfile.ZIP_DEFLATED):
    """A zip (bytes) with arbitrary, possibly hostile, entry names."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in entries:
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()

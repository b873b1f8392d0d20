"""A reader and writer of the safetensors format that treats every file as hostile.

Layout: an 8-byte little-endian unsigned header length ``N``; ``N`` bytes of UTF-8 JSON,
an object mapping each tensor name to ``{"dtype", "shape", "data_offsets": [begin, end]}``
plus an optional ``"__metadata__"`` object of string to string; then the data buffer, in
which each tensor's bytes (C order, little-endian) sit at ``[begin, end)`` counted from
the first byte after the header. The reader checks all of it before reading any tensor:
the header size against a bound and the file size, the JSON, every dtype, shape and
offset pair, that each byte range holds exactly ``itemsize * prod(shape)`` bytes, and
that the ranges tile the buffer (sorted, from 0, no gap, no overlap, ending at its end).

Loaded arrays are fresh, writable and owned by the caller. ``BF16`` tensors load as
float32 (exact); the 8-bit float formats are refused.
"""

import json
import os
import struct

from lapenna.backend import host_np as np
from lapenna.io.atomic import atomic_write
from lapenna.io.errors import FormatError
from lapenna.io.files import open_regular
from lapenna.io.safetensors_header import (
    DTYPE_NAMES,
    MAX_HEADER_BYTES,
    STORAGE_DTYPES,
    Header,
    TensorInfo,
    parse_header,
    short_repr,
)

__all__ = [
    "Header",
    "TensorInfo",
    "read_header",
    "load_file",
    "load_bytes",
    "save_file",
    "save_bytes",
]


# ---------------------------------------------------------------- reading


def read_header(path, max_header_bytes=MAX_HEADER_BYTES):
    """Read and validate the header of a safetensors file without reading any tensor.

    Args:
        path: the file.
        max_header_bytes: refuse headers longer than this (100 MB by default).

    Returns:
        A :class:`Header`.

    Raises:
        FormatError: naming the file, the tensor and what is wrong.
        OSError: when the file cannot be opened (missing, a folder...).

    Example:
        >>> import os, tempfile, numpy as np
        >>> p = os.path.join(tempfile.mkdtemp(), "w.safetensors")
        >>> save_file({"w": np.zeros((2, 3), np.float32)}, p)
        >>> read_header(p).tensors["w"].shape
        (2, 3)
    """
    with open_regular(path) as f:
        return _read_header_from(f, os.fstat(f.fileno()).st_size, str(path), max_header_bytes)


def load_file(path, max_bytes=None, *, with_metadata=False, max_header_bytes=MAX_HEADER_BYTES):
    """Load every tensor of a safetensors file as caller-owned numpy arrays.

    Args:
        path: the file.
        max_bytes: refuse files larger than this many bytes (``None``: no bound but the
            file's own size).
        with_metadata: also return the ``__metadata__`` dict.
        max_header_bytes: refuse headers longer than this.

    Returns:
        ``{name: ndarray}`` in data-buffer order, or ``(tensors, metadata)``.

    Raises:
        FormatError: for any invalid or oversized file, before any tensor is read.
        OSError: when the file cannot be opened.

    Example:
        >>> import os, tempfile, numpy as np
        >>> p = os.path.join(tempfile.mkdtemp(), "w.safetensors")
        >>> save_file({"b": np.arange(3, dtype=np.int64)}, p, metadata={"epoch": "2"})
        >>> tensors, meta = load_file(p, with_metadata=True)
        >>> tensors["b"].tolist(), meta
        ([0, 1, 2], {'epoch': '2'})
    """
    source = str(path)
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        _check_total(size, max_bytes, source)
        header = _read_header_from(f, size, source, max_header_bytes)
        tensors = {}
        for info in header.tensors.values():
            f.seek(header.data_start + info.begin)
            raw = np.empty(info.shape, STORAGE_DTYPES[info.dtype])
            got = f.readinto(raw.reshape(-1).view(np.uint8)) if raw.nbytes else 0
            if got != raw.nbytes:
                raise FormatError(f"{source}: tensor {info.name!r}: file ended inside its data")
            tensors[info.name] = _finish(raw, info, source)
    return (tensors, dict(header.metadata)) if with_metadata else tensors


def load_bytes(data, *, name="<bytes>", with_metadata=False, max_header_bytes=MAX_HEADER_BYTES):
    """Load a safetensors file held in memory (bytes, bytearray or memoryview).

    Args:
        data: the file's bytes.
        name: what error messages call this data (an archive entry, say).
        with_metadata: also return the ``__metadata__`` dict.
        max_header_bytes: refuse headers longer than this.

    Returns:
        ``{name: ndarray}`` (copies, never views of ``data``), or ``(tensors, metadata)``.

    Raises:
        FormatError: for anything invalid.

    Example:
        >>> import numpy as np
        >>> load_bytes(save_bytes({"x": np.ones(2, np.float32)}))["x"].tolist()
        [1.0, 1.0]
    """
    view = memoryview(data).cast("B")
    length = _parse_prefix(bytes(view[:8]), len(view), name, max_header_bytes)
    header = parse_header(bytes(view[8 : 8 + length]), len(view) - 8 - length, name)
    tensors = {}
    for info in header.tensors.values():
        raw = np.empty(info.shape, STORAGE_DTYPES[info.dtype])
        chunk = view[header.data_start + info.begin : header.data_start + info.end]
        raw.reshape(-1).view(np.uint8)[:] = np.frombuffer(chunk, np.uint8)
        tensors[info.name] = _finish(raw, info, name)
    return (tensors, dict(header.metadata)) if with_metadata else tensors


def _check_total(size, max_bytes, source):
    if max_bytes is not None and size > max_bytes:
        raise FormatError(f"{source}: file is {size} bytes, more than the bound of {max_bytes}")


def _parse_prefix(prefix, total, source, max_header_bytes):
    """The header length from the first 8 bytes, checked against the bound and the size."""
    if total < 8:
        raise FormatError(
            f"{source}: file is {total} bytes long, shorter than the 8-byte header length field"
        )
    (length,) = struct.unpack("<Q", prefix)
    if length > max_header_bytes:
        raise FormatError(
            f"{source}: header claims {length} bytes, more than the bound of {max_header_bytes}"
        )
    if length > total - 8:
        raise FormatError(
            f"{source}: header claims {length} bytes but only {total - 8} follow the length "
            "field (truncated file?)"
        )
    return length


def _read_header_from(f, size, source, max_header_bytes):
    length = _parse_prefix(f.read(8) if size >= 8 else b"", size, source, max_header_bytes)
    raw = f.read(length)
    if len(raw) != length:
        raise FormatError(f"{source}: file ended inside the header")
    return parse_header(raw, size - 8 - length, source)


def _finish(raw, info, source):
    """Turn raw little-endian storage into the array the caller gets."""
    if info.dtype == "BF16":
        # bfloat16 is the top half of a float32: shifting the bits up is exact
        widened = raw.astype(np.uint32)
        widened <<= 16  # in place: a 0-d array must stay an array, not become a scalar
        return widened.view(np.float32)
    if info.dtype == "BOOL" and raw.size and raw.view(np.uint8).max() > 1:
        raise FormatError(f"{source}: tensor {info.name!r}: BOOL data holds bytes other than 0/1")
    return raw if raw.dtype.isnative else raw.astype(raw.dtype.newbyteorder("="))


# ---------------------------------------------------------------- writing


def save_file(tensors, path, metadata=None):
    """Write ``{name: ndarray}`` as a safetensors file, atomically.

    The file is written to a temporary file in the same folder and renamed over
    ``path``, so a crash leaves either the old file or the new one.

    Args:
        tensors: a dict of str to numpy arrays (bool, int, uint and float dtypes).
        path: the target file.
        metadata: optional dict of str to str stored as ``__metadata__``.

    Raises:
        TypeError: for a name that is not a string or a value that is not an array.
        ValueError: for a dtype the format cannot hold or metadata that is not str to str.

    Example:
        >>> import os, tempfile, numpy as np
        >>> p = os.path.join(tempfile.mkdtemp(), "w.safetensors")
        >>> save_file({"w": np.eye(2, dtype=np.float32)}, p)
        >>> load_file(p)["w"].sum()
        np.float32(2.0)
    """
    header, arrays = _serialize(tensors, metadata)
    with atomic_write(path) as f:
        f.write(header)
        for array in arrays:
            f.write(array)


def save_bytes(tensors, metadata=None):
    """Return the safetensors encoding of ``tensors`` as bytes (see :func:`save_file`).

    Example:
        >>> import numpy as np
        >>> len(save_bytes({"x": np.zeros(4, np.uint8)})) % 8
        4
    """
    header, arrays = _serialize(tensors, metadata)
    return b"".join([header, *(array.tobytes() for array in arrays)])


def _serialize(tensors, metadata):
    """The header bytes (length field included) and the arrays as little-endian bytes."""
    if not isinstance(tensors, dict):
        raise TypeError(f"save_file expects a dict of name -> ndarray, got {type(tensors)}")
    header = {}
    if metadata is not None:
        header["__metadata__"] = _check_metadata_arg(metadata)
    arrays, position = [], 0
    for name, array in tensors.items():
        stored, dtype_name = _storable(name, array)
        header[name] = {
            "dtype": dtype_name,
            "shape": list(stored.shape),
            "data_offsets": [position, position + stored.nbytes],
        }
        position += stored.nbytes
        arrays.append(stored.reshape(-1).view(np.uint8))
    text = json.dumps(header, separators=(",", ":")).encode("ascii")
    text += b" " * (-len(text) % 8)  # keep the data buffer 8-byte aligned
    return struct.pack("<Q", len(text)) + text, arrays


def _check_metadata_arg(metadata):
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise ValueError(
            "safetensors metadata must be a dict of str to str (encode other values with "
            f"json.dumps), got {short_repr(metadata)}"
        )
    return dict(metadata)


def _storable(name, array):
    """The C-contiguous little-endian array to write and its format dtype name."""
    if not isinstance(name, str):
        raise TypeError(f"safetensors tensor names must be strings, got {name!r}")
    if name == "__metadata__":
        raise ValueError("'__metadata__' is reserved and cannot name a tensor")
    if not isinstance(array, np.ndarray | np.generic):
        raise TypeError(f"tensor {name!r} must be a numpy array, got {type(array).__name__}")
    array = np.asarray(array)
    if array.dtype.name == "bfloat16" and array.dtype.itemsize == 2:
        return array.astype(array.dtype, order="C", copy=False).view(np.dtype("<u2")), "BF16"
    dtype_name = DTYPE_NAMES.get((array.dtype.kind, array.dtype.itemsize))
    if dtype_name is None or array.dtype.kind not in "biuf":
        raise ValueError(
            f"tensor {name!r} has dtype {array.dtype}, which safetensors cannot store "
            "(bool, int8-64, uint8-64, float16/32/64 only)"
        )
    little = array.dtype.newbyteorder("<")
    return array.astype(little, order="C", copy=False), dtype_name

"""Validation of safetensors headers: every rule checked before any tensor is read.

The header is a JSON object mapping each tensor name to ``{"dtype", "shape",
"data_offsets": [begin, end]}``, plus an optional ``"__metadata__"`` object of string to
string. A header is accepted only if it is valid UTF-8 JSON without duplicate keys or
NaN, every dtype is known, every shape is a list of at most ``MAX_NDIM`` non-negative
ints, every offset pair is two non-negative ints with ``begin <= end`` spanning exactly
``itemsize * prod(shape)`` bytes, and the ranges tile the data buffer: sorted, starting
at 0, without gap or overlap, ending at its last byte.
"""

import dataclasses
import math

from lapenna.backend import host_np as np
from lapenna.io.config import strict_json_loads
from lapenna.io.errors import FormatError

MAX_HEADER_BYTES = 100_000_000
MAX_NDIM = 32
_MAX_DIM = 2**63 - 1

# format name -> numpy dtype of the stored bytes
STORAGE_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # read as raw 16-bit words, widened to float32 after
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_KNOWN_UNSUPPORTED = {"F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"}
DTYPE_NAMES = {(dtype.kind, dtype.itemsize): name for name, dtype in STORAGE_DTYPES.items()}
DTYPE_NAMES[("u", 2)] = "U16"  # BF16 shares the raw dtype; plain uint16 is U16
_TENSOR_KEYS = {"dtype", "shape", "data_offsets"}


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """One tensor's entry in a validated header.

    Attributes:
        name: the tensor's name.
        dtype: the format's dtype name (``"F32"``).
        shape: a tuple of ints.
        begin, end: byte offsets in the data buffer.
    """

    name: str
    dtype: str
    shape: tuple
    begin: int
    end: int

    @property
    def numpy_dtype(self):
        """The numpy dtype of the loaded array (float32 for BF16)."""
        return (
            np.dtype(np.float32)
            if self.dtype == "BF16"
            else STORAGE_DTYPES[self.dtype].newbyteorder("=")
        )


@dataclasses.dataclass(frozen=True)
class Header:
    """A validated safetensors header.

    Attributes:
        tensors: name -> :class:`TensorInfo`, in data-buffer order.
        metadata: the ``__metadata__`` dict of str to str (empty when absent).
        data_start: the file offset of the data buffer (8 + header length).
    """

    tensors: dict
    metadata: dict
    data_start: int


def parse_header(raw, buffer_len, source):
    """Decode and validate header bytes; ``buffer_len`` is the size of the data buffer."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise FormatError(f"{source}: header is not valid UTF-8 ({err.reason})") from None
    try:
        obj = strict_json_loads(text)
    except (ValueError, RecursionError) as err:
        raise FormatError(f"{source}: header is not valid JSON ({err})") from None
    if not isinstance(obj, dict):
        raise FormatError(f"{source}: header must be a JSON object, got {type(obj).__name__}")
    metadata = _check_metadata(obj.pop("__metadata__", {}), source)
    infos = [_check_entry(name, entry, source) for name, entry in obj.items()]
    infos.sort(key=lambda info: (info.begin, info.end))
    _check_tiling(infos, buffer_len, source)
    return Header({info.name: info for info in infos}, metadata, 8 + len(raw))


def _check_metadata(metadata, source):
    if not isinstance(metadata, dict):
        raise FormatError(
            f"{source}: __metadata__ must be an object, got {type(metadata).__name__}"
        )
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise FormatError(
                f"{source}: __metadata__[{key!r}] must be a string, got {type(value).__name__}"
            )
    return metadata


def _check_entry(name, entry, source):
    where = f"{source}: tensor {name!r}"
    if not isinstance(entry, dict):
        raise FormatError(f"{where}: entry must be an object, got {type(entry).__name__}")
    if set(entry) != _TENSOR_KEYS:
        raise FormatError(
            f"{where}: entry must have exactly the keys dtype, shape, data_offsets; "
            f"got {sorted(entry)}"
        )
    dtype = entry["dtype"]
    if isinstance(dtype, str) and dtype in _KNOWN_UNSUPPORTED:
        raise FormatError(f"{where}: dtype {dtype} is not supported by lapenna")
    if not isinstance(dtype, str) or dtype not in STORAGE_DTYPES:
        raise FormatError(f"{where}: unknown dtype {dtype!r} (known: {', '.join(STORAGE_DTYPES)})")
    shape = entry["shape"]
    if not isinstance(shape, list) or len(shape) > MAX_NDIM or not all(map(_is_dim, shape)):
        raise FormatError(
            f"{where}: shape must be a list of at most {MAX_NDIM} non-negative ints, got "
            f"{short_repr(shape)}"
        )
    offsets = entry["data_offsets"]
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(map(_is_dim, offsets))
        or offsets[0] > offsets[1]
    ):
        raise FormatError(
            f"{where}: data_offsets must be two non-negative ints [begin, end] with "
            f"begin <= end, got {short_repr(offsets)}"
        )
    begin, end = offsets
    expected = math.prod(shape) * STORAGE_DTYPES[dtype].itemsize
    if end - begin != expected:
        raise FormatError(
            f"{where}: data_offsets {offsets} span {end - begin} bytes but dtype {dtype} and "
            f"shape {shape} need {expected}"
        )
    return TensorInfo(name, dtype, tuple(shape), begin, end)


def _is_dim(value):
    return type(value) is int and 0 <= value <= _MAX_DIM


def short_repr(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_tiling(infos, buffer_len, source):
    position = 0
    previous = None
    for info in infos:
        if info.begin < position:
            raise FormatError(
                f"{source}: tensor {info.name!r}: data_offsets [{info.begin}, {info.end}] "
                f"overlap tensor {previous.name!r} [{previous.begin}, {previous.end}]"
            )
        if info.begin > position:
            raise FormatError(
                f"{source}: tensor {info.name!r}: data starts at {info.begin}, leaving a gap "
                f"after byte {position} of the data buffer"
            )
        position, previous = info.end, info
    if position != buffer_len:
        raise FormatError(
            f"{source}: tensors cover {position} bytes but the data buffer holds {buffer_len} "
            f"(truncated file or trailing bytes)"
        )

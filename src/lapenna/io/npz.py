"""``.npz`` weight files without pickle: object arrays are refused both ways.

The reader does not hand the file to ``numpy.load``: it reads each ``.npy`` member
through the bounded zip reader, parses the ``.npy`` header with numpy's header parser
(a literal, never code), refuses object dtypes, checks that the member holds exactly the
bytes the header's shape and dtype need, and copies the data into a fresh array.
"""

import io
import math
import zipfile

from lapenna.backend import host_np as np
from lapenna.io.archive import (
    MAX_ENTRY_BYTES,
    checked_entries,
    open_archive,
    read_entry,
    unsafe_name_reason,
)
from lapenna.io.atomic import atomic_write
from lapenna.io.errors import FormatError

_MAX_NPY_HEADER = 10_000
_HEADER_ERRORS = (ValueError, TypeError, SyntaxError, OverflowError, MemoryError, EOFError)


def save_npz(arrays, path, *, compress=False):
    """Write ``{name: ndarray}`` as an ``.npz`` file atomically, never pickling.

    Names may contain ``/`` (``"optimizer/dense/kernel/m"``) but must be safe archive
    paths; each array becomes the member ``<name>.npy``, as ``numpy.savez`` writes it,
    so ``numpy.load`` reads the file too.

    Args:
        arrays: a dict of names to numpy arrays (no object dtypes).
        path: the target file.
        compress: deflate the members (like ``numpy.savez_compressed``).

    Raises:
        TypeError: for a value that is not an array.
        ValueError: for an unsafe name or an object dtype.

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> save_npz({"dense/kernel": np.ones((2, 2), np.float32)}, p)
        >>> load_npz(p)["dense/kernel"].shape
        (2, 2)
    """
    checked = {_member_name(name): _array(name, value) for name, value in arrays.items()}
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_write(path) as f, zipfile.ZipFile(f, "w") as zf:
        for member, array in checked.items():
            with zf.open(_info(member, method), "w", force_zip64=array.nbytes > 2**30) as out:
                np.lib.format.write_array(out, array, allow_pickle=False)


def load_npz(path, max_bytes=MAX_ENTRY_BYTES):
    """Load every array of an ``.npz`` file without ever unpickling.

    Args:
        path: the file, or a binary file object.
        max_bytes: bound on the total bytes read: the members' declared sizes are added
            up and refused before anything is inflated, and each member is read in chunks,
            refused as soon as it passes its declared size or the bound.

    Returns:
        ``{name: ndarray}`` with fresh, writable arrays.

    Raises:
        FormatError: not a zip, a member that is not ``.npy``, an unsafe name, an object
            dtype (a pickle), a header that does not match the data, or too many bytes.
        OSError: when the file cannot be opened.

    Example:
        >>> import io
        >>> buf = io.BytesIO()
        >>> np.savez(buf, x=np.arange(3))
        >>> load_npz(buf)["x"].tolist()
        [0, 1, 2]
    """
    out, budget = {}, max_bytes
    with open_archive(path) as (zf, source):
        entries = checked_entries(zf, source)
        declared = sum(info.file_size for info in entries.values())
        if declared > max_bytes:
            raise FormatError(
                f"{source}: its arrays declare {declared} bytes, more than the bound of {max_bytes}"
            )
        for member, info in entries.items():
            if not member.endswith(".npy"):
                raise FormatError(f"{source}: entry {member!r} is not a .npy array")
            data = read_entry(zf, info, budget, source)
            budget -= len(data)
            out[member[:-4]] = _parse_npy(data, f"{source}: array {member[:-4]!r}")
    return out


def _member_name(name):
    if not isinstance(name, str):
        raise TypeError(f"save_npz: array names must be strings, got {name!r}")
    reason = unsafe_name_reason(name + ".npy") if name else "it is empty"
    if reason is not None:
        raise ValueError(f"save_npz: array name {name!r} is unsafe: {reason}")
    return name + ".npy"


def _array(name, value):
    if not isinstance(value, np.ndarray | np.generic):
        raise TypeError(f"save_npz: {name!r} must be a numpy array, got {type(value).__name__}")
    value = np.asarray(value)
    if value.dtype.hasobject:
        raise ValueError(f"save_npz: {name!r} has object dtype, which would need pickle")
    return value


def _info(member, method):
    info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = method
    info.external_attr = 0o644 << 16
    return info


def _parse_npy(data, where):
    """An array from ``.npy`` bytes, after checking the header against the data."""
    buffer = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buffer)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(buffer, max_header_size=_MAX_NPY_HEADER)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(buffer, max_header_size=_MAX_NPY_HEADER)
        else:
            raise ValueError(f".npy format version {version} is not supported")
    except _HEADER_ERRORS as err:
        raise FormatError(f"{where}: invalid .npy header ({err})") from None
    shape, fortran_order, dtype = header
    if any(dim < 0 for dim in shape):
        raise FormatError(f"{where}: negative dimension in shape {shape}")
    if dtype.hasobject:
        raise FormatError(
            f"{where}: object dtype {dtype} would need pickle to load; refused "
            "(numpy.load(allow_pickle=False) refuses it too)"
        )
    offset = buffer.tell()
    need = math.prod(shape) * dtype.itemsize
    if len(data) - offset != need:
        raise FormatError(
            f"{where}: header says shape {shape} of {dtype} ({need} bytes) but "
            f"{len(data) - offset} bytes follow"
        )
    order = "F" if fortran_order else "C"
    if need == 0:
        return np.empty(shape, dtype, order=order)
    flat = np.frombuffer(data, dtype, math.prod(shape), offset)
    return flat.reshape(shape, order=order).copy(order="K")

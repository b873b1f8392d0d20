"""Reader for the IDX format of MNIST and Fashion-MNIST (raw or gzip-compressed).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in big-endian row-major
order. Every field is checked before numpy sees the bytes, and each error names the file and
the field.
"""

import gzip
import io
import zlib
from pathlib import Path

from lapenna.backend import host_np as np
from lapenna.datasets.errors import DatasetFormatError

TYPE_CODES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_DECOMPRESSED_BYTES = 1 << 30


def read_bytes(path, max_bytes=MAX_DECOMPRESSED_BYTES):
    """The contents of ``path``, decompressed if it is gzip (by magic bytes, not by name).

    Raises:
        DatasetFormatError: for a corrupt or truncated gzip stream, or one that expands past
            ``max_bytes``.
    """
    path = Path(path)
    data = path.read_bytes()
    return gunzip_if_needed(data, path.name, max_bytes)


def gunzip_if_needed(data, name, max_bytes=MAX_DECOMPRESSED_BYTES):
    """``data`` itself, or its decompression when it starts with the gzip magic bytes."""
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            content = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetFormatError(
            f"{name}: the gzip stream is corrupt or truncated ({err})"
        ) from err
    if len(content) > max_bytes:
        raise DatasetFormatError(f"{name}: decompresses to more than {max_bytes} bytes")
    return content


def parse_idx(data, name="<bytes>"):
    """Parse the bytes of an IDX file into an array of native byte order.

    Args:
        data: the (already decompressed) file contents.
        name: the file name used in error messages.

    Returns:
        A writable array with the file's dimensions and dtype.

    Raises:
        DatasetFormatError: naming the file and the bad field (magic number, type code,
            dimensions, data size).
    """
    if len(data) < 4:
        raise DatasetFormatError(
            f"{name}: file is {len(data)} bytes, shorter than the 4-byte magic number"
        )
    magic = int.from_bytes(data[:4], "big")
    type_code, ndim = data[2], data[3]
    if data[0] != 0 or data[1] != 0:
        raise DatasetFormatError(
            f"{name}: magic number is 0x{magic:08X}; an IDX file starts with two zero bytes"
        )
    if type_code not in TYPE_CODES:
        known = ", ".join(f"0x{code:02X}" for code in TYPE_CODES)
        raise DatasetFormatError(
            f"{name}: magic number 0x{magic:08X} has type code 0x{type_code:02X}, expected "
            f"one of {known}"
        )
    if ndim == 0:
        raise DatasetFormatError(f"{name}: magic number 0x{magic:08X} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetFormatError(
            f"{name}: header truncated: {ndim} dimensions need {header} bytes, file has {len(data)}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = TYPE_CODES[type_code]
    count, extent = 1, 1
    for size in dims:
        count *= size
        extent *= max(size, 1)
    if extent * dtype.itemsize >= 2**62:
        # numpy refuses such shapes even when a zero dimension leaves them empty
        raise DatasetFormatError(f"{name}: dimensions {dims} describe an impossibly large array")
    expected = count * dtype.itemsize
    found = len(data) - header
    if found < expected:
        raise DatasetFormatError(
            f"{name}: data truncated: dimensions {dims} of {dtype.itemsize}-byte values need "
            f"{expected} bytes, found {found}"
        )
    if found > expected:
        raise DatasetFormatError(
            f"{name}: {found - expected} unexpected bytes after the data of dimensions {dims}"
        )
    values = np.frombuffer(data, dtype=dtype, count=count, offset=header)
    return values.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def read_idx(path):
    """Read an IDX file (``.gz`` or raw) from disk; see :func:`parse_idx`.

    Example:
        >>> images = read_idx("train-images-idx3-ubyte.gz")  # doctest: +SKIP
        >>> images.shape, images.dtype  # doctest: +SKIP
        ((60000, 28, 28), dtype('uint8'))
    """
    path = Path(path)
    return parse_idx(read_bytes(path), path.name)


def read_image_label_pair(images_path, labels_path, num_classes=10):
    """Read an IDX image file and its label file; check they fit each other.

    Returns:
        ``(images, labels)``: uint8 (N, rows, cols, 1) and uint8 (N,).

    Raises:
        DatasetFormatError: for the wrong type or rank, mismatched counts, or labels out of
            range, naming the file and field.
    """
    images, labels = read_idx(images_path), read_idx(labels_path)
    images_name, labels_name = Path(images_path).name, Path(labels_path).name
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DatasetFormatError(
            f"{images_name}: expected unsigned-byte images with 3 dimensions (count, rows, "
            f"cols), got {images.dtype} with dimensions {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DatasetFormatError(
            f"{labels_name}: expected unsigned-byte labels with 1 dimension (count), got "
            f"{labels.dtype} with dimensions {labels.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise DatasetFormatError(
            f"{labels_name}: item count {labels.shape[0]} does not match the image count "
            f"{images.shape[0]} of {images_name}"
        )
    bad = np.flatnonzero(labels >= num_classes)
    if bad.size:
        raise DatasetFormatError(
            f"{labels_name}: label {labels[bad[0]]} at index {bad[0]} is outside "
            f"0..{num_classes - 1}"
        )
    return images[..., None], labels

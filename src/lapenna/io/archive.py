"""The ``.lpn`` container: a zip whose entries are read by exact name, with a size bound.

A model file holds ``config.json`` (architecture, compile settings, versions) and
``model.safetensors`` (weights, optimizer state when asked), and may hold other entries
under fixed names. The reader never extracts anything to disk and never opens a path
taken from the file: it looks up the names the caller expects, refuses archives that
contain unsafe names (``..``, absolute paths, backslashes) or duplicate names, and reads
each entry in chunks, stopping as soon as it exceeds the bound, so a zip bomb cannot
exhaust memory whatever sizes its directory declares.

Before anything is inflated, each entry's declared size is checked against its bound (what
the reader needs: a config's cap, the bytes a known model's weights take) and, for a
deflated entry larger than ``RATIO_FREE_BYTES``, against ``MAX_INFLATE_RATIO`` times its
compressed size: deflate can reach about 1000:1 on zeros, while lapenna's own files reach
about 120:1 (a config of 20,000 layers) and weights barely compress. So an entry is either
refused after reading nothing, or costs memory in proportion to the file's real size.
"""

import contextlib
import io
import os
import struct
import zipfile
import zlib

from lapenna.io.atomic import atomic_write
from lapenna.io.errors import FormatError
from lapenna.io.files import open_regular

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
MAX_ENTRY_BYTES = 2**32
MAX_ENTRIES = 10_000
MAX_INFLATE_RATIO = 400
RATIO_FREE_BYTES = 1 << 20
_CHUNK = 1 << 20
_DATE = (1980, 1, 1, 0, 0, 0)  # a fixed timestamp: the same model gives the same bytes

# What zipfile raises on malformed input (a negative seek is an OSError on real files,
# a ValueError on in-memory ones). Missing files are opened before zipfile sees them.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    UnicodeDecodeError,
    KeyError,
    IndexError,
)


def unsafe_name_reason(name):
    """Why ``name`` may not name an entry (``None`` when it is safe).

    Safe names are non-empty relative paths of ``/``-separated parts, none of them
    empty, ``.`` or ``..``, with no backslash, colon or NUL (a colon would be a drive
    on Windows).

    Example:
        >>> unsafe_name_reason("../evil")
        "it contains a '..' part"
        >>> unsafe_name_reason("config.json") is None
        True
    """
    if not isinstance(name, str) or not name:
        return "it is empty or not a string"
    if name.startswith("/"):
        return "it is an absolute path"
    for char, what in (("\\", "a backslash"), (":", "a colon"), ("\0", "a NUL byte")):
        if char in name:
            return f"it contains {what}"
    parts = name.split("/")
    if ".." in parts:
        return "it contains a '..' part"
    if any(part in ("", ".") for part in parts):
        return "it contains an empty or '.' part"
    return None


def write_archive(path, entries, *, compress=True):
    """Write a zip of ``{name: bytes}`` atomically (temporary file, fsync, rename).

    Args:
        path: the target file (a ``.lpn`` model file, say).
        entries: a dict of safe entry names to bytes-like values.
        compress: deflate the entries (``.safetensors`` entries are always stored).

    Raises:
        ValueError: for an unsafe entry name.
        TypeError: for a value that is not bytes-like.

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "m.lpn")
        >>> write_archive(p, {"config.json": b"{}"})
        >>> read_archive(p, ["config.json"])
        {'config.json': b'{}'}
    """
    _check_entries(entries, "write_archive")
    with atomic_write(path) as f:
        _write_zip(f, entries, compress)


def archive_bytes(entries, *, compress=True):
    """The zip of ``entries`` as bytes, laid out as :func:`write_archive` writes it.

    Example:
        >>> import io
        >>> read_archive(io.BytesIO(archive_bytes({"a.json": b"1"})), ["a.json"])
        {'a.json': b'1'}
    """
    _check_entries(entries, "archive_bytes")
    buffer = io.BytesIO()
    _write_zip(buffer, entries, compress)
    return buffer.getvalue()


def _check_entries(entries, caller):
    if not isinstance(entries, dict):
        raise TypeError(f"{caller} expects a dict of name -> bytes, got {type(entries)}")
    for name, data in entries.items():
        reason = unsafe_name_reason(name)
        if reason is not None:
            raise ValueError(f"{caller}: entry name {name!r} is unsafe: {reason}")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"{caller}: entry {name!r} must be bytes, got {type(data)}")


def _write_zip(fileobj, entries, compress):
    with zipfile.ZipFile(fileobj, "w") as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=_DATE)
            # safetensors data is stored as is: floats barely compress and inflating
            # them would cost time on every load
            deflate = compress and not name.endswith(".safetensors")
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, bytes(data))


def read_archive(path, expected_names, *, optional_names=(), max_entry_bytes=MAX_ENTRY_BYTES):
    """Read the entries ``expected_names`` (and ``optional_names`` if present) of a zip.

    Args:
        path: the zip file, or a binary file object.
        expected_names: entries that must be present.
        optional_names: entries read when present, skipped otherwise.
        max_entry_bytes: refuse an entry whose declared or actual size exceeds this: one
            bound for every entry, or ``{name: bound}`` (names not in it get
            ``MAX_ENTRY_BYTES``). Declared sizes are checked before anything is inflated.

    Returns:
        ``{name: bytes}`` for the entries found.

    Raises:
        FormatError: not a zip, truncated, bad CRC, unsafe or duplicate names, a
            missing expected entry, an entry over the bound, encryption or an unknown
            compression method; the message names the file and the entry.
        OSError: when the file cannot be opened.

    Example:
        >>> import io, zipfile
        >>> buf = io.BytesIO()
        >>> with zipfile.ZipFile(buf, "w") as zf:
        ...     zf.writestr("config.json", "{}")
        >>> read_archive(buf, ["config.json"], optional_names=["extra.json"])
        {'config.json': b'{}'}
    """
    for name in (*expected_names, *optional_names):
        reason = unsafe_name_reason(name)
        if reason is not None:
            raise ValueError(f"read_archive: requested name {name!r} is unsafe: {reason}")
    entries = open_entries(path, expected_names, optional_names, max_entry_bytes)
    with entries as (zf, infos, source):
        return {
            name: read_entry(zf, info, _bound(max_entry_bytes, name), source)
            for name, info in infos.items()
        }


@contextlib.contextmanager
def open_entries(path, expected_names, optional_names=(), max_entry_bytes=MAX_ENTRY_BYTES):
    """Context manager yielding ``(ZipFile, {name: ZipInfo}, source)`` for the entries
    ``expected_names`` (all present) and ``optional_names`` (those present), after
    :func:`checked_entries` and :func:`check_declared` on every one of them: a reader that
    decides what to read next from what it read first (a model's config, then the bytes of
    weights that model needs) inflates nothing it did not ask for."""
    with open_archive(path) as (zf, source):
        infos = checked_entries(zf, source)
        missing = [name for name in expected_names if name not in infos]
        if missing:
            found = ", ".join(sorted(infos)[:20]) or "none"
            raise FormatError(f"{source}: missing entry {missing[0]!r} (entries found: {found})")
        wanted = {n: infos[n] for n in (*expected_names, *optional_names) if n in infos}
        for name, info in wanted.items():  # every declared size before any entry is inflated
            check_declared(info, _bound(max_entry_bytes, name), source)
        yield zf, wanted, source


def _bound(max_entry_bytes, name):
    if isinstance(max_entry_bytes, dict):
        return max_entry_bytes.get(name, MAX_ENTRY_BYTES)
    return max_entry_bytes


def check_declared(info, max_bytes, source):
    """Refuse an entry that is encrypted, compressed unknowingly, declares more than
    ``max_bytes``, or declares more than ``MAX_INFLATE_RATIO`` times its compressed size."""
    where = f"{source}: entry {info.filename!r}"
    if info.flag_bits & 0x1:
        raise FormatError(f"{where} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise FormatError(
            f"{where} uses compression method {info.compress_type}, not stored/deflate"
        )
    if info.file_size > max_bytes:
        raise FormatError(
            f"{where} declares {info.file_size} bytes, more than the bound of {max_bytes}"
        )
    ratio_bound = max(RATIO_FREE_BYTES, MAX_INFLATE_RATIO * info.compress_size)
    if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > ratio_bound:
        raise FormatError(
            f"{where} declares {info.file_size} bytes from {info.compress_size} compressed, "
            f"more than {MAX_INFLATE_RATIO} times as many (a zip bomb, or data that is almost "
            "all one value: store it uncompressed)"
        )


@contextlib.contextmanager
def open_archive(path):
    """Context manager yielding ``(ZipFile, source name)`` for a path or binary file object.

    Every zipfile failure while opening becomes a :class:`FormatError` naming the file;
    used by :func:`read_archive` and the ``.npz`` reader.
    """
    if hasattr(path, "read"):
        source, handle = str(getattr(path, "name", "<archive>")), path
        own = contextlib.nullcontext(handle)
    else:
        source = os.fspath(path)
        own = handle = open_regular(source)
    with own:
        try:
            zf = zipfile.ZipFile(handle, "r")
        except _ZIP_ERRORS as err:
            raise FormatError(f"{source}: not a valid zip archive ({_describe(err)})") from None
        with zf:
            yield zf, str(source)


def checked_entries(zf, source, max_entries=MAX_ENTRIES):
    """``{name: ZipInfo}`` after refusing unsafe names, duplicates and too many entries."""
    infos = zf.infolist()
    if len(infos) > max_entries:
        raise FormatError(f"{source}: {len(infos)} entries, more than the bound of {max_entries}")
    out = {}
    for info in infos:
        reason = unsafe_name_reason(info.filename)
        if reason is not None:
            raise FormatError(f"{source}: entry {info.filename!r} has an unsafe name: {reason}")
        if info.filename in out:
            raise FormatError(f"{source}: entry {info.filename!r} appears twice")
        out[info.filename] = info
    return out


def read_entry(zf, info, max_bytes, source):
    """Read one entry in chunks, refusing it as soon as it exceeds its declared size or
    ``max_bytes``: an entry that inflates past what it declares is cut off there."""
    where = f"{source}: entry {info.filename!r}"
    try:
        return b"".join(entry_chunks(zf, info, max_bytes, source))
    except MemoryError:
        raise FormatError(f"{where}: its {info.file_size} bytes do not fit in memory") from None


def copy_entry(zf, info, max_bytes, source, out):
    """Write one entry to the binary file ``out`` in chunks, with :func:`read_entry`'s
    checks (for a reader that needs a file, such as HDF5): memory stays at one chunk."""
    for chunk in entry_chunks(zf, info, max_bytes, source):
        out.write(chunk)


def entry_chunks(zf, info, max_bytes, source):
    """Yield an entry's bytes in chunks after :func:`check_declared`; stop with a
    FormatError as soon as it inflates past ``min(max_bytes, declared size)``, or when it
    ends short of its declared size."""
    where = f"{source}: entry {info.filename!r}"
    check_declared(info, max_bytes, source)
    max_bytes = min(max_bytes, info.file_size)
    total = 0
    try:
        with zf.open(info) as member:
            while chunk := member.read(min(_CHUNK, max_bytes + 1 - total)):
                total += len(chunk)
                if total > max_bytes:
                    raise FormatError(
                        f"{where} inflates past {max_bytes} bytes (it declares {info.file_size})"
                    )
                yield chunk
    except FormatError:
        raise
    except _ZIP_ERRORS as err:
        raise FormatError(f"{where} cannot be read ({_describe(err)})") from None
    if total != info.file_size:
        raise FormatError(f"{where} holds {total} bytes but declares {info.file_size}")


def _describe(err):
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__

"""Crash-safe file writes: a temporary file in the same folder, fsynced, then renamed."""

import contextlib
import os
import tempfile

# The process umask, read once at import: reading it means setting it, which is not
# safe to do later while other threads may be creating files.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_write(path, mode="wb", encoding=None):
    """Write ``path`` so that readers only ever see the old or the new complete file.

    The data goes to a temporary file in the same folder (a rename is atomic only within
    one file system); on a clean exit it is flushed, fsynced, renamed over ``path`` with
    ``os.replace`` and the folder is fsynced so the rename itself survives a power cut.
    If the block raises, the temporary file is removed and ``path`` is untouched. A
    process killed mid-write can leave a ``.<name>.*.tmp`` file behind, never a partial
    ``path``.

    Args:
        path: the target file (str or os.PathLike).
        mode: ``"wb"`` (default) or ``"w"`` (text, UTF-8 unless ``encoding`` is given).
        encoding: text encoding for ``mode="w"``.

    Yields:
        The open temporary file object to write to.

    Raises:
        ValueError: for a mode other than ``"w"``/``"wb"``.

    Example:
        >>> import os, tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), "notes.txt")
        >>> with atomic_write(target, "w") as f:
        ...     _ = f.write("hello")
        >>> open(target).read()
        'hello'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0o600 files; give the usual mode
            os.fchmod(fd, _target_mode(path))
        text = {"encoding": encoding or "utf-8"} if mode == "w" else {}
        with os.fdopen(fd, mode, **text) as f:
            fd = None  # the file object owns the descriptor now
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _target_mode(path):
    """Keep an existing file's permissions; a new file gets the usual 0o666 minus umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_UMASK


def _fsync_folder(folder):
    # Folders cannot be opened for fsync on every platform (Windows); there the rename
    # is as durable as the OS makes it.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

"""Opening files to read: only regular files, never a FIFO, a device or a socket.

``open()`` on a FIFO blocks until some process writes to it, and a symlink to
``/dev/zero`` or ``/dev/urandom`` reads forever; every reader in ``io`` opens through
:func:`open_regular`, which opens without blocking, checks what it opened, and refuses
anything but a regular file before reading a byte.
"""

import os
import stat

from lapenna.io.errors import FormatError

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def open_regular(path):
    """Open ``path`` for binary reading, refusing anything that is not a regular file.

    Symlinks are followed; what they point to must be a regular file.

    Raises:
        FormatError: for a FIFO, a device or a socket (named in the message).
        IsADirectoryError, FileNotFoundError, PermissionError: as ``open`` raises them.

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "w.bin")
        >>> _ = open(p, "wb").write(b"abc")
        >>> with open_regular(p) as f:
        ...     f.read()
        b'abc'
    """
    source = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(source, flags)  # O_NONBLOCK: opening a FIFO returns at once
    try:
        check_regular(os.stat(fd).st_mode, source)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_regular(mode, source):
    """Raise unless ``mode`` (an ``st_mode``) is a regular file's."""
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{source} is a folder, not a file")
    for test, kind in _KINDS:
        if test(mode):
            raise FormatError(f"{source}: is {kind}, not a regular file; refusing to read it")
    if not stat.S_ISREG(mode):
        raise FormatError(f"{source}: is not a regular file; refusing to read it")


def check_regular_path(path):
    """:func:`check_regular` for a path (symlinks followed), for readers that open by name."""
    source = os.fspath(path)
    check_regular(os.stat(source).st_mode, source)

"""``keras.utils.get_file``: a file from the local cache, checked by its hash, or fetched.

The cache is ``cache_dir/cache_subdir/fname`` with ``cache_dir`` defaulting to
``~/.lapenna`` (Keras: ``~/.keras``). A present file whose hash matches is returned without
touching the network; a missing one is fetched from ``origin`` through
``lapenna.datasets.download`` (its ``urlopen``, which tests replace). Offline, the error names
the path looked in, so the file can be copied there by hand.
"""

import hashlib
import os
from pathlib import Path

from lapenna.datasets import download as _download
from lapenna.datasets.errors import DatasetFormatError, DatasetNotFoundError

_CHUNK = 1 << 20


def _hash_of(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _algorithm(file_hash, hash_algorithm):
    if hash_algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(
            f"get_file hash_algorithm must be 'auto', 'sha256' or 'md5', got {hash_algorithm!r}"
        )
    if hash_algorithm != "auto":
        return hash_algorithm
    return "sha256" if len(file_hash) == 64 else "md5"


def get_file(
    fname=None,
    origin=None,
    untar=False,
    md5_hash=None,
    file_hash=None,
    cache_subdir="datasets",
    hash_algorithm="auto",
    extract=False,
    archive_format="auto",
    cache_dir=None,
    force_download=False,
):
    """Return the local path of ``fname``, fetching it from ``origin`` when it is missing.

    Args:
        fname: the file's name in the cache; default the last part of ``origin``'s URL.
        origin: the URL to fetch from when the file is missing.
        md5_hash, file_hash: the expected hash (sha256 or md5, told apart by length, or by
            ``hash_algorithm``); a present file with another hash is fetched again, a fetched
            one with another hash is refused.
        cache_subdir, cache_dir: the file lives in ``cache_dir/cache_subdir``
            (default ``~/.lapenna/datasets``).
        force_download: fetch even when the file is present.
        untar, extract, archive_format: not supported (lapenna never unpacks archives it did
            not check member by member); asking for them raises ``ValueError``.

    Raises:
        DatasetNotFoundError: the file is missing and could not be fetched; the message names
            the path looked in and the URL.
        DatasetFormatError: the file's hash differs from ``file_hash``.

    Example:
        >>> path = get_file("mnist.npz", origin="https://example.org/mnist.npz")  # doctest: +SKIP
    """
    if untar or extract:
        raise ValueError(
            "get_file(extract=True/untar=True) is not supported: extract the archive yourself "
            "(tarfile/zipfile) after get_file returns its path"
        )
    if fname is None:
        if not origin:
            raise ValueError("get_file expects fname or origin, got neither")
        fname = os.path.basename(origin.split("?")[0])
    expected = file_hash or md5_hash
    algorithm = _algorithm(expected, hash_algorithm) if expected else None
    root = Path(cache_dir).expanduser() if cache_dir else Path.home() / ".lapenna"
    folder = root / cache_subdir
    target = folder / fname
    if target.is_file() and not force_download:
        if expected is None:
            return str(target)
        actual = _hash_of(target, algorithm)
        if actual == expected:
            return str(target)
        reason = f"the file there has {algorithm} {actual}, expected {expected}"
    else:
        reason = "forced download" if target.is_file() else "no file there"
    if not origin:
        raise DatasetNotFoundError(
            f"get_file: looked for {target} ({reason}) and no origin was given"
        )
    try:
        temp, _ = _download._fetch_one(origin, _ensure(folder) / fname)
    except (OSError, ValueError) as err:
        raise DatasetNotFoundError(
            f"get_file: looked for {target} ({reason}) and could not download {origin} ({err}); "
            f"copy the file to {target}"
        ) from err
    if expected is not None and _hash_of(temp, algorithm) != expected:
        actual = _hash_of(temp, algorithm)
        os.unlink(temp)
        raise DatasetFormatError(
            f"get_file: {origin} gave {algorithm} {actual}, expected {expected}"
        )
    os.replace(temp, target)
    return str(target)


def _ensure(folder):
    folder.mkdir(parents=True, exist_ok=True)
    return folder

"""Where dataset files live, and downloading them with SHA-256 verification.

Files are looked up in ``path`` if given, else in ``<data home>/<dataset>``, where the data
home is ``$LAPENNA_DATA`` or ``~/.lapenna/datasets``. Missing files are downloaded from the
listed mirrors in turn (each answer checked against its SHA-256 before it is kept); when no
mirror answers, :class:`DatasetNotFoundError` says which files to put where.

The module attribute ``urlopen`` is what opens URLs; tests replace it (``monkeypatch``) so
that nothing touches the network.
"""

import hashlib
import http.client
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lapenna.datasets.errors import DatasetFormatError, DatasetNotFoundError

urlopen = urllib.request.urlopen
TIMEOUT_SECONDS = 30
MAX_DOWNLOAD_BYTES = 1 << 30
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """A file of a dataset: its name on disk, its SHA-256 and the URLs it can come from."""

    name: str
    sha256: str
    urls: tuple


def data_home():
    """The folder with one sub-folder per dataset: ``$LAPENNA_DATA`` or ``~/.lapenna/datasets``."""
    root = os.environ.get("LAPENNA_DATA")
    return Path(root).expanduser() if root else Path.home() / ".lapenna" / "datasets"


def dataset_folder(dataset, path=None):
    """``path`` if given, else ``data_home() / dataset``."""
    return Path(path).expanduser() if path is not None else data_home() / dataset


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_one(url, target):
    """Stream ``url`` into a temporary file beside ``target``; return (temp path, sha256)."""
    digest = hashlib.sha256()
    size = 0
    handle, temp = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out, urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise DatasetFormatError(
                        f"{target.name}: {url} sent more than {MAX_DOWNLOAD_BYTES} bytes"
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(temp)
        raise
    return Path(temp), digest.hexdigest()


def download(remote, folder):
    """Download ``remote`` into ``folder`` from the first mirror that answers with the right bytes.

    Returns:
        The path of the verified file.

    Raises:
        DatasetFormatError: if a mirror answered but no answer had the right SHA-256.
        OSError: (``urllib.error.URLError`` and the like) when no mirror could be reached.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / remote.name
    mismatches, failures = [], []
    for url in remote.urls:
        try:
            temp, digest = _fetch_one(url, target)
        except DatasetFormatError:
            raise
        except (OSError, ValueError, http.client.HTTPException) as err:
            # OSError covers URLError, timeouts and refused connections; ValueError a bad URL
            failures.append(f"{url}: {err}")
            continue
        if digest == remote.sha256:
            os.replace(temp, target)
            return target
        os.unlink(temp)
        mismatches.append(f"{url} gave sha256 {digest}")
    if mismatches:
        raise DatasetFormatError(
            f"{remote.name}: checksum mismatch, expected sha256 {remote.sha256}; "
            + "; ".join(mismatches)
        )
    raise OSError("; ".join(failures) or "no URL to download from")


def ensure_files(dataset, remotes, path=None, download_missing=True, alternatives=None, note=None):
    """Return ``{name: local path}`` for every file of ``remotes``, downloading missing ones.

    Args:
        dataset: the dataset's name (its folder under the data home).
        remotes: the :class:`RemoteFile` entries.
        path: a folder to use instead of the data home's.
        download_missing: whether to try the network for files that are absent.
        alternatives: optional ``{name: [other names]}`` accepted instead (e.g. the
            uncompressed file for a ``.gz``).
        note: an extra line for the error message (another accepted layout, say).

    Raises:
        DatasetNotFoundError: files are missing and could not be downloaded; the message lists
            the files, their URLs and the folder to put them in.
    """
    folder = dataset_folder(dataset, path)
    found, missing = {}, []
    for remote in remotes:
        candidates = [remote.name, *(alternatives or {}).get(remote.name, ())]
        local = next((folder / c for c in candidates if (folder / c).is_file()), None)
        if local is None:
            missing.append(remote)
        else:
            found[remote.name] = local
    reason = None if download_missing else "downloading is switched off (download=False)"
    still_missing = []
    for remote in missing:
        if reason is None:
            try:
                found[remote.name] = download(remote, folder)
                continue
            except OSError as err:
                reason = f"could not be downloaded ({err})"
        still_missing.append(remote)
    missing = still_missing
    if missing:
        message = _missing_message(dataset, folder, missing, reason)
        raise DatasetNotFoundError(message + (f"\n{note}" if note else ""))
    return found


def _missing_message(dataset, folder, missing, reason):
    lines = [
        f"{dataset}: {len(missing)} file(s) missing from {folder}; {reason}.",
        f"Put these files in {folder} (or pass path=..., or set LAPENNA_DATA to a folder "
        f"holding a '{dataset}' sub-folder):",
    ]
    lines += [
        f"  {remote.name}  (from {remote.urls[0]}, sha256 {remote.sha256})" for remote in missing
    ]
    return "\n".join(lines)

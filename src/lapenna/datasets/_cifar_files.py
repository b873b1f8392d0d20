"""Finding CIFAR binary batches: extracted ``.bin`` files, or members of the ``.tar.gz``."""

import tarfile
import zlib

from lapenna.backend import host_np as np
from lapenna.datasets.cifar_binary import parse_cifar_binary, read_cifar_binary
from lapenna.datasets.download import dataset_folder, ensure_files
from lapenna.datasets.errors import DatasetFormatError


def load_batches(dataset, remote, member_dir, groups, label_classes, path, download):
    """Read each group of batch files and concatenate it.

    Args:
        dataset: the dataset's folder name.
        remote: the RemoteFile of the ``.tar.gz`` archive.
        member_dir: the folder inside the archive (``cifar-10-batches-bin``).
        groups: lists of batch file names, e.g. ``[["data_batch_1.bin", ...], ["test_batch.bin"]]``.
        label_classes: classes per label byte (see ``parse_cifar_binary``).
        path, download: as in the loaders.

    Returns:
        One ``(images, labels)`` pair per group.
    """
    names = [name for group in groups for name in group]
    folder = dataset_folder(dataset, path)
    parsed = None
    for base in (folder / member_dir, folder):
        if all((base / name).is_file() for name in names):
            parsed = {name: read_cifar_binary(base / name, label_classes) for name in names}
            break
    if parsed is None:
        note = (
            f"Or put the extracted files {', '.join(names)} in {folder / member_dir} or {folder}."
        )
        archive = ensure_files(dataset, [remote], path, download, note=note)[remote.name]
        parsed = _read_archive(archive, member_dir, names, label_classes)
    return [_concatenate([parsed[name] for name in group]) for group in groups]


def _concatenate(pairs):
    return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])


def _read_archive(archive, member_dir, names, label_classes):
    parsed = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for name in names:
                member = f"{member_dir}/{name}"
                try:
                    info = tar.getmember(member)
                except KeyError:
                    raise DatasetFormatError(
                        f"{archive.name}: no member {member} in the archive"
                    ) from None
                stream = tar.extractfile(info) if info.isfile() else None
                if stream is None:
                    raise DatasetFormatError(
                        f"{archive.name}: member {member} is not a regular file"
                    )
                parsed[name] = parse_cifar_binary(
                    stream.read(), f"{archive.name}:{member}", label_classes
                )
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise DatasetFormatError(f"{archive.name}: not a readable tar.gz archive ({err})") from err
    return parsed

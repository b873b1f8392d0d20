"""Reader for the binary version of CIFAR-10 and CIFAR-100 (never the pickled version).

Each record is the label byte(s) followed by 3072 pixel bytes: the 1024 red values of a
32x32 image row by row, then green, then blue. CIFAR-10 has one label byte per record;
CIFAR-100 has two (coarse label, then fine label). There is no header, so the checks are on
sizes and label ranges; each error names the file and the field.
"""

from pathlib import Path

from lapenna.backend import host_np as np
from lapenna.datasets.errors import DatasetFormatError

IMAGE_BYTES = 32 * 32 * 3


def parse_cifar_binary(data, name="<bytes>", label_classes=(10,)):
    """Parse CIFAR binary records into images and labels.

    Args:
        data: the file's bytes.
        name: the file name for error messages.
        label_classes: number of classes of each label byte: ``(10,)`` for CIFAR-10,
            ``(20, 100)`` (coarse, fine) for CIFAR-100.

    Returns:
        ``(images, labels)``: uint8 (N, 32, 32, 3) and uint8 (N, len(label_classes)).

    Raises:
        DatasetFormatError: if the size is not a whole number of records or a label is out
            of range.
    """
    label_bytes = len(label_classes)
    record = label_bytes + IMAGE_BYTES
    if len(data) == 0:
        raise DatasetFormatError(f"{name}: file is empty, expected {record}-byte records")
    if len(data) % record:
        raise DatasetFormatError(
            f"{name}: size {len(data)} bytes is not a whole number of {record}-byte records "
            f"({label_bytes} label byte(s) + {IMAGE_BYTES} pixel bytes); truncated or not a "
            "CIFAR binary file"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    labels = records[:, :label_bytes].copy()
    for column, classes in enumerate(label_classes):
        bad = np.flatnonzero(labels[:, column] >= classes)
        if bad.size:
            field = "label" if label_bytes == 1 else ("coarse label", "fine label")[column]
            raise DatasetFormatError(
                f"{name}: record {bad[0]} has {field} {labels[bad[0], column]}, outside "
                f"0..{classes - 1}"
            )
    images = records[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, labels


def read_cifar_binary(path, label_classes=(10,)):
    """Read one CIFAR binary batch file from disk; see :func:`parse_cifar_binary`."""
    path = Path(path)
    return parse_cifar_binary(path.read_bytes(), path.name, label_classes)

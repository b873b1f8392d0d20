"""Error classes shared by rooms that cannot import each other."""


class DatasetFormatError(ValueError):
    """A data file (IDX, CIFAR binary, image, download) is malformed or not what it claims.

    The message names the file and the field that is wrong, e.g.
    ``train-images-idx3-ubyte.gz: magic number is 0x00000801, expected 0x00000803``.
    """

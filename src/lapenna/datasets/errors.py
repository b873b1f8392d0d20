"""The loaders' own errors."""

from lapenna.utils.errors import DatasetFormatError


class DatasetNotFoundError(FileNotFoundError):
    """The files of a dataset are neither on disk nor downloadable; the message says where
    to put which files."""


__all__ = ["DatasetFormatError", "DatasetNotFoundError"]

"""The one error class of the io room."""


class FormatError(ValueError):
    """A file (or bytes) is not a valid file of the expected format.

    Raised for anything a reader refuses: truncated or malformed data, sizes over a
    bound, unknown dtypes, unsafe names, pickles, object arrays. The message names the
    file, the entry or tensor concerned and what was wrong. Being a ``ValueError``,
    callers that only care about "bad input" can catch that.

    Example:
        >>> from lapenna.io import FormatError, load_bytes
        >>> try:
        ...     load_bytes(b"\\x00")
        ... except FormatError as err:
        ...     print(err)
        <bytes>: file is 1 bytes long, shorter than the 8-byte header length field
    """

"""Array helpers of ``keras.utils``: one-hot labels, unit-norm rows, padded sequences.

They work on host arrays (numpy in, numpy out), as Keras's do.
"""

from lapenna.backend import floatx
from lapenna.backend import host_np as np


def to_categorical(x, num_classes=None):
    """Class indices to one-hot rows, as ``keras.utils.to_categorical``.

    Args:
        x: integer class indices, any shape; a trailing axis of size 1 is dropped
            (``(N, 1)`` labels give ``(N, num_classes)``, as in Keras).
        num_classes: number of classes; default ``max(x) + 1``.

    Returns:
        A floatx array of shape ``x.shape + (num_classes,)``.

    Example:
        >>> to_categorical([1, 0], 3).tolist()
        [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    labels = np.asarray(x)
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError(f"to_categorical expects integer class indices, got {labels.dtype}")
        labels = labels.astype(np.int64)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"to_categorical expects class indices in [0, {num_classes}), "
            f"got values from {labels.min()} to {labels.max()}"
        )
    out = np.zeros((labels.size, num_classes), dtype=floatx())
    out[np.arange(labels.size), labels] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Scale ``x`` to unit ``order``-norm along ``axis``, as ``keras.utils.normalize``
    (a zero vector stays zero)."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def pad_sequences(
    sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0
):
    """Pad (or cut) a list of sequences to one length, as ``keras.utils.pad_sequences``.

    Args:
        sequences: a list of lists (or arrays) of numbers; each item may itself be an array,
            which then gives trailing axes to the result.
        maxlen: the length of every row; default the longest sequence.
        dtype: the result's dtype.
        padding, truncating: ``"pre"`` (at the start) or ``"post"`` (at the end).
        value: the fill value.

    Returns:
        An array ``(len(sequences), maxlen, ...)``.

    Example:
        >>> pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist()
        [[2, 3], [0, 4]]
    """
    for name, mode in (("padding", padding), ("truncating", truncating)):
        if mode not in ("pre", "post"):
            raise ValueError(f"pad_sequences {name} must be 'pre' or 'post', got {mode!r}")
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences expects a list of sequences, got {type(sequences)}")
    lengths = []
    for index, sequence in enumerate(sequences):
        if not hasattr(sequence, "__len__"):
            raise ValueError(
                f"pad_sequences expects each item to be a sequence, item {index} is {sequence!r}"
            )
        lengths.append(len(sequence))
    if maxlen is None:
        maxlen = max(lengths, default=0)
    sample_shape = ()
    for sequence in sequences:
        if len(sequence):
            sample_shape = np.asarray(sequence).shape[1:]
            break
    out = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    for index, sequence in enumerate(sequences):
        if not len(sequence) or maxlen == 0:
            continue
        kept = sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"pad_sequences: item {index} has items of shape {kept.shape[1:]}, "
                f"expected {sample_shape} like the first non-empty item"
            )
        if padding == "post":
            out[index, : len(kept)] = kept
        else:
            out[index, -len(kept) :] = kept
    return out

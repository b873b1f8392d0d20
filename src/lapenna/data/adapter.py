"""What ``fit``/``evaluate``/``predict`` do with their data arguments, in one place.

``as_dataset`` turns arrays into the batched Dataset the training loop iterates (or passes a
Dataset through), and ``split_validation`` cuts ``validation_split`` off the end of arrays
the way Keras does (the last fraction, before any shuffling).
"""

from lapenna.data.dataset import Dataset
from lapenna.data.structure import flatten, map_structure, to_arrays


def as_dataset(x, y=None, sample_weight=None, batch_size=32, shuffle=False):
    """A batched Dataset of ``x``, ``(x, y)`` or ``(x, y, sample_weight)``.

    Args:
        x: arrays (an array, or a tuple/dict of arrays for several inputs), or a Dataset
            that already yields batches (returned unchanged).
        y: targets (arrays, tuple or dict), or None.
        sample_weight: per-sample weights, or None.
        batch_size: samples per batch for arrays.
        shuffle: reshuffle the samples every pass, drawing from the global generator.

    Returns:
        A :class:`Dataset`; its :attr:`Dataset.element_kind` tells the loop what it yields.

    Raises:
        ValueError: if ``x`` is a Dataset and ``y`` or ``sample_weight`` is given too, or
            the arrays disagree in length.

    Example:
        >>> import numpy as np
        >>> ds = as_dataset(np.zeros((10, 3)), np.arange(10), batch_size=4)
        >>> len(ds), ds.element_kind
        (3, 'x_y')
    """
    if isinstance(x, Dataset):
        if y is not None or sample_weight is not None:
            raise ValueError(
                "when x is a Dataset it must yield (x, y) or (x, y, sample_weight) itself; "
                "got y or sample_weight as well"
            )
        return x
    if y is None and sample_weight is not None:
        raise ValueError("sample_weight needs targets y")
    parts = tuple(part for part in (x, y, sample_weight) if part is not None)
    dataset = Dataset.from_tensor_slices(parts if len(parts) > 1 else to_arrays(x))
    if shuffle:
        dataset = dataset.shuffle(max(dataset.cardinality(), 1))
    return dataset.batch(batch_size)


def split_validation(arrays, validation_split):
    """Cut the last ``validation_split`` fraction off every array, as Keras's ``fit`` does.

    Args:
        arrays: an array or a tuple/dict (nested) of arrays sharing their first dimension,
            e.g. ``(x, y)``.
        validation_split: a fraction in [0, 1).

    Returns:
        ``(train, validation)``, each with the structure of ``arrays``.

    Example:
        >>> import numpy as np
        >>> train, val = split_validation((np.arange(10), np.arange(10)), 0.2)
        >>> val[0].tolist()
        [8, 9]
    """
    if not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    arrays = to_arrays(arrays)
    lengths = {leaf.shape[0] if leaf.ndim else None for leaf in flatten(arrays)}
    if len(lengths) != 1 or None in lengths:
        raise ValueError(
            "validation_split needs arrays that share their first dimension, got shapes "
            f"{[leaf.shape for leaf in flatten(arrays)]}"
        )
    n = lengths.pop()
    cut = n - int(n * validation_split)
    return map_structure(lambda a: a[:cut], arrays), map_structure(lambda a: a[cut:], arrays)

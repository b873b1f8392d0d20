"""``split``: cut a dataset or arrays into train/validation/test parts by fractions."""

from lapenna.backend import host_np as np
from lapenna.backend import make_generator
from lapenna.data.dataset import UNKNOWN, Dataset
from lapenna.data.iterators import close
from lapenna.data.structure import to_arrays
from lapenna.utils.tree import flatten, map_structure


def split(data, fractions, seed=None, shuffle=True):
    """Split ``data`` into parts whose sizes follow ``fractions``.

    Which elements go to which part is random (``shuffle=True``) or by position; each part
    keeps its elements in their original order. Split a Dataset before shuffling it:
    parts are chosen by position in the dataset's own order.

    Args:
        data: a :class:`Dataset` of finite length, or an array / tuple / dict of arrays that
            share their first dimension.
        fractions: positive numbers summing to 1, e.g. ``(0.8, 0.1, 0.1)``.
        seed: int or Generator; ``None`` draws from the global generator.
        shuffle: choose members at random (otherwise the first fraction is the first part).

    Returns:
        A tuple with one part per fraction, of the same kind as ``data`` (Datasets of known
        length, or structures of arrays).

    Raises:
        ValueError: for bad fractions or an infinite dataset.

    Example:
        >>> x = np.arange(10)
        >>> train, test = split(x, (0.8, 0.2), seed=0)
        >>> len(train), len(test)
        (8, 2)
    """
    fractions = _check_fractions(fractions)
    if isinstance(data, Dataset):
        n = _length(data)
    else:
        data = to_arrays(data)
        n = _array_length(data)
    order = make_generator(seed).permutation(n) if shuffle else np.arange(n)
    bounds = np.round(np.cumsum(fractions) * n).astype(np.int64)
    bounds[-1] = n
    starts = np.concatenate([[0], bounds[:-1]])
    members = [np.sort(order[start:stop]) for start, stop in zip(starts, bounds)]
    if isinstance(data, Dataset):
        return tuple(_dataset_part(data, n, indices) for indices in members)
    return tuple(map_structure(lambda leaf, idx=indices: leaf[idx], data) for indices in members)


def _check_fractions(fractions):
    values = np.asarray(fractions, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or np.any(~np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"split expects a sequence of positive fractions, got {fractions!r}")
    if abs(values.sum() - 1.0) > 1e-6:
        raise ValueError(
            f"split expects fractions that sum to 1, got {fractions!r} (sum {values.sum()})"
        )
    return values


def _array_length(data):
    leaves = flatten(data)
    if any(leaf.ndim == 0 for leaf in leaves) or len({leaf.shape[0] for leaf in leaves}) != 1:
        raise ValueError(
            "split expects arrays that share their first dimension, got shapes "
            f"{[leaf.shape for leaf in leaves]}"
        )
    return leaves[0].shape[0]


def _length(dataset):
    size = dataset.cardinality()
    if size >= 0:
        return size
    if size == UNKNOWN:
        # one counting pass: the only way to know how many elements a generator yields
        return sum(1 for _ in dataset)
    raise ValueError("split expects a finite Dataset, got an infinite one (remove repeat())")


def _dataset_part(dataset, n, indices):
    keep = np.zeros(n, dtype=bool)
    keep[indices] = True

    def make():
        iterator = iter(dataset)
        try:
            for position, element in enumerate(iterator):
                if position < n and keep[position]:
                    yield element
        finally:
            close(iterator)

    return Dataset(make, len(indices), spec=dataset._spec, batched=dataset._batched)

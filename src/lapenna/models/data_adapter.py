"""Turn what ``fit``/``evaluate``/``predict`` receive into batches of arrays.

Arrays (single, lists/tuples, dicts) are sliced into batches, shuffled each epoch with the
global generator; iterables of batches (a ``lapenna.data.Dataset``, a generator) are
passed through. Every batch is a tuple ``(x, y, sample_weight)`` (y and sample_weight may
be None).
"""

import math

from lapenna import backend as B
from lapenna.autograd import Tensor
from lapenna.layers.symbolic import flatten, map_structure

xp = B.xp


def _to_array(a):
    if isinstance(a, Tensor):
        return a.data
    return a if isinstance(a, xp.ndarray) else xp.asarray(a)


def to_arrays(structure):
    if structure is None:
        return None
    if isinstance(structure, list | tuple):
        if structure and all(isinstance(s, int | float) for s in structure):
            return xp.asarray(structure)
        return type(structure)(to_arrays(s) for s in structure)
    if isinstance(structure, dict):
        return {k: to_arrays(v) for k, v in structure.items()}
    return _to_array(structure)


def num_samples(x, y=None, sample_weight=None):
    """The common first-axis length; a clear error when the arrays disagree."""
    sizes = {}
    for label, part in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        for leaf in flatten(part) if part is not None else []:
            if leaf.ndim == 0:
                raise ValueError(f"{label} must have a batch axis, got a scalar")
            sizes.setdefault(label, set()).add(leaf.shape[0])
    all_sizes = {n for s in sizes.values() for n in s}
    if len(all_sizes) > 1:
        detail = ", ".join(f"{k}: {sorted(v)}" for k, v in sizes.items())
        raise ValueError(
            f"x, y and sample_weight must have the same number of samples; got {detail}"
        )
    if not all_sizes:
        raise ValueError("no input data given")
    return all_sizes.pop()


def check_finite(structure, label):
    for leaf in flatten(structure):
        if leaf.dtype.kind == "f" and not xp.isfinite(leaf).all():
            bad = int((~xp.isfinite(leaf)).sum())
            raise ValueError(f"{label} contains {bad} NaN or infinite values")


def take(structure, index):
    return map_structure(lambda a: a[index], structure) if structure is not None else None


def split_validation(x, y, sample_weight, fraction):
    """Keras's rule: the last ``fraction`` of the samples, before any shuffling."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction!r}")
    n = num_samples(x, y, sample_weight)
    cut = int(math.floor(n * (1.0 - fraction)))
    if cut == 0 or cut == n:
        raise ValueError(f"validation_split={fraction} leaves an empty split of {n} samples")
    head, tail = slice(0, cut), slice(cut, n)
    return (take(x, head), take(y, head), take(sample_weight, head)), (
        take(x, tail),
        take(y, tail),
        take(sample_weight, tail),
    )


def class_weights_to_sample_weights(y, class_weight, sample_weight):
    if class_weight is None:
        return sample_weight
    if y is None or isinstance(y, list | tuple | dict):
        raise ValueError("class_weight needs a single array of targets")
    labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y))
    labels = labels.astype(int)
    unknown = set(xp.unique(labels).tolist()) - set(class_weight)
    if unknown:
        raise ValueError(f"class_weight has no entry for classes {sorted(unknown)}")
    weights = xp.asarray([class_weight[c] for c in labels.tolist()], dtype=B.floatx())
    return weights if sample_weight is None else sample_weight * weights


class ArrayBatches:
    """Batches of in-memory arrays; reshuffled every epoch from the global generator."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, steps=None):
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.n = num_samples(x, y, sample_weight)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.steps = steps

    def __len__(self):
        full = math.ceil(self.n / self.batch_size)
        return min(full, self.steps) if self.steps else full

    def epoch(self, skip=0):
        """An iterator over this epoch's batches from batch ``skip`` on. The shuffle order
        is drawn now, before the first batch, so that a resumed run can redraw it."""
        order = B.generator().permutation(self.n) if self.shuffle else None
        return self._batches(order, skip)

    def _batches(self, order, skip):
        for step in range(skip, len(self)):
            start = step * self.batch_size
            index = slice(start, start + self.batch_size)
            if order is not None:
                index = order[index]
            yield take(self.x, index), take(self.y, index), take(self.sample_weight, index)


class IterableBatches:
    """Batches from a Dataset or any re-iterable of ``x``, ``(x, y)`` or ``(x, y, w)``."""

    def __init__(self, source, steps=None):
        self.source = source
        self.steps = steps

    def __len__(self):
        if self.steps:
            return self.steps
        try:
            return len(self.source)
        except TypeError:
            return None

    def epoch(self, skip=0):
        """An iterator over the source's batches, dropping the first ``skip``."""
        return self._batches(iter(self.source), skip)

    def _batches(self, source, skip):
        for step, item in enumerate(source):
            if self.steps and step >= self.steps:
                break
            if step >= skip:
                yield unpack(item)


def unpack(item):
    """``x`` | ``(x,)`` | ``(x, y)`` | ``(x, y, sample_weight)`` -> a 3-tuple of arrays."""
    if isinstance(item, tuple):
        if not 1 <= len(item) <= 3:
            raise ValueError(
                f"a batch must be x, (x, y) or (x, y, sample_weight); got {len(item)} parts"
            )
        item = item + (None,) * (3 - len(item))
        return tuple(to_arrays(part) for part in item)
    return to_arrays(item), None, None


def is_iterable_source(x):
    return not isinstance(x, xp.ndarray | Tensor | list | tuple | dict) and hasattr(x, "__iter__")


def make_batches(x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None):
    if is_iterable_source(x):
        if y is not None:
            raise ValueError("y must not be given when x is a Dataset or an iterable of batches")
        return IterableBatches(x, steps)
    x, y, sample_weight = to_arrays(x), to_arrays(y), to_arrays(sample_weight)
    return ArrayBatches(x, y, sample_weight, batch_size or 32, shuffle, steps)

"""The one adapter from user data to batches: what ``fit``/``evaluate``/``predict`` do with
their data arguments, and how arrays become a :class:`Dataset`.

Four kinds of source, one batch format. Every batch is a tuple ``(x, y, sample_weight)`` of
arrays (or nested tuples/lists/dicts of arrays, see :mod:`lapenna.utils.tree`; ``y`` and
``sample_weight`` may be None):

- arrays (one array, or a tuple/list/dict of arrays for several inputs): sliced into
  batches, reshuffled every epoch from the global generator (:class:`ArrayBatches`);
- a :class:`Dataset`, a Python generator or any iterable of batches (:class:`IterableBatches`);
- a ``keras.utils.PyDataset``-style object with ``__len__`` and ``__getitem__`` returning
  batch ``i`` (:class:`SequenceBatches`; ``on_epoch_end()`` is called after each epoch).

Each source gives ``len()`` (batches per epoch, or None when unknown) and ``epoch(skip)``,
an iterator over one epoch's batches starting at batch ``skip`` (a resumed run).

``fit`` checks what it is given before anything trains: arrays whole, before the first
epoch; a Dataset, generator or PyDataset on its first batch (:meth:`check_first`), with the
same checks and messages, when that batch is drawn (before the first step) or, for
validation data, at once (:meth:`peek_check`, which leaves no trace in the source or the
random streams).
"""

import itertools
import math

from lapenna.backend import floatx, generator, get_rng_state, set_rng_state
from lapenna.backend import host_np as np
from lapenna.data.dataset import Dataset
from lapenna.data.structure import to_arrays, unpack_x_y_sample_weight
from lapenna.utils.tree import flatten, map_structure


def num_samples(x, y=None, sample_weight=None):
    """The common first-axis length of ``x``, ``y`` and ``sample_weight``.

    Raises:
        ValueError: if a leaf is a scalar, the parts disagree in length, or nothing is given.
    """
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
    """Raise a ValueError naming ``label`` if a float leaf holds a NaN or an infinity."""
    for leaf in flatten(structure):
        if leaf.dtype.kind == "f" and not np.isfinite(leaf).all():
            bad = int((~np.isfinite(leaf)).sum())
            raise ValueError(f"{label} contains {bad} NaN or infinite values")


def take(structure, index):
    """``structure`` indexed along the first axis (None stays None)."""
    return map_structure(lambda a: None if a is None else a[index], structure)


def split_validation(arrays, validation_split):
    """Cut the last ``validation_split`` fraction off every array, as Keras's ``fit`` does.

    The rule is Keras's: the first ``floor(n * (1 - validation_split))`` samples train, the
    rest validate, before any shuffling.

    Args:
        arrays: an array or a nested tuple/list/dict of arrays sharing their first
            dimension, e.g. ``(x, y)``; None leaves (a missing sample_weight) stay None.
        validation_split: a fraction in [0, 1).

    Returns:
        ``(train, validation)``, each with the structure of ``arrays``.

    Raises:
        ValueError: for a fraction outside [0, 1), arrays of different lengths, or a
            non-zero fraction that leaves one side empty.

    Example:
        >>> train, val = split_validation((np.arange(10), np.arange(10)), 0.2)
        >>> val[0].tolist()
        [8, 9]
    """
    if not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    arrays = map_structure(lambda a: None if a is None else to_arrays(a), arrays)
    leaves = [leaf for leaf in flatten(arrays) if leaf is not None]
    lengths = {leaf.shape[0] if leaf.ndim else None for leaf in leaves}
    if len(lengths) != 1 or None in lengths:
        raise ValueError(
            "validation_split needs arrays that share their first dimension, got shapes "
            f"{[leaf.shape for leaf in leaves]}"
        )
    n = lengths.pop()
    cut = int(math.floor(n * (1.0 - validation_split)))
    if validation_split and (cut == 0 or cut == n):
        raise ValueError(
            f"validation_split={validation_split} leaves an empty split of {n} samples"
        )
    return take(arrays, slice(0, cut)), take(arrays, slice(cut, n))


def class_weights_to_sample_weights(y, class_weight, sample_weight):
    """Per-sample weights from ``{class: weight}`` (times ``sample_weight`` when given)."""
    if class_weight is None:
        return sample_weight
    if y is None or isinstance(y, list | tuple | dict):
        raise ValueError("class_weight needs a single array of targets")
    labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y))
    labels = labels.astype(int)
    unknown = set(np.unique(labels).tolist()) - set(class_weight)
    if unknown:
        raise ValueError(f"class_weight has no entry for classes {sorted(unknown)}")
    weights = np.asarray([class_weight[c] for c in labels.tolist()], dtype=floatx())
    return weights if sample_weight is None else sample_weight * weights


def unpack(item):
    """``x`` | ``(x,)`` | ``(x, y)`` | ``(x, y, sample_weight)`` -> a 3-tuple of arrays."""
    return tuple(
        None if part is None else to_arrays(part) for part in unpack_x_y_sample_weight(item)
    )


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

    def count(self):
        """Batches per epoch."""
        return len(self)

    def epoch(self, skip=0):
        """An iterator over this epoch's batches from batch ``skip`` on. The shuffle order
        is drawn now, before the first batch, so that a resumed run can redraw it."""
        order = generator().permutation(self.n) if self.shuffle else None
        return self._batches(order, skip)

    def _batches(self, order, skip):
        for step in range(skip, len(self)):
            start = step * self.batch_size
            index = slice(start, start + self.batch_size)
            if order is not None:
                index = order[index]
            yield take((self.x, self.y, self.sample_weight), index)


def checked_unpack(item, check, prefix=""):
    """:func:`unpack` with ``fit``'s checks of array data (see :func:`training_batches`)
    run on one batch: numbers before conversion, then lengths, NaNs and ``check``'s
    shapes, with the messages arrays get."""
    x, y, sample_weight = unpack_x_y_sample_weight(item)
    check("raw", x, y, sample_weight, prefix)
    x, y, sample_weight = unpack((x, y, sample_weight))
    num_samples(x, y, sample_weight)
    check_finite(x, prefix + "x")
    if y is not None:
        check_finite(y, prefix + "y")
    check("arrays", x, y, sample_weight, prefix)
    return x, y, sample_weight


class _FirstBatchCheck:
    """Shared by the sources that yield batches: the first batch drawn is checked."""

    _check, _prefix = None, ""

    def check_first(self, check, prefix=""):
        """Run ``check`` (``fit``'s hook) on the first batch this source yields."""
        self._check, self._prefix = check, prefix
        return self

    def _unpack(self, item):
        if self._check is None:
            return unpack(item)
        check, self._check = self._check, None
        return checked_unpack(item, check, self._prefix)

    def peek_check(self, check, prefix=""):
        """Draw the first batch now and check it; the source is left as it was (a
        generator gets its batch back; a Dataset's pass is closed and every random stream
        set back, so the batch costs nothing but its computation)."""
        state = get_rng_state()
        try:
            found, item = self._peek()
        finally:
            set_rng_state(state)
        if found:
            checked_unpack(item, check, prefix)
        return self


class IterableBatches(_FirstBatchCheck):
    """Batches from a Dataset, a generator or any iterable of ``x``, ``(x, y)`` or
    ``(x, y, w)``. A generator is drawn from where the last epoch stopped."""

    def __init__(self, source, steps=None):
        self.source = source
        self.steps = steps
        self._pending = []  # a batch drawn from a generator by peek_check, given back

    def count(self):
        """Batches per epoch, or None when the source does not say (a generator without
        ``steps_per_epoch``: its epoch ends when it is exhausted)."""
        if self.steps:
            return self.steps
        try:
            return len(self.source)
        except TypeError:
            return None

    def __len__(self):
        count = self.count()
        if count is None:
            raise TypeError(f"{type(self.source).__name__} batches have no length")
        return count

    def epoch(self, skip=0):
        """An iterator over the source's batches, dropping the first ``skip``."""
        source = iter(self.source)
        if self._pending:
            pending, self._pending = self._pending, []
            return self._batches(itertools.chain(pending, source), skip)
        return self._batches(source, skip)

    def _peek(self):
        source = iter(self.source)
        try:
            item = next(source)
        except StopIteration:
            return False, None
        if source is self.source:  # a generator: the next epoch starts with this batch
            self._pending.append(item)
        else:
            _close(source)
        return True, item

    def _batches(self, source, skip):
        # islice draws no item past ``steps``: a generator's next epoch starts right there
        try:
            for item in itertools.islice(source, skip, self.steps or None):
                yield self._unpack(item)
        finally:
            # a Dataset's pass ends here, not whenever its iterator is collected: a
            # prefetch thread stops, and sets back what it drew ahead, before the epoch ends
            # (a generator is its own iterator: the next epoch goes on with it)
            if source is not self.source:
                _close(source)


def _close(iterator):
    close = getattr(iterator, "close", None)
    if callable(close):
        close()


class SequenceBatches(_FirstBatchCheck):
    """Batches from a ``keras.utils.PyDataset``-style object: ``source[i]`` is batch ``i``
    for ``i < len(source)``; ``source.on_epoch_end()``, if it exists, runs after each epoch
    (where such an object reshuffles)."""

    def __init__(self, source, steps=None):
        self.source = source
        self.steps = steps

    def __len__(self):
        return min(len(self.source), self.steps) if self.steps else len(self.source)

    def count(self):
        """Batches per epoch."""
        return len(self)

    def epoch(self, skip=0):
        """An iterator over batches ``skip, ..., len - 1``."""
        return self._batches(skip)

    def _peek(self):
        return (True, self.source[0]) if len(self.source) else (False, None)

    def _batches(self, skip):
        for index in range(skip, len(self)):
            yield self._unpack(self.source[index])
        on_epoch_end = getattr(self.source, "on_epoch_end", None)
        if callable(on_epoch_end):
            on_epoch_end()


def source_kind(x):
    """``"arrays"``, ``"sequence"`` (``__len__`` + ``__getitem__``) or ``"iterable"``."""
    if isinstance(x, list | tuple | dict) or hasattr(x, "__array__") or x is None:
        return "arrays"
    if isinstance(x, Dataset) or not hasattr(x, "__getitem__"):
        return "iterable" if hasattr(x, "__iter__") else "arrays"
    return "sequence" if hasattr(x, "__len__") else "iterable"


def make_batches(x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None):
    """The batch source for ``x`` (see the module docstring).

    Raises:
        ValueError: if ``y`` or ``sample_weight`` comes with a source that yields batches.
    """
    kind = source_kind(x)
    if kind != "arrays":
        if y is not None or sample_weight is not None:
            raise ValueError(
                "y must not be given when x is a Dataset, a generator or a PyDataset: they "
                "yield (x, y) or (x, y, sample_weight) batches themselves"
            )
        return SequenceBatches(x, steps) if kind == "sequence" else IterableBatches(x, steps)
    x, y, sample_weight = unpack((x, y, sample_weight))
    return ArrayBatches(x, y, sample_weight, batch_size or 32, shuffle, steps)


def training_batches(
    x, y, sample_weight=None, *, batch_size=None, shuffle=True, check=None, **options
):
    """The training and validation batch sources of ``fit``.

    Args:
        x, y, sample_weight, batch_size, shuffle: as ``Model.fit``.
        check: optional ``check(stage, x, y, sample_weight, prefix)`` the caller uses to
            validate the data: called with ``stage="raw"`` on the values as given
            (before any conversion) and with ``stage="arrays"`` on the arrays that will be
            batched (after the validation split); ``prefix`` is ``""`` for the training
            data and ``"validation_data's "`` for the validation data. A source that
            yields batches is checked on its first batch: the training source's when the
            first epoch draws it, the validation source's here.
        **options: ``validation_split``, ``validation_data``, ``class_weight``,
            ``steps_per_epoch``, ``validation_batch_size`` as ``Model.fit``.

    Returns:
        ``(train, validation)``; ``validation`` is None without validation data.

    Raises:
        ValueError: for missing data or targets, NaNs, mismatched lengths, or a
            ``validation_split`` with a source that is not arrays.
    """
    validation_split = options.get("validation_split") or 0.0
    validation_data = options.get("validation_data")
    steps = options.get("steps_per_epoch")
    if x is None:
        raise ValueError("fit needs training data x")
    if source_kind(x) != "arrays":
        if validation_split:
            raise ValueError("validation_split needs arrays; give validation_data instead")
        train = make_batches(x, y, sample_weight, steps=steps)
        if check is not None:  # on the first batch, when the first epoch draws it
            train.check_first(check)
    else:
        if check is not None:
            check("raw", x, y, sample_weight, "")
        x, y, sample_weight = unpack((x, y, sample_weight))
        if y is None:
            raise ValueError("fit needs targets y with array inputs")
        num_samples(x, y, sample_weight)
        check_finite(x, "x")
        check_finite(y, "y")
        sample_weight = class_weights_to_sample_weights(
            y, options.get("class_weight"), sample_weight
        )
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = split_validation(
                (x, y, sample_weight), validation_split
            )
        if check is not None:
            check("arrays", x, y, sample_weight, "")
        train = ArrayBatches(x, y, sample_weight, batch_size or 32, shuffle, steps)
    return train, _validation_batches(
        validation_data, options.get("validation_batch_size") or batch_size, check
    )


def _validation_batches(validation_data, batch_size, check=None):
    if validation_data is None:
        return None
    prefix = "validation_data's "
    if source_kind(validation_data) != "arrays":
        batches = make_batches(validation_data)
        # now, not after the first training epoch
        return batches if check is None else batches.peek_check(check, prefix)
    if not isinstance(validation_data, tuple) or not 2 <= len(validation_data) <= 3:
        raise ValueError("validation_data must be (x, y), (x, y, sample_weight) or a Dataset")
    if check is not None:
        check("raw", *validation_data, *[None] * (3 - len(validation_data)), prefix)
    vx, vy, vw = unpack(validation_data)
    if check is not None:
        check("arrays", vx, vy, vw, prefix)
    return make_batches(vx, vy, vw, batch_size=batch_size)


def as_dataset(x, y=None, sample_weight=None, batch_size=32, shuffle=False):
    """A batched Dataset of ``x``, ``(x, y)`` or ``(x, y, sample_weight)``.

    Args:
        x: arrays (an array, or a tuple/list/dict of arrays for several inputs), or a
            Dataset that already yields batches (returned unchanged).
        y: targets (arrays, tuple, list or dict), or None.
        sample_weight: per-sample weights, or None.
        batch_size: samples per batch for arrays.
        shuffle: reshuffle the samples every pass, drawing from the global generator.

    Returns:
        A :class:`Dataset`; its :attr:`Dataset.element_kind` tells the loop what it yields.

    Raises:
        ValueError: if ``x`` is a Dataset and ``y`` or ``sample_weight`` is given too, or
            the arrays disagree in length.

    Example:
        >>> ds = as_dataset([np.zeros((10, 3)), np.ones((10, 2))], np.arange(10), batch_size=4)
        >>> len(ds), ds.element_kind, [a.shape for a in next(iter(ds))[0]]
        (3, 'x_y', [(4, 3), (4, 2)])
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
    x, y, sample_weight = unpack((x, y, sample_weight))
    parts = tuple(part for part in (x, y, sample_weight) if part is not None)
    dataset = Dataset.from_tensor_slices(parts if len(parts) > 1 else x)
    if shuffle:
        dataset = dataset.shuffle(max(dataset.cardinality(), 1))
    return dataset.batch(batch_size)

"""``Dataset``: a re-iterable pipeline of numpy elements, built by chaining transformations.

Every transformation returns a new Dataset; nothing runs until the dataset is iterated, and
each ``for`` loop over it is one fresh pass (one epoch). Elements are arrays, or tuples and
dicts of arrays, mirroring the structure given to :meth:`Dataset.from_tensor_slices`.

Datasets built from in-memory arrays keep an *index plan* (the arrays plus a function that
returns the order of one epoch) through ``shuffle``, ``take``, ``skip`` and finite
``repeat``; ``batch`` then gathers whole batches with one fancy index per array instead of
stacking elements one by one. The plan draws the same random numbers as the element path,
so the order for a given seed does not depend on which path runs.
"""

import math

from lapenna.backend import generator, make_generator
from lapenna.backend import host_np as np
from lapenna.data import iterators
from lapenna.data.iterators import IndexPlan
from lapenna.data.structure import (
    ArraySpec,
    apply_fn,
    conform,
    element_kind,
    spec_of,
    to_arrays,
)
from lapenna.data.workers import (
    AUTOTUNE,
    parallel_map_iterator,
    prefetch_iterator,
    resolve_parallelism,
)
from lapenna.utils.tree import flatten, map_structure

INFINITE = -1
UNKNOWN = -2


class Dataset:
    """A pipeline of elements (numpy arrays, or tuples/dicts of them) that can be iterated.

    Build one with :meth:`from_tensor_slices`, :meth:`from_generator` or :meth:`range`, then
    chain ``map``, ``filter``, ``shuffle``, ``batch``, ``prefetch``... Each ``for`` loop is one
    pass over the data. ``len()`` works when the number of elements is known.

    Training convention: ``Model.fit`` iterates a batched Dataset whose elements are
    ``(x, y)`` or ``(x, y, sample_weight)`` tuples of arrays (``x`` and ``y`` may themselves be
    tuples or dicts for several inputs or outputs); :attr:`element_kind` and
    :func:`~lapenna.data.unpack_x_y_sample_weight` tell which.

    Example:
        >>> import numpy as np
        >>> x, y = np.arange(10.0).reshape(5, 2), np.arange(5)
        >>> ds = Dataset.from_tensor_slices((x, y)).shuffle(5, seed=1).batch(2)
        >>> len(ds), [b[0].shape for b in ds]
        (3, [(2, 2), (2, 2), (1, 2)])
    """

    def __init__(self, make_iterator, cardinality=UNKNOWN, spec=None, plan=None, batched=False):
        self._make_iterator = make_iterator
        self._cardinality = cardinality
        self._spec = spec
        self._plan = plan
        self._batched = batched

    # ---- construction -------------------------------------------------------------------

    @staticmethod
    def from_tensor_slices(tensors):
        """A dataset of the slices of ``tensors`` along their first axis.

        Args:
            tensors: an array, or a tuple/dict (nested freely) of arrays that share their
                first dimension. A list of numbers is one array, a list of
                arrays is structure (see :mod:`lapenna.utils.tree`); Python floats become
                floatx.

        Returns:
            A Dataset with one element per row, of the same structure as ``tensors``.

        Raises:
            ValueError: if a component is a scalar or the first dimensions differ.
        """
        element = to_arrays(tensors)
        leaves = flatten(element)
        if not leaves:
            raise ValueError("Dataset.from_tensor_slices expects at least one array, got none")
        if any(leaf.ndim == 0 for leaf in leaves):
            raise ValueError(
                "Dataset.from_tensor_slices expects arrays with at least one axis, got shapes "
                f"{[leaf.shape for leaf in leaves]}"
            )
        lengths = {leaf.shape[0] for leaf in leaves}
        if len(lengths) != 1:
            raise ValueError(
                "Dataset.from_tensor_slices expects every array to have the same first "
                f"dimension, got shapes {[leaf.shape for leaf in leaves]}"
            )
        n = lengths.pop()
        plan = IndexPlan(element, leaves, lambda: np.arange(n))
        spec = map_structure(lambda leaf: ArraySpec(leaf.shape[1:], leaf.dtype), element)
        return Dataset._from_plan(plan, n, spec)

    @staticmethod
    def range(start, stop=None, step=1):
        """A dataset of int64 scalars, like Python's ``range``."""
        if stop is None:
            start, stop = 0, start
        return Dataset.from_tensor_slices(np.arange(start, stop, step, dtype=np.int64))

    @staticmethod
    def from_generator(generator_fn, output_signature=None, args=()):
        """A dataset of the elements that ``generator_fn(*args)`` yields, converted to arrays.

        Args:
            generator_fn: a callable returning a fresh iterator (called once per pass).
            output_signature: optional structure of :class:`ArraySpec`; each element is cast
                to these dtypes and checked against these shapes (``None`` matches any size).
            args: positional arguments for ``generator_fn``.

        Raises:
            TypeError: if ``generator_fn`` is not callable (a generator object can be
                iterated only once, but a Dataset is iterated once per epoch).
        """
        if not callable(generator_fn):
            raise TypeError(
                "Dataset.from_generator expects a callable that returns an iterator (so the "
                f"dataset can be iterated every epoch), got {type(generator_fn).__name__}"
            )

        def make():
            for index, item in enumerate(generator_fn(*args)):
                element = to_arrays(item)
                if output_signature is not None:
                    element = conform(element, output_signature, index)
                yield element

        return Dataset(make, UNKNOWN, spec=output_signature)

    @staticmethod
    def _from_plan(plan, cardinality, spec):
        return Dataset(plan.iterate, cardinality, spec=spec, plan=plan)

    def _derive(self, make_iterator, cardinality=None, spec=None):
        cardinality = self._cardinality if cardinality is None else cardinality
        return Dataset(make_iterator, cardinality, spec=spec, batched=self._batched)

    # ---- iteration and size -------------------------------------------------------------

    def __iter__(self):
        return self._make_iterator()

    def as_numpy_iterator(self):
        """An iterator over the elements (they already are numpy arrays)."""
        return iter(self)

    def cardinality(self):
        """The number of elements, ``INFINITE`` (-1) or ``UNKNOWN`` (-2)."""
        return self._cardinality

    def __len__(self):
        if self._cardinality == INFINITE:
            raise TypeError("this Dataset is infinite (it repeats forever); it has no len()")
        if self._cardinality == UNKNOWN:
            raise TypeError(
                "the length of this Dataset is unknown (it comes from a generator, filter or "
                "unbatch); iterate it to count, or use cardinality()"
            )
        return self._cardinality

    def __repr__(self):
        size = {INFINITE: "infinite", UNKNOWN: "unknown"}.get(self._cardinality)
        return f"<Dataset cardinality={size or self._cardinality}>"

    @property
    def element_spec(self):
        """The :class:`ArraySpec` structure of one element (``None`` for the batch axis).

        Known without running the pipeline for in-memory sources and their batches;
        otherwise computed once from the first element.
        """
        if self._spec is None:
            iterator = iter(self)
            try:
                first = next(iterator, None)
            finally:
                iterators.close(iterator)
            if first is None:
                raise ValueError("an empty Dataset has no element_spec")
            self._spec = spec_of(first, batched=self._batched)
        return self._spec

    @property
    def element_kind(self):
        """``"x"``, ``"x_y"`` or ``"x_y_sample_weight"``: how ``fit`` reads each element."""
        return element_kind(self.element_spec)

    # ---- transformations ----------------------------------------------------------------

    def map(self, fn, num_parallel_calls=None):
        """Apply ``fn`` to every element (a tuple element is spread into arguments).

        Args:
            fn: returns the new element (arrays, or tuples/dicts of arrays).
            num_parallel_calls: ``None`` runs ``fn`` in the consumer's thread; an int ``k`` (or
                ``AUTOTUNE``) runs it in ``k`` threads, results kept in input order. Results
                are reproducible only if ``fn`` draws no random numbers from a shared
                generator (threads interleave the draws).
        """
        threads = resolve_parallelism(num_parallel_calls)
        if threads == 1:

            def make():
                return (to_arrays(apply_fn(fn, element)) for element in self)
        else:

            def make():
                return parallel_map_iterator(self, fn, threads)

        return self._derive(make)

    def filter(self, predicate):
        """Keep the elements for which ``predicate`` returns True (the size becomes unknown)."""
        return self._derive(lambda: iterators.filter_iter(self, predicate), UNKNOWN, self._spec)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True):
        """Shuffle with a buffer of ``buffer_size`` elements (a full shuffle if it holds all).

        Args:
            buffer_size: elements held at once; ``len(dataset)`` or more gives a uniform
                permutation.
            seed: int or Generator for a private stream; ``None`` draws from the seeded
                ``shuffle`` stream (``lapenna.set_seed``) when each pass starts.
            reshuffle_each_iteration: a new order every pass (default) or the same each time.
        """
        if not isinstance(buffer_size, int) or isinstance(buffer_size, bool) or buffer_size < 1:
            raise ValueError(
                f"Dataset.shuffle expects a positive int buffer_size, got {buffer_size!r}"
            )
        epoch_rng = _epoch_generators(seed, reshuffle_each_iteration)
        if self._plan is not None and buffer_size >= self._cardinality:
            previous = self._plan.order

            def order():
                indices = previous()
                return indices[epoch_rng().permutation(len(indices))]

            return Dataset._from_plan(self._plan.with_order(order), self._cardinality, self._spec)
        return self._derive(
            lambda: iterators.shuffle_iter(self, buffer_size, epoch_rng()), spec=self._spec
        )

    def batch(self, batch_size, drop_remainder=False):
        """Stack consecutive elements into batches of ``batch_size`` (the last may be shorter)."""
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"Dataset.batch expects a positive int batch_size, got {batch_size!r}")
        size = self._cardinality
        if size >= 0:
            size = size // batch_size if drop_remainder else math.ceil(size / batch_size)
        spec = None
        if self._spec is not None:
            spec = map_structure(lambda s: ArraySpec((None, *s.shape), s.dtype), self._spec)
        if self._plan is not None:
            plan = self._plan

            def make():
                order = plan.order()
                stop = len(order) - len(order) % batch_size if drop_remainder else len(order)
                for start in range(0, stop, batch_size):
                    yield plan.gather(order[start : start + batch_size])
        else:

            def make():
                return iterators.batch_iter(self, batch_size, drop_remainder)

        return Dataset(make, size, spec=spec, batched=True)

    def unbatch(self):
        """Split each element along its first axis back into single elements."""
        spec = None
        if self._spec is not None:
            spec = map_structure(lambda s: ArraySpec(s.shape[1:], s.dtype), self._spec)
        return Dataset(lambda: iterators.unbatch_iter(self), UNKNOWN, spec=spec)

    def repeat(self, count=None):
        """Repeat the dataset ``count`` times (forever for ``None`` or -1)."""
        if count == -1:
            count = None
        if count is not None and (not isinstance(count, int) or count < 0):
            raise ValueError(f"Dataset.repeat expects None, -1 or a count >= 0, got {count!r}")
        size = self._cardinality
        if size > 0:
            size = INFINITE if count is None else size * count
        elif size == INFINITE and count == 0:
            size = 0
        if self._plan is not None and count is not None:
            previous = self._plan.order

            def order():
                parts = [previous() for _ in range(count)]
                return np.concatenate(parts) if parts else np.arange(0)

            return Dataset._from_plan(self._plan.with_order(order), size, self._spec)
        return self._derive(lambda: iterators.repeat_iter(self, count), size, self._spec)

    def take(self, count):
        """The first ``count`` elements (all of them for -1)."""
        count = _check_count(count, "take")
        if count is None:
            return self
        size = self._cardinality
        if size == INFINITE:
            size = count
        elif size >= 0:
            size = min(size, count)
        if self._plan is not None:
            previous = self._plan.order
            plan = self._plan.with_order(lambda: previous()[:count])
            return Dataset._from_plan(plan, size, self._spec)
        return self._derive(lambda: iterators.take_iter(self, count), size, self._spec)

    def skip(self, count):
        """Everything after the first ``count`` elements (nothing for -1)."""
        count = _check_count(count, "skip")
        if count is None:
            return self.take(0)
        size = self._cardinality
        if size >= 0:
            size = max(size - count, 0)
        if self._plan is not None:
            previous = self._plan.order
            plan = self._plan.with_order(lambda: previous()[count:])
            return Dataset._from_plan(plan, size, self._spec)
        return self._derive(lambda: iterators.skip_iter(self, count), size, self._spec)

    def cache(self):
        """Keep the elements in memory after the first complete pass (they become read-only)."""
        store = {}
        return self._derive(lambda: iterators.cache_iter(self, store), spec=self._spec)

    def prefetch(self, buffer_size=2):
        """Prepare up to ``buffer_size`` elements ahead in a background thread.

        An exception in the pipeline surfaces in the loop that consumes the dataset; leaving
        the loop early stops and joins the thread.
        """
        if buffer_size == AUTOTUNE:
            buffer_size = 2
        if not isinstance(buffer_size, int) or isinstance(buffer_size, bool) or buffer_size < 1:
            raise ValueError(f"Dataset.prefetch expects a positive int, got {buffer_size!r}")
        return self._derive(
            lambda: prefetch_iterator(lambda: iter(self), buffer_size), spec=self._spec
        )

    @staticmethod
    def zip(*datasets):
        """Combine datasets element-wise into tuples (or dicts): ``Dataset.zip(a, b)``.

        Accepts several datasets, one tuple of them, or one dict of them; stops at the end of
        the shortest.
        """
        if len(datasets) == 1 and isinstance(datasets[0], tuple | dict):
            datasets = datasets[0]
        members = list(datasets.values()) if isinstance(datasets, dict) else list(datasets)
        if not members or not all(isinstance(member, Dataset) for member in members):
            raise TypeError("Dataset.zip expects one or more Datasets")
        sizes = [member.cardinality() for member in members]
        finite = [size for size in sizes if size >= 0]
        if finite:
            size = min(finite) if UNKNOWN not in sizes or min(finite) == 0 else UNKNOWN
        else:
            size = UNKNOWN if UNKNOWN in sizes else INFINITE
        batched = all(member._batched for member in members)
        return Dataset(lambda: iterators.zip_iter(datasets), size, batched=batched)

    def concatenate(self, other):
        """This dataset's elements followed by ``other``'s (same element structure)."""
        if not isinstance(other, Dataset):
            raise TypeError(f"Dataset.concatenate expects a Dataset, got {type(other).__name__}")
        sizes = (self._cardinality, other.cardinality())
        if INFINITE in sizes:
            size = INFINITE
        else:
            size = UNKNOWN if UNKNOWN in sizes else sum(sizes)
        return self._derive(lambda: iterators.concatenate_iter(self, other), size, self._spec)

    def enumerate(self, start=0):
        """Pairs ``(index, element)`` with an int64 index counting from ``start``."""
        return self._derive(lambda: iterators.enumerate_iter(self, start))


def _check_count(count, method):
    if not isinstance(count, int) or isinstance(count, bool) or count < -1:
        raise ValueError(f"Dataset.{method} expects an int >= -1, got {count!r}")
    return None if count == -1 else count


def _epoch_generators(seed, reshuffle):
    """A function returning the generator that orders one pass of a shuffle."""
    if reshuffle:
        if seed is None:
            return lambda: generator("shuffle")  # per pass, so lapenna.set_seed takes effect
        private = make_generator(seed)
        return lambda: private
    if isinstance(seed, int) and not isinstance(seed, bool):
        fixed = seed
    else:
        fixed = int(make_generator(seed, "shuffle").integers(2**63))
    return lambda: np.random.default_rng(fixed)

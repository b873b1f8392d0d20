"""The generator functions behind each ``Dataset`` transformation.

Each takes an iterable (usually the upstream Dataset) and yields elements. Every function
closes the upstream iterator when it stops, so threads further up (prefetch, parallel map)
stop as soon as the consumer does.
"""

from lapenna.backend import host_np as np
from lapenna.data.structure import apply_fn
from lapenna.utils.tree import flatten, pack_like, signature


class IndexPlan:
    """In-memory arrays and the element order of one epoch (a function returning indices)."""

    def __init__(self, template, leaves, order):
        self.template, self.leaves, self.order = template, leaves, order

    def element(self, index):
        return pack_like(self.template, [np.array(leaf[index]) for leaf in self.leaves])

    def gather(self, indices):
        return pack_like(self.template, [leaf[indices] for leaf in self.leaves])

    def with_order(self, order):
        return IndexPlan(self.template, self.leaves, order)

    def iterate(self):
        return (self.element(index) for index in self.order())


def close(iterator):
    """Close ``iterator`` if it can be closed (generators can)."""
    closer = getattr(iterator, "close", None)
    if closer is not None:
        closer()


def filter_iter(iterable, predicate):
    iterator = iter(iterable)
    try:
        for element in iterator:
            keep = np.asarray(apply_fn(predicate, element))
            if keep.shape != ():
                raise ValueError(
                    f"Dataset.filter expects the predicate to return one bool, got shape "
                    f"{keep.shape}"
                )
            if keep:
                yield element
    finally:
        close(iterator)


def shuffle_iter(iterable, buffer_size, rng):
    """Buffered shuffle: a uniform permutation whenever everything fits in the buffer.

    The buffer fills first; while elements keep coming, a random slot is emitted and
    refilled; what is left at the end comes out in a random permutation. When the whole
    input fits, this is exactly ``elements[rng.permutation(n)]``, the same draw the
    random-access path makes, so both paths give the same order for the same seed.
    """
    iterator = iter(iterable)
    buffer = []
    try:
        for element in iterator:
            if len(buffer) < buffer_size:
                buffer.append(element)
                continue
            slot = int(rng.integers(buffer_size))
            yield buffer[slot]
            buffer[slot] = element
    finally:
        close(iterator)
    for index in rng.permutation(len(buffer)):
        yield buffer[index]


def stack_elements(elements, where="Dataset.batch"):
    """Stack a list of same-structured elements along a new first axis."""
    first = signature(elements[0])
    columns = [flatten(element) for element in elements]
    for position, element in enumerate(elements):
        if signature(element) != first:
            raise ValueError(
                f"{where}: element {position} has a different structure from the first "
                "element of the batch"
            )
    stacked = []
    for component, leaves in enumerate(zip(*columns)):
        shapes = {leaf.shape for leaf in leaves}
        if len(shapes) > 1:
            raise ValueError(
                f"{where}: component {component} has different shapes within one batch "
                f"({sorted(shapes)}); resize or pad the elements first"
            )
        stacked.append(np.stack(leaves))
    return pack_like(elements[0], stacked)


def batch_iter(iterable, batch_size, drop_remainder):
    iterator = iter(iterable)
    pending = []
    try:
        for element in iterator:
            pending.append(element)
            if len(pending) == batch_size:
                yield stack_elements(pending)
                pending = []
    finally:
        close(iterator)
    if pending and not drop_remainder:
        yield stack_elements(pending)


def unbatch_iter(iterable):
    iterator = iter(iterable)
    try:
        for element in iterator:
            leaves = flatten(element)
            lengths = {leaf.shape[0] if leaf.ndim else None for leaf in leaves}
            if None in lengths or len(lengths) != 1:
                shapes = [leaf.shape for leaf in leaves]
                raise ValueError(
                    "Dataset.unbatch expects every component to share a first axis, "
                    f"got shapes {shapes}"
                )
            for i in range(lengths.pop()):
                yield pack_like(element, [np.array(leaf[i]) for leaf in leaves])
    finally:
        close(iterator)


def repeat_iter(dataset, count):
    epoch = 0
    while count is None or epoch < count:
        produced = False
        iterator = iter(dataset)
        try:
            for element in iterator:
                produced = True
                yield element
        finally:
            close(iterator)
        if not produced:
            return  # repeating an empty dataset forever would never yield
        epoch += 1


def take_iter(iterable, count):
    if count == 0:
        return
    iterator = iter(iterable)
    try:
        for taken, element in enumerate(iterator, start=1):
            yield element
            if taken == count:
                return
    finally:
        close(iterator)


def skip_iter(iterable, count):
    iterator = iter(iterable)
    try:
        for position, element in enumerate(iterator):
            if position >= count:
                yield element
    finally:
        close(iterator)


def cache_iter(iterable, store):
    """Yield from ``store["elements"]`` once a full pass has filled it.

    Cached arrays are made read-only: a map that changed them in place would otherwise
    corrupt every later epoch.
    """
    if store.get("elements") is not None:
        yield from store["elements"]
        return
    collected = []
    iterator = iter(iterable)
    try:
        for element in iterator:
            for leaf in flatten(element):
                leaf.setflags(write=False)
            collected.append(element)
            yield element
    finally:
        close(iterator)
    store["elements"] = collected


def zip_iter(datasets):
    """Yield tuples (or dicts) of elements until the shortest dataset ends."""
    keys = list(datasets) if isinstance(datasets, dict) else None
    members = list(datasets.values()) if keys is not None else list(datasets)
    iterators = [iter(member) for member in members]
    try:
        while True:
            elements = []
            for iterator in iterators:
                element = next(iterator, _END)
                if element is _END:
                    return
                elements.append(element)
            yield dict(zip(keys, elements)) if keys is not None else tuple(elements)
    finally:
        for iterator in iterators:
            close(iterator)


def concatenate_iter(first, second):
    template = None
    for part, dataset in enumerate((first, second)):
        iterator = iter(dataset)
        try:
            for element in iterator:
                if template is None:
                    template = signature(element)
                elif part == 1 and signature(element) != template:
                    raise ValueError(
                        "Dataset.concatenate expects both datasets to have the same element "
                        "structure"
                    )
                yield element
        finally:
            close(iterator)


def enumerate_iter(iterable, start):
    iterator = iter(iterable)
    try:
        for index, element in enumerate(iterator, start=start):
            yield np.array(index, dtype=np.int64), element
    finally:
        close(iterator)


_END = object()

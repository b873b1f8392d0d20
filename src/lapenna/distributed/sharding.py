"""``ShardedArrays``: every rank's disjoint share of each global batch.

Each epoch all ranks draw the same permutation (from a seed that rank 0 chose and
broadcast, and the epoch number), cut it into global batches of ``batch_size * size``
samples, and rank ``r`` takes the ``r``-th slice of ``batch_size`` samples of each. So the
ranks together see exactly the batches that one process with the global batch would see,
every rank takes the same number of steps, and the shards of one epoch are disjoint. The
samples left over after the last full global batch are skipped that epoch (a different
set each epoch, since the permutation changes).
"""

from lapenna import backend as B
from lapenna.data.structure import flatten, map_structure

xp = B.xp


class ShardedArrays:
    """A re-iterable of this rank's ``(x, y, sample_weight)`` batches, for ``model.fit``.

    Args:
        x, y, sample_weight: arrays (or lists/dicts of arrays) with the same first axis.
        batch_size: samples per rank per step; the global batch is ``batch_size * size``.
        comm: the ``Communicator``.
        shuffle: draw a new permutation every epoch (else the arrays' own order).
        seed: the permutation seed; by default rank 0 draws one from the global generator
            and broadcasts it, so every rank agrees.

    Raises:
        ValueError: when the arrays hold fewer samples than one global batch.
    """

    def __init__(self, x, y, sample_weight, batch_size, comm, shuffle=True, seed=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if x is None:
            raise ValueError("ShardedArrays needs the input arrays x, got None")
        for name, part in (("x", x), ("y", y), ("sample_weight", sample_weight)):
            for leaf in [] if part is None else flatten(part):
                if getattr(leaf, "ndim", 0) < 1:
                    raise ValueError(
                        f"data parallelism shards arrays sample by sample: {name} must be an "
                        "array (or a list/dict of arrays) with the samples on the first axis, "
                        f"got {type(leaf).__name__}; a Dataset or a generator cannot be "
                        "sharded: give the arrays, or feed each rank its own part with "
                        "model.fit and no distribute"
                    )
        sizes = {
            leaf.shape[0]
            for part in (x, y, sample_weight)
            if part is not None
            for leaf in flatten(part)
        }
        if len(sizes) != 1:
            raise ValueError(f"x, y and sample_weight must have the same length, got {sizes}")
        self.n = sizes.pop()
        self.global_batch = batch_size * comm.size
        if self.n < self.global_batch:
            raise ValueError(
                f"{self.n} samples are fewer than one global batch of {batch_size} x "
                f"{comm.size} ranks = {self.global_batch}"
            )
        if seed is None:
            seed = int(B.generator().integers(2**31)) if comm.rank == 0 else 0
        self.seed = comm.broadcast_int(seed)
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.batch_size, self.rank, self.shuffle = batch_size, comm.rank, shuffle
        self.epoch = 0

    def __len__(self):
        return self.n // self.global_batch

    def set_epoch(self, epoch):
        """Draw the next iteration's order for ``epoch`` (``fit``'s epochs, resumes too)."""
        self.epoch = int(epoch)

    def permutation(self, epoch):
        """The global order of the samples in ``epoch``: the same on every rank."""
        if not self.shuffle:
            return xp.arange(self.n)
        return xp.random.default_rng([self.seed, epoch]).permutation(self.n)

    def __iter__(self):
        order = self.permutation(self.epoch)
        self.epoch += 1
        for step in range(len(self)):
            start = step * self.global_batch + self.rank * self.batch_size
            index = order[start : start + self.batch_size]
            yield tuple(
                None if part is None else map_structure(lambda a, i=index: a[i], part)
                for part in (self.x, self.y, self.sample_weight)
            )

    def __repr__(self):
        return (
            f"<ShardedArrays rank {self.rank}: {len(self)} steps of {self.batch_size} of "
            f"{self.n} samples>"
        )

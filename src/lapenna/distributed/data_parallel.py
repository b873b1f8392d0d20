"""``DataParallel``: Horovod-style data parallelism for ``fit``, over MPI.

Every rank holds the whole model. Rank 0's initial weights and optimizer state are
broadcast, each rank trains on its own shard of every global batch, the gradients are
averaged (``DistributedOptimizer``), so every rank takes the same step and the weights stay
identical, and the epoch's metrics are averaged. Only rank 0 prints and writes files.
"""

from lapenna.callbacks import (
    BackupAndRestore,
    CSVLogger,
    ModelCheckpoint,
    ProgbarLogger,
    TensorBoard,
)
from lapenna.distributed.callbacks import (
    ArmOverlap,
    BroadcastState,
    MetricAverage,
    RestoreOnly,
    ShardEpoch,
)
from lapenna.distributed.comm import Communicator
from lapenna.distributed.optimizer import DistributedOptimizer
from lapenna.distributed.sharding import ShardedArrays
from lapenna.optimizers import Optimizer

# callbacks that write files or print: they act on rank 0 only
WRITERS = (ProgbarLogger, ModelCheckpoint, TensorBoard, CSVLogger)


class DataParallel:
    """The data-parallel strategy: one per process, created after MPI starts.

    Args:
        comm: a ``Communicator`` (default: a new one on ``MPI.COMM_WORLD``).
        timeout: seconds a collective waits for a missing rank (see ``Communicator``).
        bucket_size_mb: the all-reduce bucket size of ``DistributedOptimizer``.
        overlap: reduce each bucket during backward, as soon as its gradients are final.

    Example (run with ``mpiexec -n 4 python train.py``)::

        dp = lp.distributed.DataParallel()
        model.compile(optimizer=lp.optimizers.SGD(0.01 * dp.size), loss="mse", distribute=dp)
        model.fit(x, y, batch_size=32, epochs=3)       # 32 per rank, 128 per step
        # the same: compile(optimizer=dp.optimizer(...)) and dp.fit(model, x, y, ...)
    """

    def __init__(self, comm=None, timeout=None, bucket_size_mb=25.0, overlap=True):
        self.comm = comm if comm is not None else Communicator(timeout=timeout)
        self.bucket_size_mb = bucket_size_mb
        self.overlap = overlap

    @property
    def rank(self):
        return self.comm.rank

    @property
    def size(self):
        return self.comm.size

    @property
    def is_root(self):
        return self.comm.rank == 0

    def optimizer(self, optimizer):
        """Wrap ``optimizer`` (an object or a name) so it averages gradients over ranks."""
        return DistributedOptimizer(optimizer, self.comm, self.bucket_size_mb, self.overlap)

    def shard(self, x, y=None, sample_weight=None, batch_size=32, shuffle=True, seed=None):
        """This rank's batches of ``batch_size`` samples (see ``ShardedArrays``)."""
        return ShardedArrays(x, y, sample_weight, batch_size, self.comm, shuffle, seed)

    def verbose(self, verbose):
        """``verbose`` on rank 0, 0 elsewhere (one progress bar per job)."""
        return verbose if self.is_root else 0

    def callbacks(self, callbacks=None, model=None, shards=()):
        """The user's ``callbacks`` made rank-aware, with the strategy's own added.

        In order: backups (on ranks other than 0 restored but never written), the
        broadcast of rank 0's state, the shards' epoch, the metric average, then the
        user's other callbacks, of which those that write or print stay on rank 0 only.
        """
        callbacks = list(callbacks or [])
        backups = [c for c in callbacks if isinstance(c, BackupAndRestore)]
        others = [c for c in callbacks if not isinstance(c, BackupAndRestore)]
        if not self.is_root:
            backups = [RestoreOnly(b.backup_dir, b.save_freq, b.delete_checkpoint) for b in backups]
            others = [c for c in others if not isinstance(c, WRITERS)]
        own = [BroadcastState(self.comm), ShardEpoch(shards), MetricAverage(self.comm)]
        optimizer = getattr(model, "optimizer", None)
        if isinstance(optimizer, DistributedOptimizer) and optimizer.overlap:
            own.append(ArmOverlap(optimizer))
        return backups + own + others

    def fit(
        self,
        model,
        x,
        y=None,
        batch_size=None,
        sample_weight=None,
        shuffle=True,
        seed=None,
        callbacks=None,
        verbose="auto",
        **kwargs,
    ):
        """``model.fit`` on this rank's shards with the strategy's callbacks.

        ``model.fit(..., distribute=dp)`` and ``model.compile(..., distribute=dp)`` come
        here. ``x``, ``y`` and ``sample_weight`` are arrays (or lists/dicts of arrays);
        ``batch_size`` (default 32) is per rank. A model compiled with a plain optimizer
        gets it wrapped with ``dp.optimizer(...)`` (its state kept). Other keyword arguments
        (``epochs``, ``validation_data``...) go to ``fit``.

        Raises:
            ValueError: for a model that is not compiled, or compiled with the optimizer of
                another strategy; for data that cannot be sharded (a Dataset, a generator);
                for ``validation_split`` (pass ``validation_data``).
        """
        optimizer = getattr(model, "optimizer", None)
        if isinstance(optimizer, DistributedOptimizer):
            if optimizer.comm is not self.comm:
                raise ValueError(
                    "DataParallel.fit got a model compiled with another DataParallel's "
                    "optimizer: compile it with this one's (distribute=dp or dp.optimizer)"
                )
        elif not isinstance(optimizer, Optimizer):
            raise ValueError(
                "DataParallel.fit expects a compiled model (model.compile(optimizer=..., "
                f"loss=..., distribute=dp)), got optimizer {type(optimizer).__name__}"
            )
        if kwargs.get("validation_split"):
            raise ValueError(
                "validation_split is not available with DataParallel (each rank holds a "
                f"shard), got {kwargs['validation_split']!r}: pass validation_data instead"
            )
        kwargs.pop("validation_split", None)
        batch_size = 32 if batch_size is None else batch_size
        shards = self.shard(x, y, sample_weight, batch_size, shuffle, seed)
        if not isinstance(optimizer, DistributedOptimizer):
            model.optimizer = self.optimizer(optimizer)
        return model.fit(
            shards,
            callbacks=self.callbacks(callbacks, model, [shards]),
            verbose=self.verbose(verbose),
            **kwargs,
        )

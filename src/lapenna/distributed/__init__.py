"""Data and model parallelism over MPI (mpi4py; ``pip install 'lapenna[mpi]'``).

Run a script with ``mpiexec -n 4 python train.py``; each process is one rank.

Example::

    import lapenna as lp
    dp = lp.distributed.DataParallel(timeout=60)
    model.compile(optimizer=dp.optimizer(lp.optimizers.Adam(1e-3)), loss="mse")
    dp.fit(model, x, y, batch_size=32, epochs=5)    # 32 samples per rank and step
"""

from lapenna.distributed.callbacks import (
    ArmOverlap,
    BroadcastState,
    MetricAverage,
    RestoreOnly,
    ShardEpoch,
    broadcast_model,
)
from lapenna.distributed.comm import CollectiveTimeoutError, Communicator
from lapenna.distributed.data_parallel import DataParallel
from lapenna.distributed.optimizer import DistributedOptimizer
from lapenna.distributed.pipeline import Pipeline
from lapenna.distributed.sharding import ShardedArrays
from lapenna.distributed.sync_batchnorm import AllReduceSum, SyncBatchNormalization

__all__ = [
    "AllReduceSum",
    "ArmOverlap",
    "BroadcastState",
    "CollectiveTimeoutError",
    "Communicator",
    "DataParallel",
    "DistributedOptimizer",
    "MetricAverage",
    "Pipeline",
    "RestoreOnly",
    "ShardEpoch",
    "ShardedArrays",
    "SyncBatchNormalization",
    "broadcast_model",
]

"""Callbacks that keep the ranks of a data-parallel ``fit`` in step.

``BroadcastState`` makes every rank start from rank 0's weights and optimizer state;
``MetricAverage`` replaces each epoch's logs with their mean over ranks; ``ShardEpoch``
tells the shards which epoch ``fit`` is in (so a resumed run redraws the same order);
``ArmOverlap`` lets the next backward start gradient reductions. ``RestoreOnly`` is a
``BackupAndRestore`` that reads a backup but never writes one, for ranks other than 0.
"""

from lapenna import backend as B
from lapenna.callbacks import BackupAndRestore, Callback


class BroadcastState(Callback):
    """At the start of training, copy rank ``root``'s weights and optimizer state (slots
    and step count) to every rank. The optimizer is built first, so its slots exist."""

    def __init__(self, comm, root=0):
        super().__init__()
        self.comm, self.root = comm, root

    def on_train_begin(self, logs=None):
        broadcast_model(self.model, self.comm, self.root)


def broadcast_model(model, comm, root=0):
    """Make every rank's weights and optimizer state equal to rank ``root``'s."""
    xp = B.xp
    weights = [xp.array(w, order="C") for w in model.get_weights()]
    comm.broadcast(weights, root, "the broadcast of the initial weights")
    model.set_weights(weights)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return
    optimizer.build(model.trainable_weights)
    state = optimizer.get_state()
    names = sorted(state)
    arrays = [xp.array(state[k], order="C") for k in names]
    comm.broadcast(arrays, root, "the broadcast of the optimizer state")
    optimizer.set_state(dict(zip(names, arrays)))


class MetricAverage(Callback):
    """Replace every number in an epoch's logs by its mean over the ranks, before the
    callbacks after it (History, CSV, progress bar) see them."""

    def __init__(self, comm):
        super().__init__()
        self.comm = comm

    def on_epoch_end(self, epoch, logs=None):
        if not logs:
            return
        keys = sorted(k for k, v in logs.items() if isinstance(v, int | float))
        values = B.xp.asarray([float(logs[k]) for k in keys], dtype=B.xp.float64)
        (mean,) = self.comm.allreduce_mean([values], "the average of the epoch's metrics")
        logs.update({k: float(v) for k, v in zip(keys, mean)})


class ShardEpoch(Callback):
    """Call ``set_epoch(epoch)`` on each of ``shards`` when an epoch begins."""

    def __init__(self, shards):
        super().__init__()
        self.shards = list(shards)

    def on_epoch_begin(self, epoch, logs=None):
        for shard in self.shards:
            shard.set_epoch(epoch)


class ArmOverlap(Callback):
    """Before each training batch, let ``optimizer`` reduce gradients during backward."""

    def __init__(self, optimizer):
        super().__init__()
        self.optimizer = optimizer

    def on_train_begin(self, logs=None):
        self.optimizer.plan(self.model.trainable_weights)

    def on_train_batch_begin(self, batch, logs=None):
        self.optimizer.arm()


class RestoreOnly(BackupAndRestore):
    """Restore from ``backup_dir`` like ``BackupAndRestore``, but never write or delete:
    the callback of ranks other than 0, so that one rank alone owns the backup file."""

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

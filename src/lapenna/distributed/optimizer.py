"""``DistributedOptimizer``: average the gradients over ranks, then take the wrapped step.

Gradients are packed into buckets (``bucket_size_mb`` each, in the reverse order of the
variables, the order backward produces them) and each bucket is summed over ranks with one
non-blocking ``Iallreduce``. With ``overlap`` on, a bucket is started from the autograd
engine's leaf hook the moment its last gradient is final, so the reduction of the last
layers runs while the first layers are still differentiating (as PyTorch's
DistributedDataParallel does); ``apply_gradients`` then only waits. Averaged gradients go to
the wrapped optimizer, which is otherwise untouched: its slots, step counter and schedule
are its own, and every rank applies the same update to the same weights.
"""

import time

from lapenna import backend as B
from lapenna import optimizers
from lapenna.autograd import Tensor, engine
from lapenna.distributed.comm import Communicator
from lapenna.optimizers import Optimizer
from lapenna.optimizers.base import check_number
from lapenna.utils import get_registry

xp = B.xp


class DistributedOptimizer(Optimizer):
    """Wrap ``optimizer`` so that it applies the mean of every rank's gradients.

    Args:
        optimizer: an ``Optimizer`` (or a name such as ``"adam"``).
        comm: a ``Communicator`` (default: a new one on ``MPI.COMM_WORLD``).
        bucket_size_mb: the size of one all-reduce bucket in megabytes (PyTorch DDP uses 25).
        overlap: start each bucket's reduction during backward (needs ``arm()`` before the
            backward pass; ``distributed.callbacks`` does that every batch). Without it,
            or when not armed, every bucket is reduced in ``apply_gradients``.

    Attributes:
        trace: per step, a dict ``{"backward_end": t, "buckets": [{"bucket", "bytes",
            "start", "end"}, ...]}`` of ``time.perf_counter()`` stamps (the last 100 steps).

    Example:
        >>> opt = DistributedOptimizer(lp.optimizers.SGD(0.1 * comm.size))  # doctest: +SKIP
    """

    def __init__(self, optimizer, comm=None, bucket_size_mb=25.0, overlap=True):
        inner = optimizers.get(optimizer)
        if inner is None or isinstance(inner, DistributedOptimizer):
            raise ValueError(
                f"DistributedOptimizer wraps one plain optimizer, got {type(inner).__name__}"
            )
        check_number("DistributedOptimizer", "bucket_size_mb", bucket_size_mb, low=0, low_open=True)
        self.optimizer = inner
        self.comm = comm if comm is not None else Communicator()
        self.bucket_bytes = int(bucket_size_mb * 1024 * 1024)
        self.overlap = bool(overlap)
        self.name = inner.name
        self.trace = []
        self._plan = None  # (variables, buckets) once the variables are known
        self._armed = False
        self._captured = {}  # id(var) -> gradient array seen by the engine hook
        self._pending = {}  # bucket index -> (request, buffer, record)
        self._hook = None
        # a model saved with this optimizer names it; loading rebuilds the plain optimizer.
        # Registered only once one exists (in an MPI program), so that the registry of a
        # single process holds only optimizers that build without MPI.
        get_registry("optimizers").register(DistributedOptimizer)

    # -- delegation to the wrapped optimizer ---------------------------------------------
    @property
    def learning_rate(self):
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.optimizer.learning_rate = value

    @property
    def iterations(self):
        return self.optimizer.iterations

    @iterations.setter
    def iterations(self, value):
        self.optimizer.iterations = value

    @property
    def built(self):
        return self.optimizer.built

    @property
    def variables(self):
        return self.optimizer.variables

    def build(self, var_list):
        return self.optimizer.build(var_list)

    def slot(self, var, name):
        return self.optimizer.slot(var, name)

    def get_state(self):
        return self.optimizer.get_state()

    def set_state(self, state):
        self.optimizer.set_state(state)

    def get_config(self):
        return {
            "optimizer": optimizers.serialize(self.optimizer),
            "bucket_size_mb": self.bucket_bytes / (1024 * 1024),
            "overlap": self.overlap,
        }

    @classmethod
    def from_config(cls, config):
        """The wrapped optimizer, rebuilt alone: a saved model reloads without MPI (wrap
        it again with ``DataParallel.optimizer`` to go on training on several ranks)."""
        return optimizers.deserialize(config["optimizer"])

    # -- buckets ---------------------------------------------------------------------------
    def plan(self, variables):
        """Lay out the buckets for ``variables`` (in the order ``apply_gradients`` will get
        them) now, so that even the first step reduces during backward."""
        self._make_plan(list(variables))

    def _make_plan(self, variables):
        """Group ``variables`` (in reverse, the order backward finishes them) into buckets."""
        buckets, current, size = [], [], 0
        for var in reversed(variables):
            nbytes = var.data.nbytes
            if current and size + nbytes > self.bucket_bytes:
                buckets.append(current)
                current, size = [], 0
            current.append(var)
            size += nbytes
        if current:
            buckets.append(current)
        owner = {id(v): i for i, bucket in enumerate(buckets) for v in bucket}
        # one buffer per bucket for the whole run: packing writes into it (no allocation
        # of tens of MB, and the page faults that come with it, every step)
        buffers = [xp.empty(sum(v.size for v in bucket), dtype=B.floatx()) for bucket in buckets]
        self._plan = {
            "ids": [id(v) for v in variables],
            "buckets": buckets,
            "owner": owner,
            "buffers": buffers,
        }
        if self.overlap and self._hook is None:
            self._hook = engine.register_leaf_hook(self._on_leaf_final)

    def arm(self):
        """Let the next backward pass start the reductions of the buckets it completes."""
        self._armed = self.overlap and self._plan is not None
        self._captured, self._pending = {}, {}

    def _on_leaf_final(self, leaf, grad):
        if not self._armed:
            return
        index = self._plan["owner"].get(id(leaf))
        if index is None:
            return
        self._captured[id(leaf)] = grad.data
        bucket = self._plan["buckets"][index]
        if all(id(v) in self._captured for v in bucket):
            self._start(index, [self._captured[id(v)] for v in bucket])
        elif self._pending:  # MPI moves the reductions already started on only when called
            self.comm.progress([request for request, _, _ in self._pending.values()])

    def _start(self, index, arrays):
        buffer = self._plan["buffers"][index]
        xp.concatenate([a.reshape(-1) for a in arrays], out=buffer, casting="same_kind")
        record = {"bucket": index, "bytes": int(buffer.nbytes), "start": time.perf_counter()}
        self._pending[index] = (self.comm.start_allreduce(buffer), buffer, record)

    # -- the step ----------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Average each gradient over ranks, then apply the wrapped optimizer's update.

        Every rank must call this with the same variables in the same order.

        Raises:
            CollectiveTimeoutError: when a rank does not join within the timeout.
        """
        backward_end = time.perf_counter()
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise ValueError("DistributedOptimizer: no gradients provided for any variable")
        variables = [v for _, v in pairs]
        grads = {id(v): (g.data if isinstance(g, Tensor) else B.as_array(g)) for g, v in pairs}
        if self._plan is None or self._plan["ids"] != [id(v) for v in variables]:
            self._make_plan(variables)
            self._pending = {}
        for index, bucket in enumerate(self._plan["buckets"]):
            started = index in self._pending and all(
                self._captured.get(id(v)) is grads[id(v)] for v in bucket
            )
            if not started:  # not armed, or train_step changed the gradients
                if index in self._pending:
                    self.comm.wait([self._pending[index][0]], "a stale gradient all-reduce")
                self._start(index, [grads[id(v)] for v in bucket])
        self._armed, self._captured = False, {}
        pending, self._pending = self._pending, {}
        averaged, records = {}, []
        for index in sorted(pending):
            request, buffer, record = pending[index]
            self.comm.wait([request], f"the gradient all-reduce of bucket {index}")
            record["end"] = time.perf_counter()
            records.append(record)
            buffer /= buffer.dtype.type(self.comm.size)
            offset = 0
            for var in self._plan["buckets"][index]:
                averaged[id(var)] = buffer[offset : offset + var.size].reshape(var.shape)
                offset += var.size
        self.trace = (self.trace + [{"backward_end": backward_end, "buckets": records}])[-100:]
        return self.optimizer.apply_gradients((averaged[id(v)], v) for v in variables)

    def update_step(self, grad, var, lr):
        self.optimizer.update_step(grad, var, lr)

    def __repr__(self):
        return f"<DistributedOptimizer of {self.optimizer!r} on {self.comm.size} ranks>"

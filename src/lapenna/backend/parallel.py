"""Spread the kernels' chunk loops over the cores.

BLAS multiplies matrices on every core, but numpy's elementwise loops, copies and
reductions run on one. They release the GIL, though, so Python threads working on
disjoint chunks of arrays do run in parallel. ``map_chunks`` gives each worker whole
chunks (copies, transforms and GEMMs) with BLAS single-threaded inside, so the cores are
shared rather than oversubscribed: the same batch-level parallelism PyTorch uses.

The number of workers follows BLAS's thread count (``lapenna.set_num_threads``). Without
threadpoolctl (the ``perf`` extra) BLAS cannot be limited, and chunks run one by one.
"""

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

# less work than this runs in one chunk on one core: threads would cost more than they save
_MIN_PARALLEL_BYTES = 1 << 18

_state = {"blas": False, "pool": None, "size": 0}
_local = threading.local()


def _forget_pool():
    """A forked child inherits the pool object but not its threads: start afresh."""
    _state["pool"], _state["size"] = None, 0


os.register_at_fork(after_in_child=_forget_pool)


def _blas():
    """threadpoolctl's view of the BLAS libraries, or None without threadpoolctl."""
    if _state["blas"] is False:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - depends on the environment
            _state["blas"] = None
        else:
            _state["blas"] = ThreadpoolController().select(user_api="blas")
    return _state["blas"]


def workers():
    """How many chunks run at once: BLAS's thread count (1 without threadpoolctl)."""
    blas = _blas()
    if blas is None or not blas.lib_controllers or getattr(_local, "busy", False):
        return 1
    return max(c.num_threads for c in blas.lib_controllers)


def _executor(size):
    if _state["size"] < size:
        if _state["pool"] is not None:
            _state["pool"].shutdown()
        _state["pool"] = ThreadPoolExecutor(size, thread_name_prefix="lapenna")
        _state["size"] = size
    return _state["pool"]


def _run(fn, bounds):
    _local.busy = True
    try:
        return fn(*bounds)
    finally:
        _local.busy = False


def map_chunks(fn, n, step):
    """``[fn(start, stop) for each chunk of range(n)]``, chunks in parallel when possible.

    ``fn`` must only write to its own chunk of any shared output. Calls from inside a
    worker run serially (no nested pools).
    """
    bounds = [(start, min(n, start + step)) for start in range(0, n, step)]
    size = min(workers(), len(bounds))
    if size <= 1:
        return [fn(*b) for b in bounds]
    with _blas().limit(limits=1):
        return list(_executor(size).map(lambda b: _run(fn, b), bounds))


def sample_bytes(a):
    """Bytes of one sample (one entry along axis 0) of ``a``, even when the batch is empty."""
    return math.prod(a.shape[1:]) * a.itemsize


def chunk_size(n, sample_bytes, chunk_bytes, minimum=1):
    """Samples per chunk: about ``chunk_bytes`` each (at least ``minimum``), shrunk so the
    chunks divide evenly among the workers when the work is big enough to share."""
    step = max(1, min(n, max(chunk_bytes // max(sample_bytes, 1), minimum)))
    size = workers()
    if size <= 1 or n < size or n * sample_bytes < _MIN_PARALLEL_BYTES:
        return step
    chunks = math.ceil(math.ceil(n / step) / size) * size
    return max(1, math.ceil(n / chunks))

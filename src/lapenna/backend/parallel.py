"""Spread the kernels' chunk loops over the cores.

BLAS multiplies matrices on every core, but numpy's elementwise loops, copies and
reductions run on one. They release the GIL, though, so Python threads working on
disjoint chunks of arrays do run in parallel. ``map_chunks`` gives each worker whole
chunks (copies, transforms and GEMMs) with BLAS single-threaded inside, so the cores are
shared rather than oversubscribed: the same batch-level parallelism PyTorch uses.

Inside a chunk loop BLAS is limited to one thread (``single_blas``, which nests and
restores the count after). A product outside the loops (``matmul``, e.g. a Dense layer) is
threaded by BLAS itself when OpenBLAS's idle spin is short (``process.SHORT_BLAS_SPIN``);
otherwise it too runs single-threaded, split among the workers. The reason: after a
multi-threaded call OpenBLAS's threads keep spinning, by default for about a tenth of a
second, and a spinning thread on a 2-core machine halves the speed of the next chunk loop.
Code outside lapenna keeps the BLAS thread count it had.

The number of workers starts as BLAS's thread count and is set with
``lapenna.set_num_threads``. Without threadpoolctl (the ``perf`` extra) BLAS cannot be
limited, and chunks run one by one.
"""

import itertools
import math
import os
import queue
import threading

from lapenna.backend import process
from lapenna.backend.device import on_gpu, xp

# less work than this runs in one chunk on one core: threads would cost more than they save
_MIN_PARALLEL_BYTES = 1 << 18
# products of fewer multiply-adds than this run whole on one core (OpenBLAS itself does
# not thread below about 65536 * 4)
_MIN_PARALLEL_MACS = 1 << 18

_state = {"blas": False, "inboxes": [], "workers": None, "depth": 0, "saved": None}
_local = threading.local()
_lock = threading.Lock()


def _forget_pool():
    """A forked child inherits the pool object but not its threads: start afresh."""
    _state["inboxes"] = []


os.register_at_fork(after_in_child=_forget_pool)


def _blas():
    """threadpoolctl's controllers of the BLAS libraries, or None without threadpoolctl."""
    if _state["blas"] is False:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - depends on the environment
            _state["blas"] = None
        else:
            found = ThreadpoolController().select(user_api="blas").lib_controllers
            _state["blas"] = list(found) or None
    return _state["blas"]


def _set_blas(blas, n):
    """Set the thread count of every BLAS library, from whichever thread calls.

    threadpoolctl lets only the first thread that set OpenBLAS's (process-wide) count set
    it again and silently ignores the others; lapenna's workers and a data pipeline's
    threads all enter ``single_blas``, so the library's own setter is called directly.
    """
    for c in blas:
        getattr(c, "_real_set_num_threads", c.set_num_threads)(n)


def _current(blas):
    """The libraries' thread count right now."""
    return max(c.get_num_threads() or 1 for c in blas)


def _per_thread(blas):
    """Whether the count is a per-thread setting (an OpenMP build), not a process one."""
    return any(getattr(c, "threading_layer", None) == "openmp" for c in blas)


def blas_threads():
    """BLAS's own thread count as code outside lapenna sees it."""
    blas = _blas()
    if blas is None:
        return 1
    with _lock:
        if _state["depth"]:
            return _state["saved"]
    return _current(blas)


def set_blas_threads(n):
    """Set BLAS's thread count for code outside lapenna (inside it stays one)."""
    blas = _blas()
    if blas is None:
        return
    with _lock:
        if _state["depth"]:
            _state["saved"] = n
            return
        _set_blas(blas, n)


def set_workers(n):
    """How many chunks run at once from now on."""
    _state["workers"] = n


def workers():
    """How many chunks run at once: ``set_num_threads``'s value, at first BLAS's own
    thread count (1 without threadpoolctl, inside a worker, or on a GPU)."""
    if on_gpu() or _blas() is None or getattr(_local, "busy", False):
        return 1
    if _state["workers"] is None:
        _state["workers"] = blas_threads()
    return _state["workers"]


class single_blas:
    """Context in which BLAS runs on one thread; nests, and restores the count on exit.

    Setting the count through the libraries' own functions costs about a microsecond,
    so it is cheap enough to wrap every kernel call.
    """

    __slots__ = ()

    def __enter__(self):
        blas = _blas()
        if blas is None:
            return self
        with _lock:
            if _state["depth"] == 0:
                _state["saved"] = _current(blas)
                if _state["saved"] != 1:
                    _set_blas(blas, 1)
            _state["depth"] += 1
        return self

    def __exit__(self, *exc):
        blas = _blas()
        if blas is None:
            return False
        with _lock:
            _state["depth"] -= 1
            if _state["depth"] == 0 and _state["saved"] != 1:
                _set_blas(blas, _state["saved"])
        return False


class _Job:
    """One ``map_chunks`` call: chunks are taken in order by whoever is free."""

    def __init__(self, fn, bounds):
        self.fn, self.bounds = fn, bounds
        self.results = [None] * len(bounds)
        self.errors = []
        self.taken = itertools.count()  # next() on a count is atomic under the GIL
        self.finished = queue.SimpleQueue()

    def work(self):
        _local.busy = True
        try:
            while not self.errors:
                i = next(self.taken)
                if i >= len(self.bounds):
                    return
                try:
                    self.results[i] = self.fn(*self.bounds[i])
                except BaseException as err:  # re-raised in the calling thread
                    self.errors.append(err)
        finally:
            _local.busy = False


def _helper(inbox):
    blas = _blas()
    if blas is not None and _per_thread(blas):
        _set_blas(blas, 1)  # an OpenMP build's limit holds for the thread that set it
    while True:
        job = inbox.get()
        if job is None:
            return
        job.work()
        job.finished.put(None)


def _helpers(count):
    """``count`` idle helper threads, each waiting on its own inbox (started once)."""
    with _lock:  # callers on several threads start each helper once
        inboxes = _state["inboxes"]
        for i in range(len(inboxes), count):
            inbox = queue.SimpleQueue()
            name = f"lapenna-worker-{i}"
            threading.Thread(target=_helper, args=(inbox,), name=name, daemon=True).start()
            inboxes.append(inbox)
        return inboxes[:count]


def map_chunks(fn, n, step):
    """``[fn(start, stop) for each chunk of range(n)]``, chunks in parallel when possible.

    ``fn`` must only write to its own chunk of any shared output. The calling thread
    takes chunks too, beside ``workers() - 1`` helper threads; calls from inside a chunk
    run serially (no nested pools). BLAS is single-threaded throughout. On a GPU the whole
    range is one chunk: the device runs each kernel in parallel, and chunks would only add
    launches.
    """
    if on_gpu():
        return [fn(0, n)] if n > 0 else []
    bounds = [(start, min(n, start + step)) for start in range(0, n, step)]
    size = min(workers(), len(bounds))
    with single_blas():
        if size <= 1:
            return [fn(*b) for b in bounds]
        job = _Job(fn, bounds)
        helpers = _helpers(size - 1)
        for inbox in helpers:
            inbox.put(job)
        job.work()
        for _ in helpers:
            job.finished.get()
    if job.errors:
        raise job.errors[0]
    return job.results


def matmul(a, b):
    """``a @ b`` (numpy's rules, operands of rank >= 2) on every core.

    Outside a chunk loop, when OpenBLAS's idle spin is short, BLAS threads the product
    itself (its threads hand work over fastest). Otherwise large products are split among
    the workers, each with single-threaded BLAS: a 2-D product along the longer of its
    output's sides, or along the summed axis when both are short (a matrix-vector
    product); a stack of products whose batch axes match along the batch. On a GPU it is
    one cuBLAS call (CuPy's matmul).
    """
    if on_gpu():
        return xp.matmul(a, b)
    if process.SHORT_BLAS_SPIN and _state["depth"] == 0:
        return xp.matmul(a, b)  # BLAS's threads hand over fast: let them thread it
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    if a.ndim == 2 and b.ndim == 2:
        batch = 1
    else:
        batch = math.prod(xp.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    size = workers()
    with single_blas():
        if size <= 1 or batch * m * n * k < _MIN_PARALLEL_MACS or a.dtype != b.dtype:
            return xp.matmul(a, b)
        if a.ndim == 2 and b.ndim == 2:
            return _matmul_2d(a, b, size)
        if a.shape[:-2] == b.shape[:-2]:
            out = xp.empty((*a.shape[:-1], n), dtype=xp.result_type(a, b))
            lead_a, lead_b = a.reshape(-1, m, k), b.reshape(-1, k, n)
            lead_out = out.reshape(-1, m, n)

            def chunk(start, stop):
                xp.matmul(lead_a[start:stop], lead_b[start:stop], out=lead_out[start:stop])

            map_chunks(chunk, batch, math.ceil(batch / size))
            return out
        return xp.matmul(a, b)


def _matmul_2d(a, b, size):
    (m, k), n = a.shape, b.shape[1]
    if max(m, n) >= 32 * size:
        out = xp.empty((m, n), dtype=xp.result_type(a, b))
        if m >= n:

            def chunk(start, stop):
                xp.matmul(a[start:stop], b, out=out[start:stop])

            map_chunks(chunk, m, math.ceil(m / size))
        else:

            def chunk(start, stop):
                xp.matmul(a, b[:, start:stop], out=out[:, start:stop])

            map_chunks(chunk, n, math.ceil(n / size))
        return out

    def partial(start, stop):
        return xp.matmul(a[:, start:stop], b[start:stop])

    parts = map_chunks(partial, k, math.ceil(k / size))
    total = parts[0]
    for p in parts[1:]:
        total += p
    return total


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

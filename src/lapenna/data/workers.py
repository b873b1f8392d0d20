"""Background threads for the pipeline: prefetching and order-preserving parallel map.

numpy releases the GIL in its heavy loops (and Pillow while decoding), so threads overlap
real work. Both iterators are generator functions: when the consumer stops early (``break``,
an exception, or dropping the iterator), their ``finally`` block stops and joins the threads,
so no thread outlives its iteration.

A prefetch thread runs ahead of its consumer, drawing random numbers (augmentation, a
shuffle buffer) for elements no one may take: ``fit`` with ``steps_per_epoch`` below the
dataset's length stops early. When the consumer stops before the end, the data streams
(``backend.DATA_PURPOSES``) are set back to where they stood after the last element it
took, so what the streams hold afterwards does not depend on how far the thread got: an
uninterrupted run and a resumed one draw the same numbers next.
"""

import os
import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from lapenna.backend import DATA_PURPOSES, get_rng_state, set_rng_state
from lapenna.data.structure import apply_fn, to_arrays

AUTOTUNE = -1

_ITEM, _END, _ERROR = "item", "end", "error"
_POLL_SECONDS = 0.05


def resolve_parallelism(num_parallel_calls):
    """``None``/1 -> 1 (serial), ``AUTOTUNE`` -> the number of cores, else the positive int."""
    if num_parallel_calls is None:
        return 1
    if num_parallel_calls == AUTOTUNE:
        return os.cpu_count() or 1
    if (
        not isinstance(num_parallel_calls, int)
        or isinstance(num_parallel_calls, bool)
        or num_parallel_calls < 1
    ):
        raise ValueError(
            "Dataset.map expects num_parallel_calls to be None, AUTOTUNE (-1) or a positive "
            f"int, got {num_parallel_calls!r}"
        )
    return num_parallel_calls


def _put(q, message, stop):
    """Put ``message`` unless ``stop`` is set first; return whether it was put."""
    while not stop.is_set():
        try:
            q.put(message, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _close(iterator):
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def _data_streams():
    return get_rng_state(DATA_PURPOSES)["streams"]


def _produce(make_iterator, q, stop, last):
    iterator = None
    try:
        iterator = make_iterator()
        for item in iterator:
            # the streams as they stand after this element: where a consumer that stops
            # after it leaves them
            if not _put(q, (_ITEM, (item, _data_streams())), stop):
                return
        _put(q, (_END, None), stop)
    except BaseException as err:  # handed to the consumer, who raises it again
        _put(q, (_ERROR, err), stop)
    finally:
        _close(iterator)
        last["streams"] = _data_streams()  # after everything the worker drew


def prefetch_iterator(make_iterator, buffer_size):
    """Yield the items of ``make_iterator()`` while a worker thread keeps ``buffer_size`` ready.

    An exception raised by the upstream pipeline in the worker is raised again here, in the
    consumer, with its original traceback. A consumer that stops early leaves the data
    streams where they stood after the last item it took (see the module docstring).
    """
    q = queue.Queue(maxsize=buffer_size)
    stop = threading.Event()
    last = {}
    taken = _data_streams()  # the streams after the items taken so far (none yet)
    worker = threading.Thread(
        target=_produce, args=(make_iterator, q, stop, last), name="lapenna-prefetch", daemon=True
    )
    worker.start()
    finished = False
    try:
        while True:
            kind, payload = q.get()
            if kind == _END:
                finished = True
                return
            if kind == _ERROR:
                raise payload
            item, taken = payload
            yield item
    finally:
        stop.set()
        worker.join()
        if not finished and "streams" in last:
            _rewind(taken, last["streams"])


def _rewind(taken, ahead):
    """Set each data stream the worker drew ahead on back to its state after the last item
    taken. A stream that someone else drew from after the worker stopped (it no longer
    holds the worker's last state) is left alone: rewinding it would repeat their numbers."""
    now = _data_streams()
    back = {p: taken[p] for p in taken if now[p] == ahead[p] and now[p] != taken[p]}
    if back:
        set_rng_state({"streams": back}, purposes=tuple(back))


def parallel_map_iterator(iterable, fn, num_threads):
    """Yield ``fn(element)`` for each element, computed by ``num_threads`` threads, in order.

    Up to ``2 * num_threads`` calls are in flight; results leave in input order because the
    futures wait in a FIFO queue.
    """
    pool = ThreadPoolExecutor(max_workers=num_threads, thread_name_prefix="lapenna-map")
    pending = deque()
    iterator = iter(iterable)
    try:
        for element in iterator:
            pending.append(pool.submit(_call, fn, element))
            if len(pending) >= 2 * num_threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        _close(iterator)


def _call(fn, element):
    return to_arrays(apply_fn(fn, element))

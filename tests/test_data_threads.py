"""prefetch and parallel map: real overlap, errors reach the consumer, no leaked threads.

Overlap is shown structurally, never by timing: while the consumer works on item k it waits
for a signal that item k+1 has already been produced. With prefetch the signal comes (the
producer runs ahead in its thread); without it the producer is idle until asked, so the
signal cannot come.
"""

import threading

import numpy as np
import pytest

from lapenna.data import Dataset


def _threads(prefix):
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def _instrumented(count):
    produced = [threading.Event() for _ in range(count + 1)]

    def produce(i):
        produced[int(i)].set()
        return i

    return Dataset.range(count).map(produce), produced


def _consume(dataset, produced, wait_seconds):
    ahead = []
    for item in dataset:
        k = int(item)
        # the consumer "works" on item k until item k+1 exists or the wait gives up
        ahead.append(produced[k + 1].wait(wait_seconds) if k + 1 < len(produced) - 1 else True)
    return ahead


def test_prefetch_produces_the_next_item_while_the_consumer_works():
    dataset, produced = _instrumented(6)
    ahead = _consume(dataset.prefetch(2), produced, wait_seconds=10)
    assert ahead == [True] * 6


def test_without_prefetch_the_producer_waits_for_the_consumer():
    dataset, produced = _instrumented(3)
    ahead = _consume(dataset, produced, wait_seconds=0.05)
    assert ahead == [False, False, True]


def test_prefetch_delivers_everything_in_order():
    x = np.arange(100).reshape(50, 2)
    assert [b.tolist() for b in Dataset.from_tensor_slices(x).batch(8).prefetch(3)] == [
        b.tolist() for b in Dataset.from_tensor_slices(x).batch(8)
    ]


def test_worker_exception_surfaces_in_the_consumer():
    def explode(i):
        if i == 3:
            raise KeyError("bad element 3")
        return i

    seen = []
    with pytest.raises(KeyError, match="bad element 3"):
        for item in Dataset.range(10).map(explode).prefetch(2):
            seen.append(int(item))
    assert seen == [0, 1, 2]
    assert not _threads("lapenna-prefetch")


def test_parallel_map_exception_surfaces_in_order():
    def explode(i):
        if i == 5:
            raise RuntimeError("map failed on 5")
        return i

    seen = []
    with pytest.raises(RuntimeError, match="map failed on 5"):
        for item in Dataset.range(20).map(explode, num_parallel_calls=3):
            seen.append(int(item))
    assert seen == [0, 1, 2, 3, 4]
    assert not _threads("lapenna-map")


def test_stopping_early_leaks_no_threads():
    before = threading.active_count()
    ds = Dataset.range(1000).map(lambda v: v + 1, num_parallel_calls=2).prefetch(4)
    for _ in range(3):
        for item in ds:
            if item > 5:
                break
    iterator = iter(ds)
    next(iterator)
    assert _threads("lapenna-prefetch")
    iterator.close()
    assert not _threads("lapenna-prefetch") and not _threads("lapenna-map")
    assert threading.active_count() == before


def test_nested_prefetch_and_take_stop_cleanly():
    ds = Dataset.range(10**6).prefetch(2).map(lambda v: v * 2).prefetch(2).take(5)
    assert [int(v) for v in ds] == [0, 2, 4, 6, 8]
    assert not _threads("lapenna-prefetch")

"""lapenna's workers, BLAS kept single-threaded inside them, the split matrix product and
the process settings made before numpy loads."""

import os
import subprocess
import sys

import numpy as np
import pytest

import lapenna as lp
from lapenna.backend import parallel, process

threadpoolctl = pytest.importorskip("threadpoolctl")
rng = np.random.default_rng(0)


def _blas_count():
    infos = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    return infos[0]["num_threads"]


@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((300, 40), (40, 20)),  # split along the rows of the output
        ((20, 40), (40, 300)),  # along its columns
        ((1, 5000), (5000, 3)),  # matrix-vector: along the summed axis
        ((6, 30, 40), (6, 40, 50)),  # a stack: along the batch
        ((6, 30, 40), (40, 50)),  # broadcast batch
        ((2, 1, 30, 40), (3, 40, 5)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_equals_numpy(two_workers, shape_a, shape_b, dtype):
    a = rng.standard_normal(shape_a).astype(dtype)
    b = rng.standard_normal(shape_b).astype(dtype)
    out = parallel.matmul(a, b)
    assert out.dtype == dtype and out.shape == np.matmul(a, b).shape
    np.testing.assert_allclose(out, a @ b, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-4)


def test_matmul_of_transposed_operands(two_workers):
    a = rng.standard_normal((50, 300))
    b = rng.standard_normal((20, 50))
    np.testing.assert_allclose(parallel.matmul(a.T, b.T), a.T @ b.T, rtol=1e-12)


def test_blas_is_single_threaded_inside_and_restored_after():
    lp.set_num_threads(2)
    outside = _blas_count()
    seen = []
    with parallel.single_blas():
        seen.append(_blas_count())
        with parallel.single_blas():
            seen.append(_blas_count())
        seen.append(_blas_count())
    assert seen == [1, 1, 1]
    assert _blas_count() == outside


def test_map_chunks_keeps_order_and_runs_nested_calls_serially(two_workers):
    inner = []

    def chunk(start, stop):
        inner.append(parallel.workers())
        assert _blas_count() == 1
        return list(range(start, stop))

    assert sum(parallel.map_chunks(chunk, 10, 3), []) == list(range(10))
    assert set(inner) == {1}


def test_map_chunks_raises_a_worker_error_in_the_caller(two_workers):
    def chunk(start, stop):
        if start == 4:
            raise ValueError("chunk 4 failed")
        return start

    with pytest.raises(ValueError, match="chunk 4 failed"):
        parallel.map_chunks(chunk, 8, 2)
    assert parallel.map_chunks(lambda s, e: s, 4, 1) == [0, 1, 2, 3]  # the pool still works


def test_set_num_threads_sets_workers_and_blas():
    previous = lp.get_num_threads()
    try:
        assert lp.set_num_threads(1) == 1
        assert lp.get_num_threads() == 1 and _blas_count() == 1
        with pytest.raises(ValueError, match="positive int, got 0"):
            lp.set_num_threads(0)
    finally:
        lp.set_num_threads(previous)
    assert lp.get_num_threads() == previous


def _fresh(code, **env):
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


REPORT = (
    "from lapenna.backend import process; import os; "
    "print(process.SHORT_BLAS_SPIN, os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
)


def test_lapenna_first_shortens_the_blas_spin():
    assert _fresh("import lapenna; " + REPORT) == ["True", process.BLAS_TIMEOUT]


def test_numpy_first_leaves_blas_alone():
    assert _fresh("import numpy, lapenna; " + REPORT) == ["False", "None"]


def test_the_process_can_be_left_untouched():
    code = "import lapenna; from lapenna.backend import process; print(process.ALLOCATOR_TUNED); "
    assert _fresh(code + REPORT, LAPENNA_TUNE_PROCESS="0") == ["False", "False", "None"]


def test_a_users_own_timeout_is_kept():
    assert _fresh("import lapenna; " + REPORT, OPENBLAS_THREAD_TIMEOUT="25") == ["False", "25"]


def test_callers_on_several_threads_share_the_workers(two_workers):
    """A data pipeline's threads may run kernels while the main thread does: each call
    gets its own results, nothing deadlocks, and BLAS is restored at the end."""
    import threading

    lp.set_num_threads(2)
    outside = _blas_count()
    a = rng.standard_normal((200, 60))
    b = rng.standard_normal((60, 90))
    expected = a @ b
    failures = []

    def work():
        for _ in range(30):
            out = parallel.matmul(a, b)
            chunks = parallel.map_chunks(lambda s, e: e - s, 50, 7)
            if not np.allclose(out, expected, rtol=1e-12) or sum(chunks) != 50:
                failures.append("wrong result")

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    work()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads) and not failures
    assert _blas_count() == outside


def test_single_blas_takes_effect_from_any_thread():
    """threadpoolctl ignores a thread other than the first one that set OpenBLAS's count;
    lapenna's region must limit BLAS from a pipeline thread too, and restore it."""
    import threading

    lp.set_num_threads(2)  # this thread sets the count first
    seen = []

    def other():
        with parallel.single_blas():
            seen.append(_blas_count())
        seen.append(_blas_count())

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen == [1, 2]


def test_a_malformed_timeout_is_left_to_openblas():
    assert _fresh("import lapenna; " + REPORT, OPENBLAS_THREAD_TIMEOUT="soon") == ["False", "soon"]

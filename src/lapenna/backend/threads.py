"""Thread control: how many cores lapenna's kernels use (BLAS through threadpoolctl, from
the ``perf`` extra)."""

import os

from lapenna.backend import parallel


def _check_blas():
    try:
        import threadpoolctl  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "BLAS thread control needs threadpoolctl: pip install 'lapenna[perf]'"
        ) from err


def get_num_threads():
    """Return the number of threads lapenna's kernels use."""
    _check_blas()
    return parallel.workers()


def set_num_threads(n):
    """Use ``n`` threads (1 to the number of cores) in lapenna's kernels.

    BLAS outside lapenna is set to the same count; inside lapenna every BLAS call runs
    single-threaded within one of the ``n`` workers.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads expects a positive int, got {n!r}")
    _check_blas()
    n = min(n, os.cpu_count() or n)
    parallel.set_workers(n)
    parallel.set_blas_threads(n)
    return n

"""Thread control: how many cores lapenna's kernels use (BLAS through threadpoolctl, from
the ``perf`` extra)."""

import os
import platform

import numpy

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


def machine_info():
    """What the numbers of a benchmark depend on: the CPU model, its core count, and the
    BLAS library numpy calls with the kernel it chose for this CPU (OpenBLAS picks one per
    microarchitecture, e.g. ``Haswell`` or ``SkylakeX``), as a dict of strings."""
    info = {"cpu": _cpu_model() or platform.processor() or platform.machine() or "unknown"}
    info["cores"] = str(os.cpu_count() or "?")
    info["numpy"] = numpy.__version__
    blas = _blas_pools()
    if blas:
        pool = blas[0]
        name = pool.get("internal_api", "?")
        info["blas"] = f"{name} {pool.get('version') or ''}".strip()
        info["blas_kernel"] = str(pool.get("architecture") or "n/a")
        info["blas_threading"] = str(pool.get("threading_layer") or "n/a")
    else:
        info["blas"] = "unknown (threadpoolctl found no BLAS)"
        info["blas_kernel"] = "unknown"
        info["blas_threading"] = "unknown"
    return info


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _blas_pools():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [p for p in threadpool_info() if p.get("user_api") == "blas"]

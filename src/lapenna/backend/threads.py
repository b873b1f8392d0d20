"""BLAS thread control (through threadpoolctl, from the ``perf`` extra)."""

import os


def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "BLAS thread control needs threadpoolctl: pip install 'lapenna[perf]'"
        ) from err
    return ThreadpoolController()


def get_num_threads():
    """Return the number of threads the BLAS library uses."""
    infos = [i for i in _controller().info() if i.get("user_api") == "blas"]
    return infos[0]["num_threads"] if infos else 1


def set_num_threads(n):
    """Limit BLAS to ``n`` threads (1 to the number of cores)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads expects a positive int, got {n!r}")
    n = min(n, os.cpu_count() or n)
    _controller().limit(limits=n, user_api="blas")
    return n

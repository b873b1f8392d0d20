"""Where trials run: any ``concurrent.futures.Executor``.

- ``"inline"``: ``InProcessExecutor``, each trial in the tuner's own process (debugging,
  notebooks, objectives that cannot be pickled).
- ``"process"`` (the default): a local ``ProcessPoolExecutor`` of ``n_workers`` processes
  started with ``spawn`` (no state shared with the tuner); each trial uses
  ``cpu_count // n_workers`` BLAS threads.
- ``"mpi"``: ``mpi4py.futures.MPIPoolExecutor`` (the ``mpi`` extra), for a cluster:
  ``mpiexec -n 3 python -m mpi4py.futures tune.py`` gives one tuner and two workers.
- any other ``Executor``, e.g. Dask's ``Client.get_executor()``: pass it as ``executor``
  and say how many trials it should run at once with ``n_workers``.

Jobs and results are plain dicts sent by pickle: the objective must be picklable (a
function defined at the top level of a module, or an instance of a class defined there).
"""

import concurrent.futures
import multiprocessing
import os


class InProcessExecutor(concurrent.futures.Executor):
    """Runs each submitted call at once, in this process; returns a finished future."""

    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(err)
        return future


def check_kind(kind):
    """Raise ``ValueError`` unless ``kind`` names an executor or is one."""
    if not (kind in ("inline", "process", "mpi") or isinstance(kind, concurrent.futures.Executor)):
        raise ValueError(
            "executor must be 'inline', 'process', 'mpi' or a concurrent.futures.Executor, "
            f"got {kind!r}"
        )


def make_executor(kind, n_workers):
    """``(executor, owned)`` for ``"inline"``, ``"process"``, ``"mpi"`` or an Executor."""
    if isinstance(kind, concurrent.futures.Executor):
        return kind, False
    if kind == "inline":
        return InProcessExecutor(), True
    if kind == "process":
        context = multiprocessing.get_context("spawn")
        return concurrent.futures.ProcessPoolExecutor(n_workers, mp_context=context), True
    if kind == "mpi":
        try:
            from mpi4py.futures import MPIPoolExecutor
        except ImportError as err:
            raise ImportError(
                "executor='mpi' needs mpi4py and an MPI library: pip install 'lapenna[mpi]'"
            ) from err
        return MPIPoolExecutor(max_workers=n_workers), True
    raise ValueError(
        "executor must be 'inline', 'process', 'mpi' or a concurrent.futures.Executor, "
        f"got {kind!r}"
    )


def default_workers(kind):
    if kind == "inline":
        return 1
    if isinstance(kind, concurrent.futures.Executor):
        return getattr(kind, "_max_workers", None) or 1
    if kind == "mpi":
        size = os.environ.get("MPI4PY_FUTURES_MAX_WORKERS")
        return int(size) if size else _mpi_workers()
    return os.cpu_count() or 1


def _mpi_workers():
    try:
        from mpi4py import MPI
    except ImportError:
        return 1
    return max(MPI.COMM_WORLD.Get_size() - 1, 1)


def threads_per_worker(n_workers):
    return max(1, (os.cpu_count() or 1) // max(n_workers, 1))

"""The communicator: MPI collectives that give up after a timeout and name the missing rank.

Every collective is started non-blocking (``Iallreduce``, ``Ibcast``) and then polled until
it completes or ``timeout`` seconds pass. On a timeout the surviving ranks find out who is
missing by sending each other a short "I am here" message on a separate communicator and
listening for a grace period: a rank that never answers is named in the error. Nothing
here blocks forever, so a rank that died (SIGKILL) or hangs ends the job cleanly.

MPICH's launcher ends the whole job when a rank dies by a signal, before any timeout; run
the ranks under ``python -m lapenna.distributed`` and ``mpiexec -disable-auto-cleanup``
(see ``supervise``) to have the survivors report the dead rank themselves. Under that flag
the launcher tells every other rank that a rank ended (even normally) with SIGUSR1, whose
default action ends a process: MPICH's ``MPI_Init`` installs a handler for it (which stays
after ``MPI_Finalize``), and lapenna ignores it until then, so that a rank that ends while
another is still starting does not kill that one.

mpi4py is imported when a ``Communicator`` is created, so ``lapenna`` imports without it.
"""

import contextlib
import os
import signal
import sys
import threading
import time

from lapenna import backend as B

xp = B.xp

_FAULT_TAG = 77
_DEFAULT_TIMEOUT = 60.0
# how long a wait polls without a pause, then polls yielding the core (seconds)
_SPIN, _YIELD = 2e-3, 0.05


class CollectiveTimeoutError(RuntimeError):
    """A collective did not complete within the timeout; ``missing`` lists the ranks."""

    def __init__(self, message, missing):
        super().__init__(message)
        self.missing = list(missing)


def _mpi():
    # Hydra's notice that a rank ended, until MPI_Init installs MPICH's own handler
    if (
        "mpi4py.MPI" not in sys.modules
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
    ):
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    try:
        from mpi4py import MPI
    except ImportError as err:  # pragma: no cover - the mpi extra is part of the tests
        raise ImportError(
            "lapenna.distributed needs mpi4py and an MPI library: pip install 'lapenna[mpi]' "
            "(on a cluster, build mpi4py against the site's MPI instead)"
        ) from err
    return MPI


def _check_timeout(timeout):
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    return float(timeout)


class Communicator:
    """A group of MPI ranks with collectives that time out.

    Args:
        comm: an mpi4py communicator (default ``MPI.COMM_WORLD``); it is duplicated, so
            lapenna's messages never mix with the caller's.
        timeout: seconds a collective may wait for the slowest rank before
            ``CollectiveTimeoutError`` is raised (default: the environment variable
            ``LAPENNA_MPI_TIMEOUT``, else 60).

    Example:
        >>> comm = Communicator()          # doctest: +SKIP
        >>> comm.allreduce_mean([grad])    # doctest: +SKIP
    """

    def __init__(self, comm=None, timeout=None):
        if timeout is None:
            timeout = float(os.environ.get("LAPENNA_MPI_TIMEOUT", _DEFAULT_TIMEOUT))
        self.timeout = _check_timeout(timeout)
        MPI = _mpi()
        self.MPI = MPI
        base = comm if comm is not None else MPI.COMM_WORLD
        self.comm = base.Dup()
        self._fault_comm = base.Dup()
        for c in (self.comm, self._fault_comm):
            c.Set_errhandler(MPI.ERRORS_RETURN)
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.collectives = 0  # how many collectives this rank has started

    # -- waiting ---------------------------------------------------------------------------
    def wait(self, requests, what):
        """Wait for ``requests`` (a list) to complete, or raise after ``timeout`` seconds.

        MPI moves a non-blocking collective on only while this rank calls into MPI (a
        large all-reduce is many steps), so the first ``_SPIN`` seconds poll without a
        pause, then yield the core for ``_YIELD`` seconds (to a rank that shares it), and
        only a wait longer than that, for a late rank, sleeps between polls."""
        start = time.monotonic()
        deadline = start + self.timeout
        pause = 1e-5
        test = self.MPI.Request.Testall
        while not test(requests):
            now = time.monotonic()
            if now > deadline:
                self._raise_timeout(what)
            if now - start < _SPIN:
                continue
            if now - start < _YIELD:
                time.sleep(0)
                continue
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)

    def progress(self, requests):
        """Let MPI move ``requests`` on (one test, no wait); True when all are complete."""
        return self.MPI.Request.Testall(requests)

    def _raise_timeout(self, what):
        missing = self._find_missing(grace=min(self.timeout, 5.0))
        names = ", ".join(str(r) for r in missing) or "unknown"
        raise CollectiveTimeoutError(
            f"rank {self.rank}: {what} did not complete within {self.timeout:g} s; missing "
            f"rank(s): {names} (collective #{self.collectives} of this rank)",
            missing,
        )

    def _find_missing(self, grace, tag=_FAULT_TAG, peers=None):
        """Ranks of ``peers`` (default: all others) that do not answer a roll call within
        ``grace`` seconds."""
        if peers is None:
            peers = [r for r in range(self.size) if r != self.rank]
        hello = xp.asarray([self.rank], dtype=xp.int64)
        boxes = {r: xp.zeros(1, dtype=xp.int64) for r in peers}
        received = {r: self._fault_comm.Irecv(boxes[r], source=r, tag=tag) for r in peers}
        for r in peers:
            # a dead peer's connection may refuse the message
            with contextlib.suppress(self.MPI.Exception):
                self._fault_comm.Isend(hello, dest=r, tag=tag)
        deadline = time.monotonic() + grace
        answered = set()
        while time.monotonic() < deadline and len(answered) < len(peers):
            for r, req in received.items():
                if r not in answered:
                    try:
                        if req.Test():
                            answered.add(r)
                    except self.MPI.Exception:
                        pass
            time.sleep(1e-3)
        return [r for r in peers if r not in answered]

    # -- collectives -----------------------------------------------------------------------
    def start_allreduce(self, buffer):
        """Start summing the contiguous array ``buffer`` over all ranks, in place; returns
        the request (wait on it with ``wait``)."""
        self.collectives += 1
        return self.comm.Iallreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)

    def allreduce_mean(self, arrays, what="allreduce"):
        """The element-wise mean over ranks of each array (new arrays, same order)."""
        buffers = [xp.ascontiguousarray(a).copy() for a in arrays]
        self.wait([self.start_allreduce(b) for b in buffers], what)
        return [b / b.dtype.type(self.size) for b in buffers]

    def broadcast(self, arrays, root=0, what="broadcast"):
        """Overwrite each contiguous array in place with rank ``root``'s values."""
        requests = []
        for a in arrays:
            self.collectives += 1
            requests.append(self.comm.Ibcast(a, root=root))
        self.wait(requests, what)

    def broadcast_int(self, value, root=0):
        """The int ``value`` of rank ``root`` (a seed, a count), on every rank."""
        box = xp.asarray([value if self.rank == root else 0], dtype=xp.int64)
        self.broadcast([box], root, "broadcast of an int")
        return int(box[0])

    def barrier(self, what="barrier"):
        self.collectives += 1
        self.wait([self.comm.Ibarrier()], what)

    def abort(self, error, code=1, note=None):
        """Print ``error`` (and ``note``, a line of advice) on stderr and end the whole MPI
        job with ``code``.

        After a ``CollectiveTimeoutError`` the surviving ranks first wait (a few seconds
        at most) until each has printed its own message, since the first abort ends them
        all."""
        print(f"lapenna.distributed: {error}", file=sys.stderr, flush=True)
        if note:
            print(f"lapenna.distributed: {note}", file=sys.stderr, flush=True)
        if isinstance(error, CollectiveTimeoutError):
            gone = set(error.missing) | {self.rank}
            survivors = [r for r in range(self.size) if r not in gone]
            self._find_missing(min(self.timeout, 5.0), _FAULT_TAG + 1, survivors)
        self.comm.Abort(code)

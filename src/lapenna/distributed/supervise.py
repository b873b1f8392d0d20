"""Run one rank's program in a child process, so that a killed rank does not end the job.

MPICH's launcher (Hydra) ends every rank of a job the moment one rank *dies by a signal*
(SIGKILL from the out-of-memory killer, a segfault): its per-node proxy reaps the dead
process, sees "killed by a signal" and sends SIGKILL to all the others, whatever
``mpiexec`` was told. ``mpiexec -disable-auto-cleanup`` only stops the clean-up for a rank
that *exits* (with any exit code); the proxy then tells the others by sending them
SIGUSR1 (which ``Communicator`` catches) and lets them run on.

So each rank runs under a small supervisor: the launcher's child is this process, which
starts the real program as its own child and waits. When the program is killed, the
supervisor prints which rank died and how, and *exits* with ``128 + signal``. With
``-disable-auto-cleanup`` the other ranks then keep running until their collective
timeout, print ``CollectiveTimeoutError`` naming the missing rank and end the job::

    mpiexec -disable-auto-cleanup -n 4 python -m lapenna.distributed train.py --epochs 5
    mpiexec -disable-auto-cleanup -n 4 lapenna train ... --distributed   # supervised itself

The supervisor imports no MPI: the program alone is the MPI process (it inherits the
launcher's environment and its PMI socket).
"""

import os
import signal
import subprocess
import sys

# set in the program's environment, so that it does not supervise itself again
SUPERVISED = "LAPENNA_SUPERVISED"
# the environment variables by which launchers tell a process its rank
_RANK_VARIABLES = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID")
_LAUNCHER_VARIABLES = ("PMI_FD", "PMI_PORT", "PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE")


def supervised():
    """True in a program started by ``run`` (its supervisor is watching it)."""
    return os.environ.get(SUPERVISED) == "1"


def under_launcher():
    """True in a process started by an MPI launcher (``mpiexec``, ``srun``)."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def launcher_rank():
    """This process's rank as the launcher's environment gives it, or None."""
    for name in _RANK_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return None


def run(argv):
    """Run ``python argv...`` as a child, wait, and return its exit code; a child killed by
    signal ``s`` is reported on stderr and gives ``128 + s`` (an exit, not a death by a
    signal, so that Hydra with ``-disable-auto-cleanup`` spares the other ranks).

    SIGTERM sent to the supervisor is passed on to the program; SIGINT and SIGUSR1 (Hydra's
    notice that a rank ended, sent to every process) reach the program by its own copy
    (the launcher signals whole process groups), and the supervisor ignores them, then and
    after the program ended (when an exit of its own would still be seen as this rank's)."""
    if not argv:
        raise ValueError("run expects the program's arguments (a script or -m module), got none")
    pass_fds = [int(os.environ["PMI_FD"])] if os.environ.get("PMI_FD", "").isdigit() else []
    env = dict(os.environ, **{SUPERVISED: "1"})
    child = subprocess.Popen([sys.executable, *argv], env=env, pass_fds=pass_fds)
    for fd in pass_fds:  # the program alone holds the launcher's socket, so the launcher
        os.close(fd)  # sees it close the moment the program ends

    def forward(signum, frame):
        child.send_signal(signum)

    def ignore(signum, frame):
        pass

    # handlers, not SIG_IGN, while the program starts: an ignored signal would stay
    # ignored in it
    signal.signal(signal.SIGUSR1, ignore)
    signal.signal(signal.SIGINT, ignore)
    signal.signal(signal.SIGTERM, forward)
    code = child.wait()
    # the notice may still come (another rank ending) while this process exits
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if code >= 0:
        return code
    rank = launcher_rank()
    who = f"rank {rank}" if rank is not None else "this rank"
    why = signal.Signals(-code).name
    if -code == signal.SIGUSR1:
        why += " (mpiexec's notice that another rank ended, before lapenna caught it)"
    print(f"lapenna.distributed: {who} (pid {child.pid}) was killed by {why}", file=sys.stderr)
    sys.stderr.flush()
    return 128 - code


def main(argv=None):
    """``python -m lapenna.distributed SCRIPT [ARGS...]`` (or ``-m MODULE [ARGS...]``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(
            "usage: mpiexec -disable-auto-cleanup -n N python -m lapenna.distributed "
            "SCRIPT [ARGS...]\n\n" + __doc__.split("\n\n")[0],
            file=sys.stderr if not argv else sys.stdout,
        )
        return 2 if not argv else 0
    return run(argv)

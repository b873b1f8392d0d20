"""Two process-wide settings, made once before numpy is loaded (``LAPENNA_TUNE_PROCESS=0``
leaves the process as it is).

- OpenBLAS's idle threads busy-wait after each product for about 2**28 cycles (a tenth of
  a second) before they sleep. On a machine with as many cores as threads, a spinning
  thread takes a core away from the next chunk loop, which then runs at half speed.
  ``OPENBLAS_THREAD_TIMEOUT=16`` shortens the wait to about 2**16 cycles (some 20
  microseconds), as long as back-to-back products need and no longer: the same policy as
  an OpenMP runtime's spin count (at 2**20 cycles, a third of a millisecond, the pooling
  that follows LeNet-5's Dense layers in the backward pass still ran at half speed).
  OpenBLAS reads it only when it is loaded, so it takes effect only when lapenna is
  imported before numpy; ``SHORT_BLAS_SPIN`` says whether it did (``parallel.matmul``
  then lets BLAS thread its products itself).
- glibc gives every array above 128 KiB fresh pages from the kernel and returns them on
  free, so each training step pays page faults and zeroing for memory it just released.
  Serving arrays up to 32 MiB from the heap, and keeping up to 256 MiB of freed heap
  instead of trimming it, makes a small CNN's step 20-30% faster here. Without
  glibc nothing changes.
"""

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20
BLAS_TIMEOUT = "16"

ENABLED = os.environ.get("LAPENNA_TUNE_PROCESS", "1") != "0"


def _short_blas_spin():
    """Shorten OpenBLAS's idle spin if numpy is not loaded yet; report whether it is short."""
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ:  # the user's own value is kept
        value = os.environ["OPENBLAS_THREAD_TIMEOUT"].strip()
        return "numpy" not in sys.modules and value.isdigit() and int(value) <= 22
    if not ENABLED or "numpy" in sys.modules:
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = BLAS_TIMEOUT
    return True


def _tune_allocator():
    """Keep arrays up to MMAP_THRESHOLD on glibc's heap; True when glibc took the setting."""
    if not ENABLED or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


SHORT_BLAS_SPIN = _short_blas_spin()
ALLOCATOR_TUNED = _tune_allocator()

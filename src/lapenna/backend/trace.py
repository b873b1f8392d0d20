"""A recorder of what the kernels compute: GEMM shapes, passes, FLOPs and bytes.

Inside ``with Recorder() as rec:`` every primitive that runs (one ``Function``
application, forward or backward) becomes one *op* in ``rec.ops``, timed, and the kernels
it calls add their *steps* to it: each GEMM with its ``M x K . K x N`` shapes and the role
of each operand (``im2col(X)``, ``W``, ``dY``...), and each memory-bound pass (an im2col
copy, a col2im, a pooling window pass, a normalization) with the bytes it moves. A kernel
called outside any primitive (batch statistics) becomes an op of its own.

Outside a recorder every hook is one call that finds no recorder and returns, so the
kernels pay nothing measurable. The recorder belongs to one thread at a time: kernels
record from the thread that called them (before their chunk loops start).

Counting conventions (``models.explain`` builds its tables on them):

- a GEMM of ``batch`` products ``(M, K) @ (K, N)`` does ``2 * batch * M * K * N`` FLOPs
  and moves ``batch * (M*K + K*N + M*N)`` elements (each operand read or written once);
- a pass moves the bytes it reads plus the bytes it writes, and does about one FLOP per
  element it produces (``flops`` says otherwise where a kernel knows better);
- ``nominal_flops`` is what the textbook algorithm would do (twice the multiply-adds of a
  direct convolution or matrix product), which a Winograd or banded kernel changes.
"""

import math
import time

from lapenna.backend import parallel
from lapenna.backend.device import host_np, synchronize, to_device, xp

_state = {"recorder": None}


class Recorder:
    """Collects ops while active (a context manager; recorders nest, the inner one wins).

    Attributes:
        ops: one dict per op in the order they started: ``op`` (the primitive's name),
            ``scope``, ``phase``, ``seconds`` (``None`` when not timed), ``steps``,
            ``notes``, ``inputs`` and ``output`` (shapes), ``io_bytes`` (the inputs read
            and the output written) and ``view`` (True when the output is a view of an
            input: nothing was copied).
        scope: set by the caller to say who runs now (a layer call, ``"loss"``...); each
            op keeps the scope it started in, and a backward op the scope of the forward
            op it differentiates.
        phase: ``"forward"``, ``"backward"`` or ``"update"``, set by the caller.
    """

    def __init__(self):
        self.ops = []
        self.scope = None
        self.phase = "forward"
        self._current = None
        self._previous = None

    def __enter__(self):
        self._previous = _state["recorder"]
        _state["recorder"] = self
        return self

    def __exit__(self, *exc):
        _state["recorder"] = self._previous
        return False

    def new_op(self, name, seconds=None):
        op = {
            "op": name,
            "scope": self.scope,
            "phase": self.phase,
            "seconds": seconds,
            "steps": [],
            "notes": [],
            "inputs": [],
            "output": None,
            "io_bytes": 0,
            "view": False,
        }
        self.ops.append(op)
        return op


def active():
    """The active ``Recorder``, or None."""
    return _state["recorder"]


def recording():
    """Whether a recorder is active."""
    return _state["recorder"] is not None


def enter(scope):
    """Make ``scope`` the current scope of the active recorder; returns the previous one
    (give it to ``leave``). Without a recorder it does nothing."""
    rec = _state["recorder"]
    if rec is None:
        return None
    previous, rec.scope = rec.scope, scope
    return previous


def leave(previous):
    """Restore the scope that ``enter`` returned."""
    rec = _state["recorder"]
    if rec is not None:
        rec.scope = previous


def resume(node):
    """Before a node's backward runs: its ops belong to the scope the node was made in."""
    rec = _state["recorder"]
    if rec is not None:
        rec.scope = getattr(node, "trace_scope", rec.scope)


def run(node, arrays):
    """``node.forward(*arrays)`` recorded as one timed op (``Function.apply`` calls this
    instead of ``forward`` while a recorder is active)."""
    rec = _state["recorder"]
    op = rec.new_op(type(node).__name__)
    node.trace_scope = rec.scope
    outer, rec._current = rec._current, op
    synchronize()  # a GPU returns before its kernels finish: time what ran (no-op on CPU)
    start = time.perf_counter()
    try:
        data = node.forward(*arrays)
        synchronize()
    finally:
        rec._current = outer
    op["seconds"] = time.perf_counter() - start
    op["inputs"] = [tuple(a.shape) for a in arrays]
    op["output"] = tuple(data.shape)
    op["view"] = any(data is a or _shares(data, a) for a in arrays)
    op["io_bytes"] = 0 if op["view"] else sum(a.nbytes for a in arrays) + data.nbytes
    return data


def _shares(a, b):
    """Whether ``a`` is a view into ``b``'s memory (a reshape or transpose copies nothing)."""
    if getattr(a, "base", None) is None:
        return False
    base = a
    while getattr(base, "base", None) is not None:
        base = base.base
    other = b
    while getattr(other, "base", None) is not None:
        other = other.base
    return base is other


def clock():
    """The time now while recording (for ``since=`` of a kernel outside any primitive),
    else 0."""
    if _state["recorder"] is None:
        return 0.0
    synchronize()
    return time.perf_counter()


def _add(step, since=None):
    rec = _state["recorder"]
    if rec._current is not None:
        rec._current["steps"].append(step)
        return
    if since is not None:
        synchronize()
    seconds = None if since is None else time.perf_counter() - since
    op = rec.new_op(step["name"], seconds)
    op["steps"].append(step)


def gemm(a, b, c, m, k, n, batch=1, itemsize=4):
    """Record ``batch`` products ``a (m, k) @ b (k, n) -> c (m, n)``, where ``a``, ``b``
    and ``c`` name the operands' roles (``"im2col(X)"``, ``"W"``, ``"Y"``)."""
    if _state["recorder"] is None:
        return
    _add(
        {
            "kind": "gemm",
            "name": f"{a} @ {b}",
            "a": a,
            "b": b,
            "c": c,
            "m": m,
            "k": k,
            "n": n,
            "batch": batch,
            "flops": 2 * batch * m * k * n,
            "bytes": batch * (m * k + k * n + m * n) * itemsize,
        }
    )


def memory_pass(name, read, written, flops=0, detail="", since=None):
    """Record a memory-bound pass that reads ``read`` and writes ``written`` bytes and
    does ``flops`` arithmetic operations (0 for a copy). ``since`` is ``clock()`` at the
    kernel's start, so that a kernel outside any primitive is timed."""
    if _state["recorder"] is None:
        return
    _add(
        {
            "kind": "pass",
            "name": name,
            "detail": detail,
            "flops": flops,
            "bytes": read + written,
        },
        since,
    )


def im2col(view_shape, rank, itemsize, copied=True):
    """Record the im2col of a window view ``(N, *out, *kernel, groups, C/g)`` of spatial
    ``rank``: one row per output position, ``prod(kernel) * C`` values each (``copied``
    is False when the matrix is a mere reshape of the input, a 1x1 stride-1 kernel)."""
    if _state["recorder"] is None or not copied:
        return
    rows, cols = math.prod(view_shape[: rank + 1]), math.prod(view_shape[rank + 1 :])
    size = rows * cols * itemsize
    memory_pass("im2col", size, size, detail=f"{rows}x{cols} matrix of windows")


def col2im(rows, cols, padded_bytes, itemsize):
    """Record a col2im: ``rows x cols`` values added into the (zeroed) padded input,
    each addition reading the target and the value and writing the target."""
    if _state["recorder"] is None:
        return
    size = rows * cols * itemsize
    memory_pass(
        "col2im", 2 * size, size + padded_bytes, rows * cols, f"{rows}x{cols} added into dX"
    )


def epilogue(shape, itemsize, bias, relu):
    """Record a convolution's bias-plus-ReLU pass over its output (when it has one)."""
    if _state["recorder"] is None or (bias is None and not relu):
        return
    size = math.prod(shape) * itemsize
    what = " + ".join(w for w, on in (("bias", bias is not None), ("ReLU", relu)) if on)
    steps = (bias is not None) + bool(relu)
    memory_pass(what, size, size, steps * math.prod(shape), f"on Y {_dims(shape)}")


def note(text):
    """Attach a sentence about the kernel's choice to the current op."""
    rec = _state["recorder"]
    if rec is not None and rec._current is not None:
        rec._current["notes"].append(text)


def _dims(shape):
    return "x".join(str(d) for d in shape)


def measure_ceilings(n=1024, copy_bytes=1 << 26, repeats=10):
    """The machine's two roofline ceilings, measured now.

    ``sgemm_gflops``: float32 ``(n x n) @ (n x n)`` through numpy's BLAS on all its
    threads (the rate ``lapenna bench`` prints), the fastest of ``repeats``.
    ``copy_gbs``: bytes read plus bytes written per second when copying a float32 array
    of ``copy_bytes`` (far larger than the caches) in chunks on lapenna's workers, the
    way its kernels stream memory.
    """
    a = to_device(host_np.random.default_rng(0).standard_normal((n, n)).astype("float32"))
    a @ a
    best = min(_seconds(lambda: a @ a) for _ in range(repeats))
    sgemm = 2 * n**3 / best / 1e9
    src = xp.ones(copy_bytes // 4, dtype=xp.float32)
    dst = xp.empty_like(src)
    step = parallel.chunk_size(src.size, 4, 1 << 20)

    def copy():
        parallel.map_chunks(lambda i, j: xp.copyto(dst[i:j], src[i:j]), src.size, step)

    copy()
    best = min(_seconds(copy) for _ in range(repeats))
    return {"sgemm_gflops": sgemm, "copy_gbs": 2 * src.nbytes / best / 1e9}


def _seconds(fn):
    synchronize()
    start = time.perf_counter()
    fn()
    synchronize()
    return time.perf_counter() - start

"""Memory-bound elementwise passes run in chunks on every worker.

One numpy pass over an array that does not fit in cache is limited by memory bandwidth;
two cores reading and writing disjoint halves get about 1.4 times further than one. The
ReLU and its gradient, and a convolution's bias-plus-ReLU epilogue, go through here.
"""

from lapenna.backend import fused, parallel, trace
from lapenna.backend.device import xp

# elements per chunk: 256 KiB of float32, small enough to stay in a core's cache
_CHUNK_ELEMENTS = 1 << 16
# arrays smaller than this (they fit in cache) take one plain pass: dispatching chunks to
# the workers would cost more than it saves
_MIN_CHUNKED_BYTES = 1 << 21


def _chunked(fn, *arrays):
    """``fn(*chunks)`` over matching flat chunks of C-contiguous arrays of one size."""
    flats = [a.reshape(-1) for a in arrays]
    n = flats[0].size
    step = parallel.chunk_size(n, arrays[0].itemsize, _CHUNK_ELEMENTS * arrays[0].itemsize)
    parallel.map_chunks(lambda start, stop: fn(*(f[start:stop] for f in flats)), n, step)


def _flat(*arrays):
    """Whether the arrays are large, C-contiguous and of one shape: worth chunking."""
    return (
        arrays[0].nbytes >= _MIN_CHUNKED_BYTES
        and all(a.flags.c_contiguous for a in arrays)
        and len({a.shape for a in arrays}) == 1
    )


def relu(x):
    """``max(x, 0)`` in a new array (NaN stays NaN)."""
    out = xp.empty_like(x, order="C")
    zero = x.dtype.type(0)
    if _flat(x):
        _chunked(lambda a, o: xp.maximum(a, zero, out=o), x, out)
    else:
        xp.maximum(x, zero, out=out)
    return out


def relu_grad(g, y):
    """``g`` where ``y > 0``, else 0: the ReLU's backward, given its output ``y``."""
    if g.shape != y.shape or not _flat(g, y):
        return g * (y > 0)
    out = xp.empty_like(g)
    _chunked(lambda a, b, o: xp.multiply(a, b > 0, out=o), g, y, out)
    return out


def bias_relu_(block, bias=None, relu=False):
    """In place on ``block``: add ``bias`` (broadcast on the last axis), then the ReLU
    (one pass on a GPU: see ``fused``)."""
    return fused.bias_relu_(block, bias, relu)


def epilogue_(y, bias=None, relu=False):
    """``bias_relu_`` over a whole C-contiguous channels-last array, chunk by chunk."""
    trace.epilogue(y.shape, y.itemsize, bias, relu)
    if bias is None and not relu:
        return y
    if y.nbytes < _MIN_CHUNKED_BYTES or not y.flags.c_contiguous or y.ndim < 2:
        return bias_relu_(y, bias, relu)
    rows = y.reshape(-1, y.shape[-1])
    step = parallel.chunk_size(
        rows.shape[0], parallel.sample_bytes(rows), _CHUNK_ELEMENTS * rows.itemsize
    )
    parallel.map_chunks(
        lambda start, stop: bias_relu_(rows[start:stop], bias, relu), len(rows), step
    )
    return y

"""Pooling kernels on channels-last arrays ``(N, *spatial, C)``, any spatial rank.

A pool visits its window offsets one at a time: each offset is a strided slice of the
padded input with the output's shape, so a max or a sum over the window is
``prod(pool)`` vectorized passes, and the backward passes add into the same slices.
Max pooling records, for every output, which offset of its window won (a small integer
array); the input gradient scatters to those offsets and its adjoint gathers from them.

Two steps have more than one algorithm, each chosen by a selection table (see
``backend/paths.py``; ``tests/test_pool_norm_paths.py`` runs every row against loops over
the windows): ``READ``, how a window offset is read, and ``SCATTER``, how the input
gradient is written.
"""

import math

from lapenna.backend import parallel, trace
from lapenna.backend.device import on_gpu, xp
from lapenna.backend.paths import Path, select
from lapenna.backend.taps import tap_slices

# samples are processed in chunks of about this many input bytes, in parallel
_CHUNK_BYTES = 1 << 21
# below this many channels max pooling copies each window offset before comparing
_FEW_CHANNELS = 16


def _pixels(a):
    """``a (..., C)`` with its channel axis contiguous, seen as one element per position
    (a void scalar of ``C`` values): a strided slice of it copies a whole pixel per
    element, where numpy's inner loops over the float view would be ``C`` elements long."""
    return a.view(xp.dtype((xp.void, a.shape[-1] * a.itemsize)))[..., 0]


def _few(a):
    """Whether ``a`` has few channels, laid out contiguously: the strided copies go by
    pixel (``_pixels``) and the arithmetic on contiguous buffers. Not on a GPU: CuPy has no
    void type, and its kernels do not loop per channel."""
    return not on_gpu() and a.shape[-1] < _FEW_CHANNELS and a.strides[-1] == a.itemsize


def _by_samples(fn, n, sample_bytes):
    """Run ``fn(start, stop)`` over chunks of the batch, spread over the cores."""
    parallel.map_chunks(fn, n, parallel.chunk_size(n, sample_bytes, _CHUNK_BYTES))


def _record(what, pool, read, written, outputs, detail=""):
    """For the recorder: one pass per window offset over ``outputs`` values."""
    taps = math.prod(pool)
    detail = f"{taps} offsets" + (f", {detail}" if detail else "")
    trace.memory_pass(f"{what} pool", read, written, taps * outputs, detail)


def pool_output_size(size, pool, strides, pads):
    return tuple((n + b + a - k) // s + 1 for n, k, s, (b, a) in zip(size, pool, strides, pads))


def _pad(x, pads, value):
    if not any(b or a for b, a in pads):
        return x
    return xp.pad(x, ((0, 0), *pads, (0, 0)), constant_values=value)


def _crop(x, pads):
    return x[(slice(None), *(slice(b, x.shape[i + 1] - a) for i, (b, a) in enumerate(pads)))]


def max_pool(x, pool, strides, pads):
    """Window maxima and, per output, the index of the winning window offset.

    One pass per window offset compares it with the running maximum: where it is strictly
    greater, it becomes the maximum and its offset the winner, so the first maximum in
    row-major window order wins and NaNs propagate. Padding is -inf. The winner index is
    kept with branch-free integer operations (a masked write is many times slower).
    Returns ``(values, argmax)``.
    """
    xpad = _pad(x, pads, -xp.inf)
    out_size = pool_output_size(x.shape[1:-1], pool, strides, pads)
    ones = (1,) * len(pool)
    values = xp.empty((x.shape[0], *out_size, x.shape[-1]), dtype=x.dtype)
    argmax = xp.empty(values.shape, dtype=xp.min_scalar_type(math.prod(pool) - 1))
    _record("max", pool, x.nbytes, values.nbytes + argmax.nbytes, values.size, "+ winners")

    def chunk(start, stop):
        taps = [index for _, index in tap_slices(pool, strides, ones, out_size)]
        _max_chunk(xpad[start:stop], taps, values[start:stop], argmax[start:stop])

    _by_samples(chunk, x.shape[0], parallel.sample_bytes(x))
    return values, argmax


def max_pool_values(x, pool, strides, pads):
    """Window maxima only (inference: no winner is recorded), NaNs propagating."""
    xpad = _pad(x, pads, -xp.inf)
    out_size = pool_output_size(x.shape[1:-1], pool, strides, pads)
    values = xp.empty((x.shape[0], *out_size, x.shape[-1]), dtype=x.dtype)
    _record("max", pool, x.nbytes, values.nbytes, values.size, "no winners kept")

    def chunk(start, stop):
        block, out = xpad[start:stop], values[start:stop]
        taps = [index for _, index in tap_slices(pool, strides, (1,) * len(pool), out_size)]
        tap = _tap_reader(block, out)
        tap(taps[0], into=out)
        for index in taps[1:]:
            xp.maximum(out, tap(index), out=out)

    _by_samples(chunk, x.shape[0], parallel.sample_bytes(x))
    return values


def _read_by_pixel(block, out):
    buffer = xp.empty_like(out)
    pixels, target = _pixels(block), _pixels(buffer)

    def copy(index, into=None):
        xp.copyto(target if into is None else _pixels(into), pixels[index])
        return buffer if into is None else into

    return copy


def _read_view(block, out):
    def view(index, into=None):
        if into is None:
            return block[index]
        into[...] = block[index]
        return into

    return view


# how a window offset of ``block`` is read: ``run(block, out)`` gives ``tap(index,
# into=None)``, the offset shaped like ``out`` (copied into ``into`` when given)
READ = (
    Path(
        "pixels",
        _few,
        _read_by_pixel,
        "fewer than 16 contiguous channels: each offset is copied into one reused contiguous "
        "buffer a pixel at a time (numpy's inner loop over floats would be C long), so the "
        "comparisons after it run on contiguous memory",
    ),
    Path(
        "view",
        lambda block: True,
        _read_view,
        "many channels: the strided slice is already runs of C contiguous values; no copy",
    ),
)


def _tap_reader(block, out):
    """``tap(index, into=None)``: the window offset ``index`` of ``block`` (``READ``)."""
    return select(READ, block).run(block, out)


def _max_chunk(block, taps, values, argmax):
    tap = _tap_reader(block, values)
    tap(taps[0], into=values)
    greater = xp.empty(values.shape, dtype=bool)
    winner = xp.empty(values.shape, dtype=argmax.dtype)
    if len(taps) == 1:
        argmax[...] = 0
    for t, index in enumerate(taps[1:], start=1):
        candidate = tap(index)
        xp.greater(candidate, values, out=greater)
        xp.maximum(values, candidate, out=values)
        if t == 1:  # the winner so far is offset 0 or 1
            xp.copyto(argmax, greater.view(xp.uint8))
            continue
        # offsets only increase, so the last one that was greater is the largest index
        xp.multiply(greater.view(xp.uint8), argmax.dtype.type(t), out=winner, casting="unsafe")
        xp.maximum(argmax, winner, out=argmax)


def _tiles_exactly(in_shape, pool, strides, pads, out_size):
    """Whether the windows cover the padded input once each (no overlap, nothing left)."""
    return all(
        s == k and m * k == n + b + a
        for n, k, s, (b, a), m in zip(in_shape[1:-1], pool, strides, pads, out_size)
    )


def _scatter_by_pixel(block, winners, grad, taps):
    mask = xp.empty(winners.shape, dtype=bool)
    share = xp.empty(winners.shape, dtype=grad.dtype)
    pixels, share_pixels = _pixels(block), _pixels(share)
    for t, index in taps:
        xp.equal(winners, t, out=mask)
        xp.multiply(grad, mask, out=share)
        xp.copyto(pixels[index], share_pixels)


def _scatter_tiles(block, winners, grad, taps):
    mask = xp.empty(winners.shape, dtype=bool)
    for t, index in taps:
        xp.equal(winners, t, out=mask)
        xp.multiply(grad, mask, out=block[index])


def _scatter_accumulate(block, winners, grad, taps):
    mask = xp.empty(winners.shape, dtype=bool)
    for t, index in taps:
        xp.equal(winners, t, out=mask)
        xp.add(block[index], grad, out=block[index], where=mask)


# how the input gradient is written, a chunk of samples at a time: ``applies(tiles, out)``
# (whether the windows tile the padded input exactly), ``run(block, winners, grad, taps)``
SCATTER = (
    Path(
        "pixels",
        lambda tiles, out: tiles and _few(out),
        _scatter_by_pixel,
        "windows that tile the input, few channels: each offset's share (the gradient where "
        "that offset won, else 0) is made contiguously, then copied a pixel at a time",
    ),
    Path(
        "tiles",
        lambda tiles, out: tiles,
        _scatter_tiles,
        "windows that tile the input write every cell once: each offset's share is written "
        "straight into its slice, with no zero fill and no accumulation",
    ),
    Path(
        "accumulate",
        lambda tiles, out: True,
        _scatter_accumulate,
        "overlapping or partial windows: a zeroed input gradient, each offset adding the "
        "gradient where it won",
    ),
)


def max_pool_scatter(g, argmax, in_shape, pool, strides, pads):
    """Adjoint of gathering at the argmax: each ``g`` entry goes to its window's winner."""
    padded = (in_shape[0], *(n + b + a for n, (b, a) in zip(in_shape[1:-1], pads)), in_shape[-1])
    out_size = g.shape[1:-1]
    tiles = _tiles_exactly(in_shape, pool, strides, pads, out_size)
    out = xp.empty(padded, dtype=g.dtype) if tiles else xp.zeros(padded, dtype=g.dtype)
    path = select(SCATTER, tiles, out)
    _record("max scatter", pool, g.nbytes + argmax.nbytes, out.nbytes, g.size, "to winners")
    taps = list(tap_slices(pool, strides, (1,) * len(pool), out_size))

    def chunk(start, stop):
        path.run(out[start:stop], argmax[start:stop], g[start:stop], taps)

    _by_samples(chunk, g.shape[0], parallel.sample_bytes(out))
    return _crop(out, pads)


def max_pool_gather(z, argmax, pool, strides, pads):
    """``z`` (shaped like the pooled input) read at each window's winner."""
    zpad = _pad(z, pads, 0)
    _record("max gather", pool, z.nbytes + argmax.nbytes, argmax.size * z.itemsize, argmax.size)
    out = xp.zeros(argmax.shape, dtype=z.dtype)
    term = xp.empty(argmax.shape, dtype=z.dtype)
    mask = xp.empty(argmax.shape, dtype=bool)
    for t, index in tap_slices(pool, strides, (1,) * len(pool), argmax.shape[1:-1]):
        xp.equal(argmax, t, out=mask)
        # multiply by the mask and add: branch-free, unlike a masked copy
        xp.multiply(zpad[index], mask, out=term)
        out += term
    return out


def argmax_positions(argmax, in_shape, pool, strides, pads):
    """Flat positions ``(y * W + x) * C + c`` within one sample of each window's winner.

    A position is where the window starts plus where the winning tap sits in it; the
    latter comes from a table indexed by the tap number.
    """
    rank = len(pool)
    steps = [math.prod(in_shape[axis + 2 :]) for axis in range(rank)]
    taps = xp.indices(pool, dtype=xp.int64).reshape(rank, -1)
    table = sum(taps[axis] * steps[axis] for axis in range(rank))
    start = xp.arange(in_shape[-1], dtype=xp.int64)
    for axis in range(rank):
        first = xp.arange(argmax.shape[axis + 1], dtype=xp.int64) * strides[axis] - pads[axis][0]
        start = start + (first * steps[axis]).reshape((-1,) + (1,) * (rank - axis))
    return table[argmax] + start


def _counts(size, pool, strides, pads, dtype):
    """How many real (unpadded) cells each window covers, broadcastable to the output."""
    out_size = pool_output_size(size, pool, strides, pads)
    count = xp.ones((1,) * (len(size) + 2), dtype=dtype)
    for axis, (n, k, s, (b, _), m) in enumerate(zip(size, pool, strides, pads, out_size)):
        start = xp.arange(m) * s - b
        cells = xp.minimum(start + k, n) - xp.maximum(start, 0)
        shape = [1] * (len(size) + 2)
        shape[axis + 1] = m
        count = count * cells.astype(dtype).reshape(shape)
    return count


def avg_pool(x, pool, strides, pads):
    """Window means over the real cells only (padding is excluded from the count)."""
    xpad = _pad(x, pads, 0)
    out_size = pool_output_size(x.shape[1:-1], pool, strides, pads)
    outputs = math.prod(out_size) * x.shape[0] * x.shape[-1]
    _record("average", pool, x.nbytes, outputs * x.itemsize, outputs)
    taps = [xpad[index] for _, index in tap_slices(pool, strides, (1,) * len(pool), out_size)]
    out = taps[0].copy()
    for tap in taps[1:]:
        out += tap
    out /= _counts(x.shape[1:-1], pool, strides, pads, x.dtype)
    return out


def avg_pool_adjoint(g, in_shape, pool, strides, pads):
    """Adjoint of ``avg_pool``: each output's gradient spread evenly over its real cells."""
    share = g / _counts(in_shape[1:-1], pool, strides, pads, g.dtype)
    _record("average adjoint", pool, g.nbytes, math.prod(in_shape) * g.itemsize, g.size)
    padded = (in_shape[0], *(n + b + a for n, (b, a) in zip(in_shape[1:-1], pads)), in_shape[-1])
    out = xp.zeros(padded, dtype=g.dtype)
    for _, index in tap_slices(pool, strides, (1,) * len(pool), g.shape[1:-1]):
        target = out[index]
        target += share
    return _crop(out, pads)

"""Winograd's F(2x2, 3x3): a 3x3 stride-1 convolution with 2.25x fewer multiplications.

Each 2x2 block of outputs depends on a 4x4 tile of the input. With the constant matrices

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

the block is ``A^T [(G g G^T) * (B^T d B)] A`` for a kernel slice g and a tile d. Summed over
input channels, the elementwise product becomes 16 matrix products, one per position of
the 4x4 transformed tile: ``M[xi] = V[xi] @ U[xi]`` with V (tiles, C) and U (C, out). So a
convolution is an input transform (additions of strided slices), 16 GEMMs and an output
transform; the kernel gradient is the exact adjoint of the same bilinear map:
``dU[xi] = V[xi]^T @ dM[xi]`` with ``dM = A dY A^T`` and ``dW = G^T dU G``.

Reference: Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016.
"""

import math

from lapenna.backend import parallel, trace
from lapenna.backend.device import xp

# tiles are processed for as many samples as keep the transformed input under this size
_CHUNK_BYTES = 1 << 23
# below this many channels the 16 GEMMs are too thin to beat one im2col GEMM
_MIN_CHANNELS = 16


def applies(x_shape, w_shape, strides, dilation, groups):
    """Whether a convolution is a 3x3, stride-1, undilated, ungrouped 2-D one worth it."""
    return (
        len(x_shape) == 4
        and tuple(w_shape[:2]) == (3, 3)
        and tuple(strides) == (1, 1)
        and tuple(dilation) == (1, 1)
        and groups == 1
        and min(x_shape[-1], w_shape[-1]) >= _MIN_CHANNELS
    )


def _tiles(x_shape, pads):
    """Tiles per axis and the extra zero rows/columns at the end that complete them."""
    tiles, extra = [], []
    for n, (b, a) in zip(x_shape[1:3], pads):
        out = n + b + a - 2
        tiles.append(-(-out // 2))
        extra.append(tiles[-1] * 2 - out)
    return tiles, extra


def _padded(x, pads, extra):
    """x zero-padded by ``pads`` plus ``extra`` at the end (negative pads crop)."""
    top, left = max(-pads[0][0], 0), max(-pads[1][0], 0)
    x = x[:, top : x.shape[1] - max(-pads[0][1], 0), left : x.shape[2] - max(-pads[1][1], 0)]
    grow = [(max(b, 0), max(a, 0) + e) for (b, a), e in zip(pads, extra)]
    if not any(b or a for b, a in grow):
        return x
    out = xp.zeros(
        (x.shape[0], x.shape[1] + sum(grow[0]), x.shape[2] + sum(grow[1]), x.shape[3]), x.dtype
    )
    out[:, grow[0][0] : grow[0][0] + x.shape[1], grow[1][0] : grow[1][0] + x.shape[2]] = x
    return out


def _input_transform(xpad, th, tw):
    """V = B^T d B for every 4x4 tile (stride 2) of a padded chunk: ``(16, tiles, C)``."""
    n, rows, _, c = xpad.shape
    cols = [xpad[:, :, k : k + 2 * tw - 1 : 2] for k in range(4)]
    half = xp.empty((4, n, rows, tw, c), dtype=xpad.dtype)
    _bt_combine(cols, half)
    v = xp.empty((4, 4, n, th, tw, c), dtype=xpad.dtype)
    for j in range(4):
        _bt_combine([half[j][:, k : k + 2 * th - 1 : 2] for k in range(4)], v[:, j])
    return v.reshape(16, n * th * tw, c)


def _bt_combine(d, out):
    """Rows of B^T applied to four slices: d0-d2, d1+d2, d2-d1, d1-d3."""
    xp.subtract(d[0], d[2], out=out[0])
    xp.add(d[1], d[2], out=out[1])
    xp.subtract(d[2], d[1], out=out[2])
    xp.subtract(d[1], d[3], out=out[3])


def _kernel_transform(w):
    """U = G g G^T for every (in, out) channel pair: ``(16, C, out)``."""
    half = xp.empty((4, 3, *w.shape[2:]), dtype=w.dtype)
    _g_combine(w, half)
    u = xp.empty((4, 4, *w.shape[2:]), dtype=w.dtype)
    _g_combine(half.swapaxes(0, 1), u.swapaxes(0, 1))
    return u.reshape(16, *w.shape[2:])


def _g_combine(g, out):
    """Rows of G applied along the first axis: g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2."""
    out[0] = g[0]
    xp.add(g[0], g[2], out=out[1])
    xp.subtract(out[1], g[1], out=out[2])
    out[1] += g[1]
    out[1:3] *= out.dtype.type(0.5)
    out[3] = g[2]


def _gt_combine(d, out):
    """Rows of G^T applied along the first axis: d0+(d1+d2)/2, (d1-d2)/2, (d1+d2)/2+d3."""
    xp.add(d[1], d[2], out=out[2])
    out[2] *= out.dtype.type(0.5)
    xp.add(d[0], out[2], out=out[0])
    xp.subtract(d[1], d[2], out=out[1])
    out[1] *= out.dtype.type(0.5)
    out[2] += d[3]


def _output_transform(m, out):
    """Y = A^T M A into ``out`` viewed as (n, th, 2, tw, 2, out): 2x2 outputs per tile."""
    m = m.reshape(4, 4, *out[:, :, 0, :, 0].shape)
    half = xp.empty((2, 4, *m.shape[2:]), dtype=m.dtype)
    for i in range(4):
        xp.add(m[i, 0], m[i, 1], out=half[0, i])
        xp.add(half[0, i], m[i, 2], out=half[0, i])
        xp.subtract(m[i, 1], m[i, 2], out=half[1, i])
        xp.subtract(half[1, i], m[i, 3], out=half[1, i])
    for j in range(2):
        top, bottom = out[:, :, 0, :, j], out[:, :, 1, :, j]
        xp.add(half[j, 0], half[j, 1], out=top)
        xp.add(top, half[j, 2], out=top)
        xp.subtract(half[j, 1], half[j, 2], out=bottom)
        xp.subtract(bottom, half[j, 3], out=bottom)


def _step(n, per_sample):
    return parallel.chunk_size(n, per_sample, _CHUNK_BYTES)


def conv3x3(x, w, pads):
    """Cross-correlation of ``x (N, H, W, C)`` with a 3x3 kernel ``w (3, 3, C, out)``."""
    (th, tw), extra = _tiles(x.shape, pads)
    u = _kernel_transform(w)
    n, cout = x.shape[0], w.shape[-1]
    out = xp.empty((n, 2 * th, 2 * tw, cout), dtype=x.dtype)
    blocks = out.reshape(n, th, 2, tw, 2, cout)
    step = _step(n, 16 * th * tw * max(x.shape[-1], cout) * x.itemsize)
    _record(n * th * tw, x.shape[-1], cout, x.nbytes, out.nbytes, x.itemsize, backward=False)

    def chunk(start, stop):
        # padding chunk by chunk keeps the padded copy in cache (and off the serial path)
        v = _input_transform(_padded(x[start:stop], pads, extra), th, tw)
        _output_transform(xp.matmul(v, u), blocks[start:stop])

    parallel.map_chunks(chunk, n, step)
    if any(extra):
        out = xp.ascontiguousarray(out[:, : 2 * th - extra[0], : 2 * tw - extra[1]])
    return out


def kernel_grad3x3(x, dy, pads):
    """Gradient of ``sum(dy * conv3x3(x, w))`` with respect to ``w``: ``(3, 3, C, out)``."""
    (th, tw), extra = _tiles(x.shape, pads)
    n, c, cout = x.shape[0], x.shape[-1], dy.shape[-1]
    step = _step(n, 16 * th * tw * max(c, cout) * x.itemsize)
    _record(n * th * tw, c, cout, x.nbytes, dy.nbytes, x.itemsize, backward=True)

    def chunk(start, stop):
        v = _input_transform(_padded(x[start:stop], pads, extra), th, tw)
        d = dy[start:stop]
        if any(extra):
            d = _padded(d, [(0, 0), (0, 0)], extra)
        blocks = d.reshape(stop - start, th, 2, tw, 2, cout)
        return xp.matmul(v.transpose(0, 2, 1), _output_adjoint(blocks))

    du = xp.zeros((16, c, cout), dtype=x.dtype)
    for part in parallel.map_chunks(chunk, n, step):
        du += part
    # dM was built with the signs of A's last row and column dropped; restore them on dU
    du = du.reshape(4, 4, c, cout)
    du[3] *= -1
    du[:, 3] *= -1
    half = xp.empty((3, 4, c, cout), dtype=x.dtype)
    _gt_combine(du, half)
    dw = xp.empty((3, 3, c, cout), dtype=x.dtype)
    _gt_combine(half.swapaxes(0, 1), dw.swapaxes(0, 1))
    return dw


def _record(tiles, c, cout, x_bytes, y_bytes, itemsize, backward):
    """The steps of ``conv3x3`` (or of ``kernel_grad3x3``, with dY in place of Y) for the
    recorder: the transforms are passes, the 16 products one batched GEMM."""
    if not trace.recording():
        return
    trace.note(f"Winograd F(2x2, 3x3): {tiles} tiles of 4x4, 16 products per tile")
    v, m = 16 * tiles * c * itemsize, 16 * tiles * cout * itemsize
    trace.memory_pass("input transform B^T d B", x_bytes, v, 24 * tiles * c, "V (16, tiles, C)")
    if backward:
        trace.memory_pass("output adjoint A dY A^T", y_bytes, m, m // itemsize, "dM")
        trace.gemm("V^T", "dM", "dU", c, tiles, cout, 16, itemsize)
        u = c * cout * itemsize
        trace.memory_pass("kernel adjoint G^T dU G", 16 * u, 9 * u, 4 * u // itemsize, "dW")
        return
    u = c * cout * itemsize
    trace.memory_pass("kernel transform G g G^T", 9 * u, 16 * u, 4 * u // itemsize, "U")
    trace.gemm("V", "U", "M", tiles, c, cout, 16, itemsize)
    trace.memory_pass("output transform A^T M A", m, y_bytes, 24 * tiles * cout, "Y")


def _output_adjoint(blocks):
    """dM = A dY A^T for every tile, up to the sign of row 3 and column 3: ``(16, tiles, out)``."""
    n, th, _, tw, _, cout = blocks.shape
    half = xp.empty((4, n, th, 2, tw, cout), dtype=blocks.dtype)
    _a_combine(blocks[:, :, :, :, 0], blocks[:, :, :, :, 1], half)
    dm = xp.empty((4, 4, n, th, tw, cout), dtype=blocks.dtype)
    for j in range(4):
        _a_combine(half[j][:, :, 0], half[j][:, :, 1], dm[:, j])
    return dm.reshape(16, math.prod(dm.shape[2:5]), cout)


def _a_combine(y0, y1, out):
    """Columns of A^T applied to two slices: y0, y0+y1, y0-y1 and (up to sign) y1."""
    out[0] = y0
    xp.add(y0, y1, out=out[1])
    xp.subtract(y0, y1, out=out[2])
    out[3] = y1

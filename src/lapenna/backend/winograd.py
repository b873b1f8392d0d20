"""Winograd's minimal filtering: 3x3 stride-1 convolutions with fewer multiplications.

**One dimension.** F(m, 3) computes m outputs ``y_i = d_i g_0 + d_(i+1) g_1 + d_(i+2) g_2``
of a 3-tap correlation from a tile of ``t = m + 2`` inputs d with t multiplications
(directly: 3m). It is Toom-Cook's polynomial product, transposed: multiplying the kernel
polynomial (degree 2) by one of degree m - 1 takes their values at t points, t products
of values, and an interpolation. With the points ``p_0 ... p_(t-2)`` and infinity (where
a polynomial's "value" is its leading coefficient), transposing that product in the
second polynomial gives the correlation as

    y = A^T [(G g) * (B^T d)]

    A^T[i, k] = p_k^i                                  (the infinity column: 0, ..., 0, 1)
    G[k, j]   = p_k^j / prod_(l != k) (p_k - p_l)      (the infinity row: 0, 0, 1)
    B^T[k, :] = coefficients, lowest first, of prod_(l != k) (x - p_l), then a 0
                (the infinity row: of prod_l (x - p_l))

``_matrices`` builds them from the points with exact fractions. The points 0, 1, -1 give
F(2, 3) (Lavin and Gray's, up to signs that cancel in pairs):

    B^T = [[-1, 0, 1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, -1, 0, 1]]
    G   = [[-1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, 1]]

the points 0, 1, -1, 2, -2 give Lavin and Gray's F(4, 3)

    B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
           [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
    G   = [[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6],
           [1/24, 1/12, 1/6], [1/24, -1/12, 1/6], [0, 0, 1]]
    A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]

and ``F4x4`` takes 0, 1, -1, 1/2, -2 instead (Barabasz et al.; the accuracy below):

    B^T = [[1, -3/2, -2, 3/2, 1, 0], [0, -1, 1/2, 5/2, 1, 0], [0, 1, -5/2, 1/2, 1, 0],
           [0, -2, -1, 2, 1, 0], [0, 1/2, -1, -1/2, 1, 0], [0, 1, -3/2, -2, 3/2, 1]]
    G   = [[1, 0, 0], [1/3, 1/3, 1/3], [-1/3, 1/3, -1/3],
           [-16/15, -8/15, -4/15], [1/15, -2/15, 4/15], [0, 0, 1]]
    A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 1/2, -2, 0], [0, 1, 1, 1/4, 4, 0],
           [0, 1, -1, 1/8, -8, 1]]

**Two dimensions.** Nesting the 1-D algorithm in both axes, an m x m block of outputs is
``A^T [(G g G^T) * (B^T d B)] A`` for a t x t input tile d (tiles overlap by 2, stride m)
and a kernel slice g: t^2 multiplications for 9 m^2 (F(2x2, 3x3): 16 for 36, 2.25x fewer;
F(4x4, 3x3): 36 for 144, 4x fewer). Summed over input channels the elementwise product
becomes t^2 matrix products, one per position xi of the transformed tile:
``M[xi] = V[xi] @ U[xi]`` with V (tiles, C) and U (C, out). So a convolution is an input
transform (additions of strided slices), t^2 GEMMs and an output transform. The kernel
gradient is the exact adjoint of the same bilinear map:
``dU[xi] = V[xi]^T @ dM[xi]`` with ``dM = A dY A^T`` and ``dW = G^T dU G``.

**The transforms** apply B^T, A^T or A along one axis of the tiles at a time, to a
stack of t (or m) strided slices (``_apply``). F(2x2)'s matrices hold only 0 and +-1, so
each row is one or two additions of whole slices. F(4x4)'s rows combine three to five
slices with other weights: as additions that is 20 or more passes over the slices, so it
runs as one product ``(t, t) @ (t, everything else)``, which reads and writes each element
once (0.7 of the additions' time at 32x32x64, whatever the points).

**Accuracy.** F(4, 3)'s larger entries amplify float32 rounding. Relative error
``|y32 - y64| / |y64|`` (Frobenius norms) against a float64 convolution of the same random
data (x standard normal, He-initialised kernels, batch 8), at ResNet-18's CIFAR shapes, in
units of 1e-7:

    shape        forward Y: im2col F(2x2) F(4x4) PyTorch  kernel grad: F(2x2) F(4x4) PyTorch
    32x32x64                  3.0    2.6   11.1     4.3                5.8   21.0     3.0
    16x16x128                 3.5    3.6   15.2     5.9                5.0   11.5     2.2
    8x8x256                   3.6    5.1   22.1     8.1                2.7    7.7     1.5
    4x4x512                   3.7    5.3   23.9    10.5                1.7    6.6     1.1

(the input gradient, a forward pass over dY, matches the forward's column). F(4x4) is
2.3-4.5x less accurate than F(2x2) and 2.3-7x less than PyTorch's own convolution, and
stays below 2.5e-6; its largest error over the largest output is 4.9e-6 (F(2x2): 7e-7).
Lavin and Gray's points 0, +-1, +-2 give 1.5x that relative error (forward: 16.8 to 37.8)
and 3x that largest error (1.5e-5). The error grows with the channels summed, so
``prefers_4x4`` stops at 512, the widest measured. In float64 every path agrees with the
reference to 1e-13 (``tests/test_conv_paths.py``).

References: Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR
2016; Barabasz, Anderson, Soodhalter and Gregg, "Error analysis and improving the
accuracy of Winograd convolution for deep neural networks", ACM TOMS 2020.
"""

import math
from fractions import Fraction
from typing import NamedTuple

from lapenna.backend import parallel, trace
from lapenna.backend.device import xp

# tiles are processed for as many samples as keep the transformed input under this size
_CHUNK_BYTES = 1 << 23
# below this many channels the t^2 GEMMs are too thin to beat one im2col GEMM
_MIN_CHANNELS = 16
# F(4x4, 3x3)'s float32 error grows with the channels summed; measured up to this many
_MAX_CHANNELS_4X4 = 512


def _matrices(points):
    """``(A^T, G, B^T)`` of F(m, 3) for ``m + 1`` finite points and infinity, as floats."""
    points = [Fraction(p) for p in points]
    t = len(points) + 1
    at = [[p**i for p in points] + [int(i == t - 3)] for i in range(t - 2)]
    g = []
    bt = []
    for k, p in enumerate(points):
        others = points[:k] + points[k + 1 :]
        g.append([p**j / math.prod(p - q for q in others) for j in range(3)])
        bt.append(_coefficients(others) + [0])
    g.append([0, 0, 1])
    bt.append(_coefficients(points))
    return tuple(tuple(tuple(float(c) for c in row) for row in a) for a in (at, g, bt))


def _coefficients(roots):
    """Coefficients, lowest power first, of ``prod (x - r)`` over ``roots``."""
    poly = [Fraction(1)]
    for r in roots:
        poly = [
            (poly[i - 1] if i else 0) - r * (poly[i] if i < len(poly) else 0)
            for i in range(len(poly) + 1)
        ]
    return poly


class Algorithm(NamedTuple):
    """F(m x m, 3 x 3): its name, the outputs per tile side and the transform matrices."""

    name: str
    m: int
    at: tuple  # A^T (m, t)
    g: tuple  # G (t, 3)
    bt: tuple  # B^T (t, t)

    @property
    def t(self):
        """The input tile side, m + 2."""
        return self.m + 2

    @property
    def a(self):
        return tuple(zip(*self.at))

    @property
    def gt(self):
        return tuple(zip(*self.g))


def _algorithm(m, points):
    return Algorithm(f"F({m}x{m}, 3x3)", m, *_matrices(points))


F2x2 = _algorithm(2, (0, 1, -1))
# 1/2 and -2 rather than Lavin and Gray's +-2: a third less float32 error (module docstring)
F4x4 = _algorithm(4, (0, 1, -1, Fraction(1, 2), -2))


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


def prefers_4x4(x_shape, pads, cout):
    """Whether F(4x4, 3x3) beats F(2x2, 3x3) on a convolution that ``applies``.

    Measured on two cores (batch 64; forward, kernel gradient, input gradient, F(4x4)'s
    time over F(2x2)'s): 0.88/0.94/0.86 at 32x32x64, 0.71/0.76/0.72 at 16x16x128,
    0.75/0.78/0.75 at 8x8x256 and 0.76/0.82/0.75 at 7x7x256, where its products do 1.78x
    fewer multiplications; 0.89/0.99/0.95 at 14x14x128 (1.36x fewer: its last tiles are
    mostly padding) and 1.4x at 6x6x256 (as many). At 4x4x512, one tile per sample,
    0.93/1.62/0.93: the kernel gradient sums a U-sized (t^2, C, out) part per chunk of
    samples, 2.25x larger than F(2x2)'s. So it needs 1.5x fewer multiplications and at
    least a quarter as many tiles as channels; and at most 512 channels, the widest its
    float32 error was measured at (module docstring).
    """
    (h4, w4), _ = _tiles(x_shape, pads, 4)
    (h2, w2), _ = _tiles(x_shape, pads, 2)
    widest = max(x_shape[-1], cout)
    return (
        3 * 36 * h4 * w4 <= 2 * 16 * h2 * w2  # 1.5x fewer products
        and 4 * x_shape[0] * h4 * w4 >= widest
        and widest <= _MAX_CHANNELS_4X4
    )


def _apply(matrix, parts, out=None, axis=0):
    """``out[i] = sum_j matrix[i][j] * parts[j]``: the matrix applied along a stack of
    equally shaped slices, a list or an array whose first axis is j. With ``axis=1``,
    ``parts`` is an array whose second axis is j, and the rows go to the second axis of
    ``out`` (which must be given). Returns ``out`` (a new array when None).

    F(2x2)'s matrices hold only 0 and +-1: each row is one or two additions of whole
    slices. F(4x4)'s hold 2, 4, 5 and 8 as well, and its rows add three or four scaled
    slices: there one product ``(t, t) @ (t, everything else)`` reads and writes each
    element once, where the additions would make a pass per term.
    """
    if all(abs(c) in (0, 1) for row in matrix for c in row):
        if axis == 1:
            parts = parts.swapaxes(0, 1)
        if out is None:
            out = xp.empty((len(matrix), *parts[0].shape), dtype=parts[0].dtype)
        for row, target in zip(matrix, out if axis == 0 else out.swapaxes(0, 1)):
            _add_rows(row, parts, target)
        return out
    if axis == 1:  # one product per index of axis 0, no copy of the parts
        d = parts.reshape(parts.shape[0], parts.shape[1], -1)
    else:
        d = xp.ascontiguousarray(parts) if hasattr(parts, "shape") else xp.stack(parts)
        d = d.reshape(len(d), -1)
    with parallel.single_blas():  # BLAS's threads only slow a product t deep
        y = xp.matmul(xp.asarray(matrix, dtype=d.dtype), d)
    shape = parts.shape if hasattr(parts, "shape") else (len(parts), *parts[0].shape)
    y = y.reshape(*shape[:axis], len(matrix), *shape[axis + 1 :])
    if out is None:
        return y
    out[...] = y
    return out


def _add_rows(row, parts, target):
    """``target = sum_j row[j] * parts[j]`` for a row of 0 and +-1, by whole-slice adds."""
    terms = sorted(((c, p) for c, p in zip(row, parts) if c), key=lambda t: -t[0])
    (c, first), rest = terms[0], terms[1:]
    if c < 0:
        xp.negative(first, out=target)
    elif rest:
        sign, second = rest.pop(0)
        (xp.add if sign > 0 else xp.subtract)(first, second, out=target)
    else:
        target[...] = first
    for c, p in rest:
        (xp.add if c > 0 else xp.subtract)(target, p, out=target)


def _tiles(x_shape, pads, m):
    """Tiles per axis and the extra zero rows/columns at the end that complete them."""
    tiles, extra = [], []
    for n, (b, a) in zip(x_shape[1:3], pads):
        out = n + b + a - 2
        tiles.append(-(-out // m))
        extra.append(tiles[-1] * m - out)
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


def _input_transform(f, xpad, th, tw):
    """V = B^T d B for every t x t tile (stride m) of a padded chunk: ``(t^2, tiles, C)``.
    B^T along the tiles' columns (t strided slices of the input), then along their rows."""
    t, m = f.t, f.m
    half = _apply(f.bt, [xpad[:, :, k : k + m * (tw - 1) + 1 : m] for k in range(t)])
    v = _apply(f.bt, [half[:, :, k : k + m * (th - 1) + 1 : m] for k in range(t)])
    return v.reshape(t * t, -1, xpad.shape[-1])


def _kernel_transform(f, w):
    """U = G g G^T for every (in, out) channel pair: ``(t^2, C, out)``."""
    return _sandwich(f.g, w).reshape(f.t * f.t, *w.shape[2:])


def _sandwich(matrix, a):
    """``matrix @ a[:, :, i] @ matrix^T`` for every column i of ``a (k, k, ...)``: the
    kernel transform G g G^T and its adjoint G^T dU G. Two thin products per chunk of
    columns, the chunks on all cores."""
    r, k = len(matrix), a.shape[0]
    mat = xp.asarray(matrix, dtype=a.dtype)
    flat = a.reshape(k, k, -1)
    out = xp.empty((r, r, flat.shape[-1]), dtype=a.dtype)

    def chunk(start, stop):
        half = xp.matmul(mat, flat[:, :, start:stop])  # along the second axis: (k, r, cols)
        out[:, :, start:stop] = xp.matmul(mat, half.reshape(k, -1)).reshape(r, r, -1)

    step = parallel.chunk_size(flat.shape[-1], r * (r + k) * a.itemsize, _CHUNK_BYTES >> 3)
    parallel.map_chunks(chunk, flat.shape[-1], step)
    return out.reshape(r, r, *a.shape[2:])


def _output_transform(f, m, out):
    """Y = A^T M A into ``out`` viewed as (n, th, m, tw, m, out): m x m outputs per tile."""
    m = m.reshape(f.t, f.t, *out[:, :, 0, :, 0].shape)
    half = _apply(f.at, m)  # along the rows: (m, t, n, th, tw, out)
    _apply(f.at, half, out.transpose(2, 4, 0, 1, 3, 5), axis=1)


def _output_adjoint(f, blocks):
    """dM = A dY A^T for every tile of dY viewed as (n, th, m, tw, m, out):
    ``(t^2, tiles, out)``."""
    half = _apply(f.a, [blocks[:, :, :, :, j] for j in range(f.m)])
    dm = _apply(f.a, [half[:, :, :, i] for i in range(f.m)])
    return dm.reshape(f.t * f.t, -1, blocks.shape[-1])


def _step(f, n, th, tw, channels, itemsize):
    return parallel.chunk_size(n, f.t * f.t * th * tw * channels * itemsize, _CHUNK_BYTES)


def conv3x3(x, w, pads, f=F2x2):
    """Cross-correlation of ``x (N, H, W, C)`` with a 3x3 kernel ``w (3, 3, C, out)`` by the
    Winograd algorithm ``f`` (``F2x2`` or ``F4x4``)."""
    (th, tw), extra = _tiles(x.shape, pads, f.m)
    u = _kernel_transform(f, w)
    n, cout = x.shape[0], w.shape[-1]
    out = xp.empty((n, f.m * th, f.m * tw, cout), dtype=x.dtype)
    blocks = out.reshape(n, th, f.m, tw, f.m, cout)
    step = _step(f, n, th, tw, max(x.shape[-1], cout), x.itemsize)
    _record(f, n * th * tw, x.shape[-1], cout, x.nbytes, out.nbytes, x.itemsize, backward=False)

    def chunk(start, stop):
        # padding chunk by chunk keeps the padded copy in cache (and off the serial path)
        v = _input_transform(f, _padded(x[start:stop], pads, extra), th, tw)
        _output_transform(f, xp.matmul(v, u), blocks[start:stop])

    parallel.map_chunks(chunk, n, step)
    if any(extra):
        out = xp.ascontiguousarray(out[:, : f.m * th - extra[0], : f.m * tw - extra[1]])
    return out


def kernel_grad3x3(x, dy, pads, f=F2x2):
    """Gradient of ``sum(dy * conv3x3(x, w, pads, f))`` with respect to ``w``:
    ``(3, 3, C, out)``."""
    (th, tw), extra = _tiles(x.shape, pads, f.m)
    n, c, cout = x.shape[0], x.shape[-1], dy.shape[-1]
    step = _step(f, n, th, tw, max(c, cout), x.itemsize)
    _record(f, n * th * tw, c, cout, x.nbytes, dy.nbytes, x.itemsize, backward=True)

    def chunk(start, stop):
        v = _input_transform(f, _padded(x[start:stop], pads, extra), th, tw)
        d = dy[start:stop]
        if any(extra):
            d = _padded(d, [(0, 0), (0, 0)], extra)
        blocks = d.reshape(stop - start, th, f.m, tw, f.m, cout)
        return xp.matmul(v.transpose(0, 2, 1), _output_adjoint(f, blocks))

    du = xp.zeros((f.t * f.t, c, cout), dtype=x.dtype)
    for part in parallel.map_chunks(chunk, n, step):
        du += part
    return _sandwich(f.gt, du.reshape(f.t, f.t, c, cout))  # dW = G^T dU G


def _record(f, tiles, c, cout, x_bytes, y_bytes, itemsize, backward):
    """The steps of ``conv3x3`` (or of ``kernel_grad3x3``, with dY in place of Y) for the
    recorder: the transforms are passes, the t^2 products one batched GEMM."""
    if not trace.recording():
        return
    t2 = f.t * f.t
    trace.note(f"Winograd {f.name}: {tiles} tiles of {f.t}x{f.t}, {t2} products per tile")
    v, m = t2 * tiles * c * itemsize, t2 * tiles * cout * itemsize
    # the first pass of a transform makes about m columns a tile, the second t
    v_flops = _ops(f.bt) * (f.m + f.t) * tiles * c
    m_flops = _ops(f.a if backward else f.at) * (f.m + f.t) * tiles * cout
    trace.memory_pass("input transform B^T d B", x_bytes, v, v_flops, f"V ({t2}, tiles, C)")
    u = c * cout * itemsize
    if backward:
        trace.memory_pass("output adjoint A dY A^T", y_bytes, m, m_flops, "dM")
        trace.gemm("V^T", "dM", "dU", c, tiles, cout, t2, itemsize)
        trace.memory_pass("kernel adjoint G^T dU G", t2 * u, 9 * u, 4 * u // itemsize, "dW")
        return
    trace.memory_pass("kernel transform G g G^T", 9 * u, t2 * u, 4 * u // itemsize, "U")
    trace.gemm("V", "U", "M", tiles, c, cout, t2, itemsize)
    trace.memory_pass("output transform A^T M A", m, y_bytes, m_flops, "Y")


def _ops(matrix):
    """FLOPs ``_apply`` spends on each column of the slices it combines: the additions of
    a matrix of 0 and +-1, or the multiply-adds of its product."""
    if all(abs(c) in (0, 1) for row in matrix for c in row):
        return sum(1 for row in matrix for c in row if c) - len(matrix)
    return 2 * len(matrix) * len(matrix[0])

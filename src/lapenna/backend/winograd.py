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

and the points 0, 1, -1, 2, -2 give their F(4, 3):

    B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
           [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
    G   = [[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6],
           [1/24, 1/12, 1/6], [1/24, -1/12, 1/6], [0, 0, 1]]
    A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]

**Two dimensions.** Nesting the 1-D algorithm in both axes, an m x m block of outputs is
``A^T [(G g G^T) * (B^T d B)] A`` for a t x t input tile d (tiles overlap by 2, stride m)
and a kernel slice g: t^2 multiplications for 9 m^2 (F(2x2, 3x3): 16 for 36, 2.25x fewer;
F(4x4, 3x3): 36 for 144, 4x fewer). Summed over input channels the elementwise product
becomes t^2 matrix products, one per position xi of the transformed tile:
``M[xi] = V[xi] @ U[xi]`` with V (tiles, C) and U (C, out). So a convolution is an input
transform (additions of strided slices), t^2 GEMMs and an output transform. The kernel
gradient is the exact adjoint of the same bilinear map:
``dU[xi] = V[xi]^T @ dM[xi]`` with ``dM = A dY A^T`` and ``dW = G^T dU G``.

**The transforms** are whole-slice additions (``_combine``): row i of B^T d B, for
example, adds the tile's rows j times ``B^T[i][j]``. Points come in pairs +-p, and a pair
shares its work: the rows of B^T for +p and -p differ only in the sign of their odd
columns, so with E and O the sums over the even and the odd columns they are E + O and
E - O; A^T's columns for +p and -p differ in the sign of their odd rows, so the inputs
d_+p + d_-p and d_+p - d_-p serve all of its rows (``_plan``). F(4x4)'s B^T then takes 20
operations per element instead of 28, its A^T 13 instead of 20.

**Accuracy.** The larger entries of F(4, 3)'s matrices (5, 8, 1/6, 1/24) amplify float32
rounding. Relative error ``|y32 - y64| / |y64|`` (Frobenius norms) against a float64
convolution of the same random data (x standard normal, He-initialised kernels, batch 8),
at ResNet-18's CIFAR shapes, in units of 1e-7:

    shape        forward Y: im2col F(2x2) F(4x4) PyTorch  kernel grad: F(2x2) F(4x4) PyTorch
    32x32x64                  3.0    2.6   17.0     4.3                5.8   32.6     3.0
    16x16x128                 3.5    3.6   23.9     5.9                5.0   23.5     2.2
    8x8x256                   3.6    5.1   34.1     8.1                3.6   13.6     1.5
    4x4x512                   3.7    5.3   37.8    10.5                2.1    9.8     1.1

(the input gradient, a forward pass over dY, matches the forward's column). F(4x4) is
4-7x less accurate than F(2x2) and 4-11x less than PyTorch's own convolution, and stays
below 4e-6; its largest error over the largest output is 1.5e-5 (F(2x2): 7e-7). The error
grows with the channels summed, so ``prefers_4x4`` stops at 512, the widest measured.
The points 0, 1, -1, 1/2, -2 (Barabasz et al. 2020) cut the forward's error by a third
(2.2e-6 at 8x8x256) but have no +-p pair to share, and their transforms cost 34 and 18
operations. In float64 every path agrees with the reference to 1e-13
(``tests/test_conv_paths.py``).

References: Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR
2016; Barabasz, Anderson, Soodhalter and Gregg, "Error analysis and improving the
accuracy of Winograd convolution for deep neural networks", ACM TOMS 2020.
"""

import functools
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
F4x4 = _algorithm(4, (0, 1, -1, 2, -2))


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

    Measured on two shared cores (batch 64, forward and both gradients): F(4x4) took
    0.70-0.80 of F(2x2)'s time at 32x32x64, 16x16x128, 8x8x256 and 7x7x256, where its
    products do 1.78x fewer multiplications; the same at 14x14x128 (1.36x fewer: its
    last tiles are mostly padding) and 1.3x longer at 6x6x256 (as many). At 4x4x512 the
    two tie: with one tile per sample the products are thin and U, 2.25x larger than
    F(2x2)'s, is most of what they read. So it needs 1.5x fewer multiplications and at
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


def _combine(matrix, d, out):
    """``out[i] = sum_j matrix[i][j] * d[j]`` for each row i, by whole-slice multiplies and
    adds (``_plan`` says which, sharing the work of each pair of points +-p)."""
    pairs, rows = _plan(matrix)
    d = list(d)
    for j, k in pairs:  # columns of +p and -p: their sum and difference serve every row
        d += [xp.add(d[j], d[k]), xp.subtract(d[j], d[k])]
    scratch = []
    for row in rows:
        if len(row) == 3:  # rows of +p and -p: the even and the odd part, then E + O, E - O
            i, k, (even, odd) = row
            e = _sum(even, d, None, scratch)
            o = _sum(odd, d, None, scratch)
            xp.add(e, o, out=out[i])
            xp.subtract(e, o, out=out[k])
        else:
            _sum(row[1], d, out[row[0]], scratch)


def _sum(terms, d, target, scratch):
    """``sum c * d[j]`` over ``terms`` ((c, j), unit coefficients first) into ``target``
    (a new array when None; a lone unit term is then returned as it is)."""
    (c, j), rest = terms[0], terms[1:]
    if target is None:
        if c == 1 and not rest:
            return d[j]
        target = xp.empty(d[j].shape, dtype=d[j].dtype)
    if c == 1 and rest and abs(rest[0][0]) == 1:
        (xp.add if rest[0][0] == 1 else xp.subtract)(d[j], d[rest[0][1]], out=target)
        rest = rest[1:]
    elif c == 1:
        target[...] = d[j]
    else:
        xp.multiply(d[j], c, out=target)
    for c, j in rest:
        s = d[j]
        if abs(c) != 1:
            if not scratch:
                scratch.append(xp.empty(target.shape, dtype=target.dtype))
            s = xp.multiply(s, abs(c), out=scratch[0])
        (xp.add if c > 0 else xp.subtract)(target, s, out=target)
    return target


@functools.cache
def _plan(matrix):
    """How ``_combine`` applies ``matrix`` (a row per point or per power of x).

    Where two columns j, k belong to the points +p and -p, ``M[i][k] = (-1)^i M[i][j]``
    (A^T): the pairs list them, and the rows use ``d_j + d_k`` (even i) or ``d_j - d_k``
    (odd i) instead. Where two rows do, ``M[k][j] = (-1)^j M[i][j]`` (B^T, A): such a row
    pair is ``(i, k, (even terms, odd terms))``. Any other row is ``(i, terms)``; terms
    are ``(coefficient, column)``, unit coefficients first.
    """
    width = len(matrix[0])
    pairs = []
    for j in range(width):
        for k in range(j + 1, width):
            free = not any(j in p or k in p for p in pairs)
            used = sum(1 for row in matrix if row[j]) > 1
            if free and used and all(row[k] == (-1) ** i * row[j] for i, row in enumerate(matrix)):
                pairs.append((j, k))
    if pairs:  # rewrite the paired columns as sum and difference columns
        rows = []
        for i, row in enumerate(matrix):
            row = [0 if any(j in p for p in pairs) else c for j, c in enumerate(row)]
            for j, _ in pairs:
                row += [matrix[i][j], 0] if i % 2 == 0 else [0, matrix[i][j]]
            rows.append((i, _terms(row)))
        return tuple(pairs), tuple(rows)
    rows, done = [], set()
    for i, row in enumerate(matrix):
        if i in done:
            continue
        for k in range(i + 1, len(matrix)):
            mirrored = all(matrix[k][j] == (-1) ** j * c for j, c in enumerate(row))
            if k not in done and any(row[1::2]) and any(row[::2]) and mirrored:
                even = [c if j % 2 == 0 else 0 for j, c in enumerate(row)]
                odd = [c if j % 2 else 0 for j, c in enumerate(row)]
                rows.append((i, k, (_terms(even), _terms(odd))))
                done.add(k)
                break
        else:
            rows.append((i, _terms(row)))
    return (), tuple(rows)


def _terms(row):
    terms = [(c, j) for j, c in enumerate(row) if c]
    return tuple(sorted(terms, key=lambda t: (abs(t[0]) != 1, t[0] < 0)))


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
    """V = B^T d B for every t x t tile (stride m) of a padded chunk: ``(t^2, tiles, C)``."""
    n, rows, _, c = xpad.shape
    t, m = f.t, f.m
    half = xp.empty((t, n, rows, tw, c), dtype=xpad.dtype)
    _combine(f.bt, [xpad[:, :, k : k + m * (tw - 1) + 1 : m] for k in range(t)], half)
    v = xp.empty((t, t, n, th, tw, c), dtype=xpad.dtype)
    for j in range(t):
        _combine(f.bt, [half[j][:, k : k + m * (th - 1) + 1 : m] for k in range(t)], v[:, j])
    return v.reshape(t * t, n * th * tw, c)


def _kernel_transform(f, w):
    """U = G g G^T for every (in, out) channel pair: ``(t^2, C, out)``. The kernel is small:
    two products with G (t, 3) do it, the first along the kernel's rows, then its columns."""
    g = xp.asarray(f.g, dtype=w.dtype)
    with parallel.single_blas():  # BLAS's threads only slow a product 3 deep
        half = xp.matmul(g, w.reshape(3, -1)).reshape(f.t, 3, -1)
        return xp.matmul(g, half).reshape(f.t * f.t, *w.shape[2:])


def _output_transform(f, m, out):
    """Y = A^T M A into ``out`` viewed as (n, th, m, tw, m, out): m x m outputs per tile."""
    m = m.reshape(f.t, f.t, *out[:, :, 0, :, 0].shape)
    half = xp.empty((f.m, f.t, *m.shape[2:]), dtype=m.dtype)
    for i in range(f.t):
        _combine(f.at, m[i], half[:, i])
    for j in range(f.m):
        _combine(f.at, half[j], [out[:, :, i, :, j] for i in range(f.m)])


def _output_adjoint(f, blocks):
    """dM = A dY A^T for every tile of dY viewed as (n, th, m, tw, m, out):
    ``(t^2, tiles, out)``."""
    n, th, _, tw, _, cout = blocks.shape
    half = xp.empty((f.t, n, th, f.m, tw, cout), dtype=blocks.dtype)
    _combine(f.a, [blocks[:, :, :, :, j] for j in range(f.m)], half)
    dm = xp.empty((f.t, f.t, n, th, tw, cout), dtype=blocks.dtype)
    for j in range(f.t):
        _combine(f.a, [half[j][:, :, i] for i in range(f.m)], dm[:, j])
    return dm.reshape(f.t * f.t, math.prod(dm.shape[2:5]), cout)


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

    if _few_tiles(n * th * tw, x.shape[-1], cout):
        v = _input_transform(f, _padded(x, pads, extra), th, tw)
        _output_transform(f, parallel.matmul(v, u), blocks)
    else:
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

    if not _few_tiles(n * th * tw, c, cout):
        du = xp.zeros((f.t * f.t, c, cout), dtype=x.dtype)
        for part in parallel.map_chunks(chunk, n, step):
            du += part
    else:
        v = _input_transform(f, _padded(x, pads, extra), th, tw)
        d = _padded(dy, [(0, 0), (0, 0)], extra) if any(extra) else dy
        dm = _output_adjoint(f, d.reshape(n, th, f.m, tw, f.m, cout))
        du = parallel.matmul(v.transpose(0, 2, 1), dm)
    # dW = G^T dU G: two products with G^T (3, t), as in ``_kernel_transform``
    gt = xp.asarray(f.gt, dtype=x.dtype)
    with parallel.single_blas():
        half = xp.matmul(gt, du.reshape(f.t, -1)).reshape(3, f.t, -1)
        dw = xp.matmul(gt, half).reshape(3, 3, c, cout)
    return dw


def _few_tiles(tiles, c, cout):
    """Whether the transformed kernel U (t^2, C, out) outweighs the transformed input
    V (t^2, tiles, C): then chunks of samples would each read all of U, so the whole
    batch is transformed at once and the t^2 products are shared among the cores."""
    return tiles <= max(c, cout)


def _record(f, tiles, c, cout, x_bytes, y_bytes, itemsize, backward):
    """The steps of ``conv3x3`` (or of ``kernel_grad3x3``, with dY in place of Y) for the
    recorder: the transforms are passes, the t^2 products one batched GEMM."""
    if not trace.recording():
        return
    t2 = f.t * f.t
    trace.note(f"Winograd {f.name}: {tiles} tiles of {f.t}x{f.t}, {t2} products per tile")
    v, m = t2 * tiles * c * itemsize, t2 * tiles * cout * itemsize
    # a transform pass over t slices of one tile row does ``_ops`` of its matrix per element
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
    """Multiplications and additions ``_combine`` does per element for ``matrix``."""
    pairs, rows = _plan(matrix)
    count = 2 * len(pairs)
    for row in rows:
        parts = row[2] if len(row) == 3 else (row[1],)
        count += 2 * (len(row) == 3) + sum(
            len(t) - 1 + sum(abs(c) != 1 for c, _ in t) for t in parts
        )
    return count

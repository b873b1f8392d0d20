"""Normalization kernels: batch statistics and the fused normalize backward.

``x`` is normalized over ``axes`` with its own mean and (biased) variance, then scaled by
``gamma`` and shifted by ``beta`` (arrays already shaped to broadcast against ``x``).

The sums over the normalised axes have more than one algorithm, each chosen by a selection
table (see ``backend/paths.py``; ``tests/test_pool_norm_paths.py`` runs every row against
numpy's own reduction): ``SUM`` for ``axis_sum`` and ``DOT`` for ``axis_dot``.
"""

import math

from lapenna.backend import parallel, trace
from lapenna.backend.device import xp
from lapenna.backend.paths import Path, select

# from this many values per row, einsum's fused multiply-add beats a product and a GEMV
_EINSUM_MIN = 16
# elementwise passes run over chunks of samples of about this many bytes, in parallel,
# so the several passes over a chunk find it in cache
_CHUNK_BYTES = 1 << 20


def _by_samples(fn, x, axes):
    """``fn(start, stop)`` over chunks of axis 0, in parallel. Partial results are summed
    when axis 0 is reduced (batch norm), else joined along it (layer norm)."""
    n = x.shape[0]
    step = parallel.chunk_size(n, parallel.sample_bytes(x), _CHUNK_BYTES)
    parts = parallel.map_chunks(fn, n, step) if n else [fn(0, 0)]
    if parts[0] is None:
        return None
    if 0 not in axes:
        return [xp.concatenate(p, axis=0) for p in zip(*parts)]
    total = [a.copy() for a in parts[0]]
    for part in parts[1:]:
        for t, a in zip(total, part):
            t += a
    return total


def _rows(a, start, stop):
    """Rows of a statistic or parameter for a chunk of samples (broadcast ones stay)."""
    return a if a is None or a.shape[0] == 1 else a[start:stop]


def _kept(a, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(a.shape))


def _sum_leading(a, axes):
    rows = math.prod(a.shape[: len(axes)])
    ones = xp.ones((1, rows), dtype=a.dtype)
    return parallel.matmul(ones, a.reshape(rows, -1)).reshape(_kept(a, axes))


def _sum_trailing(a, axes):
    cols = math.prod(a.shape[a.ndim - len(axes) :])
    ones = xp.ones((cols, 1), dtype=a.dtype)
    return parallel.matmul(a.reshape(-1, cols), ones).reshape(_kept(a, axes))


def _leading(a, axes):
    return tuple(axes) == tuple(range(len(axes)))


def _trailing(a, axes):
    return tuple(axes) == tuple(range(a.ndim - len(axes), a.ndim))


# ``axis_sum(a, axes)`` with ``axes`` not empty
SUM = (
    Path(
        "leading",
        _leading,
        _sum_leading,
        "the leading axes (batch norm): ones (1, rows) @ a (rows, C), a GEMV; BLAS is many "
        "times faster than numpy's reduction when few channels remain, and accumulates more "
        "accurately",
    ),
    Path(
        "trailing",
        _trailing,
        _sum_trailing,
        "the trailing axes (layer norm): a (rows, cols) @ ones (cols, 1), the same GEMV",
    ),
    Path(
        "reduce",
        lambda a, axes: True,
        lambda a, axes: a.sum(axis=tuple(axes), keepdims=True),
        "any other axes: numpy's reduction",
    ),
)


def axis_sum(a, axes):
    """Sum over ``axes`` keeping them as size-1 axes (the algorithm: ``SUM``)."""
    if len(axes) == 0:
        return a
    return select(SUM, a, axes).run(a, axes)


def _dot_einsum(a, b, axes):
    k = len(axes)
    rows = math.prod(a.shape[:k])
    kept = (1,) * k + a.shape[k:]
    return xp.einsum("mc,mc->c", a.reshape(rows, -1), b.reshape(rows, -1)).reshape(kept)


# ``axis_dot(a, b, axes)``
DOT = (
    Path(
        "einsum",
        lambda a, b, axes: _leading(a, axes) and math.prod(a.shape[len(axes) :]) >= _EINSUM_MIN,
        _dot_einsum,
        f"the leading axes with rows of at least {_EINSUM_MIN} values: einsum's fused "
        "multiply-add, without the temporary product",
    ),
    Path(
        "product",
        lambda a, b, axes: True,
        lambda a, b, axes: axis_sum(a * b, axes),
        "otherwise: the product, then axis_sum",
    ),
)


def axis_dot(a, b, axes):
    """``axis_sum(a * b, axes)`` (the algorithm: ``DOT``)."""
    return select(DOT, a, b, axes).run(a, b, axes)


def moments(x, axes):
    """Mean and biased variance over ``axes`` (kept as size-1 axes), in ``x``'s dtype."""
    start = trace.clock()
    inv_count = x.dtype.type(1.0 / math.prod(x.shape[a] for a in axes))
    mean = axis_sum(x, axes) * inv_count

    def chunk(start, stop):
        centered = x[start:stop] - _rows(mean, start, stop)
        xp.square(centered, out=centered)
        return (axis_sum(centered, axes),)

    (var,) = _by_samples(chunk, x, axes)
    trace.memory_pass("moments", 2 * x.nbytes, 2 * mean.nbytes, 4 * x.size, "mean, var", start)
    return mean, var * inv_count


def normalize(x, mean, inv_std, gamma, beta):
    """``(x - mean) * inv_std * gamma + beta`` in two passes over ``x``."""
    scale = inv_std if gamma is None else inv_std * gamma
    shift = -mean * scale if beta is None else beta - mean * scale
    out = xp.empty(xp.broadcast_shapes(x.shape, scale.shape, shift.shape), dtype=x.dtype)
    trace.memory_pass("normalize", x.nbytes, out.nbytes, 2 * out.size, "x * scale + shift")

    def chunk(start, stop):
        xp.multiply(x[start:stop], _rows(scale, start, stop), out=out[start:stop])
        out[start:stop] += _rows(shift, start, stop)

    _by_samples(chunk, x, ())
    return out


def _reduce_to(a, shape):
    """Sum ``a`` over the axes where the broadcast ``shape`` is 1 (None gives None)."""
    if shape is None:
        return None
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and a.shape[i] != 1)
    return axis_sum(a, axes) if axes else a


def normalize_backward(x, g, mean, inv_std, gamma, axes, gamma_shape=None, beta_shape=None):
    """Gradients of ``sum(g * normalize(x, ...))`` with respect to x, gamma and beta.

    With ``xhat = (x - mean) * inv_std``, ``gg = g * gamma`` and ``<.>`` the mean over
    ``axes``: ``dx = inv_std * (gg - <gg> - xhat * <gg * xhat>)``, dgamma sums
    ``g * xhat`` and dbeta sums ``g`` to the broadcast shapes ``gamma_shape`` and
    ``beta_shape`` (None when that gradient is not wanted). Returns ``(dx, dgamma, dbeta)``.
    """
    start = trace.clock()
    inv_count = x.dtype.type(1.0 / math.prod(x.shape[a] for a in axes))
    if gamma is None or all(gamma.shape[a] == 1 for a in axes):
        # gamma is constant within each normalized group (batch norm), so <gg> and
        # <gg * xhat> are gamma times the sums that dbeta and dgamma need anyway; the
        # centered input is kept explicit (not x * k + c) so a large mean cancels exactly
        dx = xp.empty(x.shape, dtype=x.dtype)

        def sums(start, stop):
            centered = xp.subtract(x[start:stop], _rows(mean, start, stop), out=dx[start:stop])
            return axis_sum(g[start:stop], axes), axis_dot(g[start:stop], centered, axes)

        sum_g, sum_gc = _by_samples(sums, x, axes)
        sum_gx = sum_gc * inv_std
        slope = -sum_gx * inv_std * inv_count
        offset = sum_g * inv_count
        scale = inv_std if gamma is None else inv_std * gamma

        def combine(start, stop):
            part = dx[start:stop]
            part *= _rows(slope, start, stop)
            part += g[start:stop]
            part -= _rows(offset, start, stop)
            part *= _rows(scale, start, stop)

        _by_samples(combine, x, axes)
        _record_backward(x, start)
        return dx, _reduce_to(sum_gx, gamma_shape), _reduce_to(sum_g, beta_shape)
    xhat = x - mean
    xhat *= inv_std
    gg = g * gamma
    dgamma = _reduce_to(g * xhat, gamma_shape)
    dbeta = _reduce_to(g, beta_shape)
    mean_gg = axis_sum(gg, axes) * inv_count
    mean_ggx = axis_sum(gg * xhat, axes) * inv_count
    xhat *= -mean_ggx
    xhat += gg
    xhat -= mean_gg
    xhat *= inv_std
    _record_backward(x, start)
    return xhat, dgamma, dbeta


def _record_backward(x, start):
    """For the recorder: x and dY read twice (sums, then the combination), dX written."""
    trace.memory_pass("normalize backward", 3 * x.nbytes, x.nbytes, 9 * x.size, "dx", start)

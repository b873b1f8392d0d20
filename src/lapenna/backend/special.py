"""Special functions numpy lacks: the error function and its complement.

``erf`` and ``erfc`` use W. J. Cody's near-minimax rational approximations, one rational
function on each of three intervals of |x|:

- |x| <= 0.46875: erf(x) = x * P(x^2) / Q(x^2);
- 0.46875 < |x| <= 4: erfc(x) = exp(-x^2) * P(x) / Q(x);
- |x| > 4: erfc(x) = exp(-x^2) / |x| * (1/sqrt(pi) - z * P(z) / Q(z)) with z = 1/x^2.

The approximations carry about 18 significant digits, so float64 results are accurate to
a few ulps. Arrays are evaluated in their own precision (float16 in float32), so float32
stays float32.

Reference: W. J. Cody, "Rational Chebyshev approximations for the error function",
Mathematics of Computation 23 (1969), pp. 631-638.
"""

from lapenna.backend.core import floatx
from lapenna.backend.device import xp

_SMALL = 0.46875  # below: erf directly; above: erfc, whose relative accuracy is kept
_MIDDLE = 4.0
# erfc(x) underflows to 0 beyond this point in float64 (and much earlier in float32)
_BIG = 26.543
_INV_SQRT_PI = 0.56418958354775628695

# Coefficients from the highest power down (Cody's published values).
_P_SMALL = (
    1.85777706184603153e-1,
    3.16112374387056560e0,
    1.13864154151050156e2,
    3.77485237685302021e2,
    3.20937758913846947e3,
)
_Q_SMALL = (
    1.0,
    2.36012909523441209e1,
    2.44024637934444173e2,
    1.28261652607737228e3,
    2.84423683343917062e3,
)
_P_MIDDLE = (
    2.15311535474403846e-8,
    5.64188496988670089e-1,
    8.88314979438837594e0,
    6.61191906371416295e1,
    2.98635138197400131e2,
    8.81952221241769090e2,
    1.71204761263407058e3,
    2.05107837782607147e3,
    1.23033935479799725e3,
)
_Q_MIDDLE = (
    1.0,
    1.57449261107098347e1,
    1.17693950891312499e2,
    5.37181101862009858e2,
    1.62138957456669019e3,
    3.29079923573345963e3,
    4.36261909014324716e3,
    3.43936767414372164e3,
    1.23033935480374942e3,
)
_P_LARGE = (
    1.63153871373020978e-2,
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
)
_Q_LARGE = (
    1.0,
    2.56852019228982242e0,
    1.87295284992346047e0,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)


def _rational(p, q, t):
    """P(t) / Q(t) by Horner's rule, in the precision of ``t``."""
    num = xp.full_like(t, p[0])
    den = xp.full_like(t, q[0])
    for a, b in zip(p[1:], q[1:]):
        num = num * t + t.dtype.type(a)
        den = den * t + t.dtype.type(b)
    return num / den


def _exp_minus_square(y):
    """exp(-y^2) without the error that rounding y*y would amplify.

    y is split as y = h + (y - h) with h = trunc(16 y) / 16, so h*h is exact and the small
    remainder (y - h)(y + h) carries only a tiny relative error into the exponent.
    """
    h = xp.trunc(y * 16) / 16
    return xp.exp(-h * h) * xp.exp(-(y - h) * (y + h))


def _erfc_tail(y):
    """erfc(y) for y > 0.46875 (y is a 1-D array of such values)."""
    out = xp.zeros_like(y)
    middle = y <= _MIDDLE
    ym = y[middle]
    out[middle] = _exp_minus_square(ym) * _rational(_P_MIDDLE, _Q_MIDDLE, ym)
    large = ~middle & (y < _BIG)
    yl = y[large]
    z = 1 / (yl * yl)
    tail = (_INV_SQRT_PI - z * _rational(_P_LARGE, _Q_LARGE, z)) / yl
    out[large] = _exp_minus_square(yl) * tail
    out[xp.isnan(y)] = xp.nan
    return out


def _work_array(x):
    """A float array to compute in (float16 is promoted to float32) and the output dtype."""
    x = xp.asarray(x)
    out_dtype = x.dtype if x.dtype.kind == "f" else xp.dtype(floatx())
    work = xp.float32 if out_dtype == xp.float16 else out_dtype
    return x.astype(work, copy=False), out_dtype


def erf(x):
    """The error function, (2 / sqrt(pi)) * integral from 0 to x of exp(-t^2) dt.

    Args:
        x: an array (or number); integer input becomes floatx.

    Returns:
        An array of the input's float dtype, accurate to a few ulps (float64 relative
        error below about 1e-15 against ``math.erf``).

    Example:
        >>> from lapenna.backend.special import erf
        >>> round(float(erf(0.5)), 6)
        0.5205
    """
    x, out_dtype = _work_array(x)
    flat = x.reshape(-1)
    y = xp.abs(flat)
    out = xp.empty_like(flat)
    small = y <= _SMALL
    xs = flat[small]
    out[small] = xs * _rational(_P_SMALL, _Q_SMALL, xs * xs)
    rest = ~small
    # 0.5 - erfc + 0.5 keeps the last bit that 1 - erfc would round away near erfc = 0.5
    tail = (flat.dtype.type(0.5) - _erfc_tail(y[rest])) + flat.dtype.type(0.5)
    out[rest] = xp.copysign(tail, flat[rest])
    return out.reshape(x.shape).astype(out_dtype, copy=False)


def erfc(x):
    """The complementary error function 1 - erf(x), accurate also where it is tiny.

    Args:
        x: an array (or number); integer input becomes floatx.

    Returns:
        An array of the input's float dtype.

    Example:
        >>> from lapenna.backend.special import erfc
        >>> float(erfc(10.0)) > 0
        True
    """
    x, out_dtype = _work_array(x)
    flat = x.reshape(-1)
    y = xp.abs(flat)
    out = xp.empty_like(flat)
    small = y <= _SMALL
    xs = flat[small]
    out[small] = 1 - xs * _rational(_P_SMALL, _Q_SMALL, xs * xs)
    rest = ~small
    upper = _erfc_tail(y[rest])
    out[rest] = xp.where(flat[rest] < 0, 2 - upper, upper)
    return out.reshape(x.shape).astype(out_dtype, copy=False)

"""Convolutions with few output channels as products with a banded kernel.

im2col turns a convolution into ``cols (rows, taps*C) @ w (taps*C, out)``. With few
output channels (LeNet's 6 and 16) that product is only ``out`` columns wide, BLAS runs
far below its peak, and each row of ``cols`` is short runs of ``C`` channels.

Along the last spatial axis the same convolution can be written for ``b`` neighbouring
outputs at once. Their windows together span ``span = (b - 1) * stride + (k - 1) *
dilation + 1`` input positions, and on that span the kernel acts as a block-Toeplitz
(banded) matrix ``(span * C, b * out)``: block ``(u, o)`` is ``w[j]`` where
``u = o * stride + j * dilation``, and zero elsewhere. So the convolution is an ordinary
one whose last axis has a kernel ``span`` wide, a stride of ``b * stride``, no dilation,
and ``b * out`` output channels; its output ``(..., W / b, b * out)`` is the wanted
``(..., W, out)`` as it lies in memory. The product is ``b`` times wider and its rows
are contiguous runs of ``span * C``; it multiplies ``span / k`` times as many numbers
(the zeros of the band), which is why ``b`` is kept small.

The kernel gradient is the same product transposed, folded back onto the band's
diagonals (``fold``); the input gradient adds each window's ``span * C`` values to the
input in one slice per kernel row (``conv.py``).
"""

from lapenna.backend.device import xp

# a band is used when the kernel is narrower than this many output channels, and made
# about this wide (b * out) for the forward product and the kernel gradient...
_MIN_COLUMNS = 32
# ...and about this wide for the input gradient, whose product sums over those columns:
# it is used there when it sums over at least _MIN_COLUMNS of them, or when the plain
# col2im's products would sum over fewer than _FEW_SUMMED (a few outer products)
GRAD_COLUMNS = 128
_FEW_SUMMED = 8
# but never multiplying more than this many times the numbers of the plain product, and
# less for kernels narrower than _WIDE_KERNEL (measured: their plain products lose less)
_MAX_GROWTH = 2.5
_MAX_GROWTH_NARROW = 1.5
_WIDE_KERNEL = 5
# a window of the banded im2col is one contiguous run of span * C values: shorter runs
# copy slower than the plain im2col's (which lays one input channel's row out at once)
_MIN_RUN = 8


def span(b, kernel, stride, dilation):
    """Input positions covered by ``b`` neighbouring windows along one axis."""
    return (b - 1) * stride + (kernel - 1) * dilation + 1


def width(
    kernel, channels, out_channels, out_size, strides, dilation, groups, columns=_MIN_COLUMNS
):
    """How many neighbouring outputs of the last spatial axis to compute at once, ``b``,
    or ``None`` when the plain product is the better one.

    ``b`` divides the output's last axis, makes ``b * out_channels`` reach ``columns``
    (or comes as close as the axis allows) and keeps the extra work under the growth
    limit; with ``channels`` input channels, its windows (``span * channels`` values)
    must be at least ``_MIN_RUN`` long.
    """
    k, s, d, w = kernel[-1], strides[-1], dilation[-1], out_size[-1]
    if groups != 1 or out_channels >= _MIN_COLUMNS or k < 2:
        return None
    growth = _MAX_GROWTH if k >= _WIDE_KERNEL else _MAX_GROWTH_NARROW
    best = None
    for b in range(2, w + 1):
        if w % b:
            continue
        if span(b, k, s, d) > growth * k:
            break
        if span(b, k, s, d) * channels < _MIN_RUN:
            continue
        best = b
        if b * out_channels >= columns:
            break
    return best


def grad_width(kernel, channels, out_channels, out_size, strides, dilation, groups):
    """``width`` for the input gradient's banded product, or ``None``."""
    b = width(kernel, channels, out_channels, out_size, strides, dilation, groups, GRAD_COLUMNS)
    if b is None or (b * out_channels < _MIN_COLUMNS and out_channels >= _FEW_SUMMED):
        return None
    return b


def geometry(kernel, strides, dilation, b):
    """Kernel size, strides and dilation of the banded convolution."""
    reach = span(b, kernel[-1], strides[-1], dilation[-1])
    return (*kernel[:-1], reach), (*strides[:-1], b * strides[-1]), (*dilation[:-1], 1)


def expand(w, b, stride, dilation):
    """The banded kernel ``(*k_lead, span, C, b * out)`` of ``w (*k_lead, k, C, out)``."""
    *lead, k, c, out = w.shape
    reach = span(b, k, stride, dilation)
    band = xp.zeros((*lead, reach, c, b, out), dtype=w.dtype)
    for o in range(b):
        start = o * stride
        band[..., start : start + (k - 1) * dilation + 1 : dilation, :, o, :] = w
    return band.reshape(*lead, reach, c, b * out)


def fold(band, b, k, stride, dilation):
    """Adjoint of ``expand``: sum each diagonal of the band back into ``(*k_lead, k, C,
    out)``, the kernel gradient from the banded kernel's gradient."""
    *lead, reach, c, cols = band.shape
    band = band.reshape(*lead, reach, c, b, cols // b)
    w = xp.zeros((*lead, k, c, cols // b), dtype=band.dtype)
    for o in range(b):
        start = o * stride
        w += band[..., start : start + (k - 1) * dilation + 1 : dilation, :, o, :]
    return w

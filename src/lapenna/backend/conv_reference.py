"""The reference convolution: im2col, one GEMM, col2im. Read this file to see how a
convolution becomes a matrix product.

A convolution of spatial rank r takes ``x`` of shape ``(N, *spatial, C)`` (channels last)
and a kernel ``w`` of shape ``(*k, C // groups, out)`` (Keras layout). Padding is explicit:
one ``(before, after)`` pair per spatial axis, where a negative entry crops.

1. **im2col.** Every window of the padded input becomes one row of a matrix ``cols``
   ``(N * prod(out), prod(k) * C/g)`` per group. The windows are a strided *view* of the
   input (:func:`windows`), so gathering them is one copy, with no Python loop over
   samples, pixels or channels.
2. **GEMM.** The kernel reshapes to ``(prod(k) * C/g, out/g)`` per group, and
   ``y = cols @ w`` is the convolution, one output position per row.
3. **Backward** is two more GEMMs: ``dw = cols.T @ dy`` (the kernel gradient) and
   ``dcols = dy @ w.T``; **col2im** folds ``dcols`` back onto the input by adding each
   kernel tap's column block into one shifted, strided slice of the padded input (the
   adjoint of the im2col copy). The input gradient is also the transposed convolution.

These functions are short and slow on purpose (one big buffer, no threads). The kernels
that run are chosen by the selection table in ``conv.py``; every one of them computes
exactly these three maps, and the tests compare each with this file.
"""

import math

from lapenna.backend.device import strided_view, xp
from lapenna.backend.taps import tap_slices


def conv_output_size(size, kernel, strides, pads, dilation):
    """Output spatial size of a convolution with explicit ``(before, after)`` pads."""
    return tuple(
        (n + b + a - (k - 1) * d - 1) // s + 1
        for n, k, s, (b, a), d in zip(size, kernel, strides, pads, dilation)
    )


def pad_spatial(x, pads):
    """Zero-pad the spatial axes of a channels-last array; negative pads crop instead."""
    spatial = x.shape[1:-1]
    crop = tuple(slice(max(-b, 0), n - max(-a, 0)) for n, (b, a) in zip(spatial, pads))
    x = x[(slice(None), *crop)]
    grow = [(max(b, 0), max(a, 0)) for b, a in pads]
    if not any(b or a for b, a in grow):
        return x
    shape = (x.shape[0], *(n + b + a for n, (b, a) in zip(x.shape[1:-1], grow)), x.shape[-1])
    out = xp.zeros(shape, dtype=x.dtype)
    out[(slice(None), *(slice(b, b + n) for n, (b, _) in zip(x.shape[1:-1], grow)))] = x
    return out


def windows(x, kernel, strides, dilation, groups=1):
    """Read-only view ``(N, *out, *kernel, groups, C // groups)`` of every window of ``x``.

    ``x`` is already padded; window ``o`` along an axis starts at ``o * stride`` and takes
    every ``dilation``-th element. No data is copied.
    """
    n, *size, c = x.shape
    out = conv_output_size(size, kernel, strides, [(0, 0)] * len(size), dilation)
    st = x.strides
    shape = (n, *out, *kernel, groups, c // groups)
    steps = (
        st[0],
        *(st[1 + i] * s for i, s in enumerate(strides)),
        *(st[1 + i] * d for i, d in enumerate(dilation)),
        st[-1] * (c // groups),
        st[-1],
    )
    return strided_view(x, shape, steps, writeable=False)


def group_kernel(w, groups):
    """The kernel ``(*k, C/g, out)`` as one matrix per group, ``(groups, k*C/g, out/g)``."""
    taps = math.prod(w.shape[:-2])
    cg, out = w.shape[-2:]
    w = w.reshape(taps, cg, groups, out // groups).transpose(2, 0, 1, 3)
    return w.reshape(groups, taps * cg, out // groups)


def im2col(xpad, kernel, strides, dilation, groups=1):
    """Every window of the padded ``xpad`` as a row: ``(groups, N * prod(out), k*C/g)``,
    columns ordered (tap, channel) like :func:`group_kernel`'s rows."""
    view = windows(xpad, kernel, strides, dilation, groups)
    r = len(kernel)
    order = (*range(r + 1), 2 * r + 1, *range(r + 1, 2 * r + 1), 2 * r + 2)
    rows = math.prod(view.shape[: r + 1])
    return view.transpose(order).reshape(rows, groups, -1).transpose(1, 0, 2)


def col2im(dcols, padded_shape, kernel, strides, dilation, out_size):
    """The adjoint of :func:`im2col`: add each tap's block of ``dcols``
    ``(taps, N, *out, C)`` into its shifted, strided slice of a zero padded input."""
    dxpad = xp.zeros(padded_shape, dtype=dcols.dtype)
    for t, index in tap_slices(kernel, strides, dilation, out_size):
        dxpad[index] += dcols[t]
    return dxpad


def forward(x, w, strides, pads, dilation, groups=1):
    """``y = conv(x, w)``: im2col, then one GEMM per group. Returns ``(N, *out, out_ch)``."""
    kernel, cout = w.shape[:-2], w.shape[-1]
    xpad = pad_spatial(x, pads)
    out_size = conv_output_size(xpad.shape[1:-1], kernel, strides, [(0, 0)] * len(kernel), dilation)
    y = im2col(xpad, kernel, strides, dilation, groups) @ group_kernel(w, groups)
    return y.transpose(1, 0, 2).reshape(x.shape[0], *out_size, cout)


def kernel_grad(x, dy, kernel, strides, pads, dilation, groups=1):
    """``dw = cols.T @ dy`` per group, reshaped to the kernel's ``(*k, C/g, out)``."""
    cout = dy.shape[-1]
    cols = im2col(pad_spatial(x, pads), kernel, strides, dilation, groups)
    dy_g = dy.reshape(-1, groups, cout // groups).transpose(1, 0, 2)
    dw = cols.transpose(0, 2, 1) @ dy_g  # (groups, taps * C/g, out/g)
    cg = x.shape[-1] // groups
    dw = dw.reshape(groups, math.prod(kernel), cg, cout // groups).transpose(1, 2, 0, 3)
    return dw.reshape(*kernel, cg, cout)


def input_grad(dy, w, size, strides, pads, dilation, groups=1):
    """``dcols = dy @ w.T`` per group, folded back by col2im and cropped to ``size``."""
    kernel, (cg, cout) = w.shape[:-2], w.shape[-2:]
    n, out_size, taps = dy.shape[0], dy.shape[1:-1], math.prod(kernel)
    dy_g = dy.reshape(-1, groups, cout // groups).transpose(1, 0, 2)
    dcols = dy_g @ group_kernel(w, groups).transpose(0, 2, 1)  # (groups, rows, taps * C/g)
    dcols = dcols.reshape(groups, n, *out_size, taps, cg)
    dcols = xp.moveaxis(dcols, (-2, 0), (0, -2)).reshape(taps, n, *out_size, groups * cg)
    padded = (n, *(m + b + a for m, (b, a) in zip(size, pads)), groups * cg)
    dxpad = col2im(dcols, padded, kernel, strides, dilation, out_size)
    return pad_spatial(dxpad, [(-b, -a) for b, a in pads])

"""Convolution kernels on channels-last arrays: window views, GEMMs and col2im.

A convolution of spatial rank r takes ``x`` of shape ``(N, *spatial, C)`` and a kernel of
shape ``(*k, C // groups, out)`` (Keras layout). Padding is explicit here: one
``(before, after)`` pair per spatial axis, where a negative entry crops. There are three
kernels, one per linear map of the convolution:

- ``conv_forward(x, w)``: every window of the padded input becomes a row of a matrix
  (im2col, a copy of a strided view) and one GEMM per group multiplies it by the kernel;
- ``conv_input_grad(dy, w)``: the adjoint in ``x``, i.e. the transposed convolution: one
  GEMM per kernel offset gives each offset's contribution as a contiguous block, and
  col2im adds the ``prod(k)`` blocks into shifted, strided slices of the padded input;
- ``conv_kernel_grad(x, dy)``: the adjoint in the kernel: im2col again, then one GEMM.

Work is done a few samples at a time so the im2col buffer stays in cache and memory stays
flat; 3x3 stride-1 convolutions go through Winograd's algorithm instead (``winograd``),
and convolutions with few output channels multiply by a banded kernel that computes a few
neighbouring outputs per row of the product (``banded``).
"""

import math

import numpy as xp
from numpy.lib.stride_tricks import as_strided

from lapenna.backend import banded, depthwise, elementwise, parallel, trace, winograd
from lapenna.backend.taps import tap_slices

# im2col buffers are filled for as many samples as fit in this many bytes (but at least
# _MIN_ROWS output positions, below which the GEMMs lose efficiency)
_CHUNK_BYTES = 1 << 22
_MIN_ROWS = 4096
# at most this many channels per group, im2col puts the kernel taps outermost
_FEW_CHANNELS = 4


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
    return as_strided(x, shape, steps, writeable=False)


def _chunk(n, out_size, row_bytes):
    """Samples per chunk: a buffer of about _CHUNK_BYTES, but at least _MIN_ROWS rows."""
    per_sample = math.prod(out_size)
    minimum = -(-_MIN_ROWS // max(per_sample, 1))
    return parallel.chunk_size(n, per_sample * row_bytes, _CHUNK_BYTES, minimum)


def _im2col(view, groups, rows_major=False):
    """Copy a chunk of windows into one matrix per group, ``(groups, rows, k*C/g)``.

    With few channels per group the copy runs faster with the kernel taps outermost
    (contiguous runs along the output row instead of runs of a few channels); the GEMMs
    then read the matrices transposed, which BLAS does for free. ``rows_major`` keeps
    one window per row regardless (a banded kernel's windows are long contiguous runs).
    """
    r = (view.ndim - 3) // 2
    rows = math.prod(view.shape[: r + 1])
    if view.shape[-1] <= _FEW_CHANNELS and not rows_major:
        order = (2 * r + 1, *range(r + 1, 2 * r + 1), 2 * r + 2, *range(r + 1))
        buf = xp.empty([view.shape[i] for i in order], dtype=view.dtype)
        xp.copyto(buf, view.transpose(order))
        return buf.reshape(groups, -1, rows).transpose(0, 2, 1)
    order = (*range(r + 1), 2 * r + 1, *range(r + 1, 2 * r + 1), 2 * r + 2)
    # a reshape copies only when it must (a 1x1 stride-1 convolution needs no copy)
    return view.transpose(order).reshape(rows, groups, -1).transpose(1, 0, 2)


def _copies(view, strides, rows_major):
    """Whether ``_im2col`` copies (a 1x1 stride-1 kernel's matrix is a reshape)."""
    r = (view.ndim - 3) // 2
    few = view.shape[-1] <= _FEW_CHANNELS and not rows_major
    return few or math.prod(view.shape[r + 1 : 2 * r + 1]) > 1 or any(s != 1 for s in strides)


def _depthwise(w, groups):
    """One input channel per group: tap-by-tap products beat im2col (``depthwise``)."""
    return groups > 1 and w.shape[-2] == 1


def _group_kernel(w, groups):
    """The kernel ``(*k, C/g, out)`` as one matrix per group, ``(groups, k*C/g, out/g)``."""
    taps = math.prod(w.shape[:-2])
    cg, out = w.shape[-2:]
    w = w.reshape(taps, cg, groups, out // groups).transpose(2, 0, 1, 3)
    return w.reshape(groups, taps * cg, out // groups)


def conv_forward(x, w, strides, pads, dilation, groups=1, bias=None, relu=False):
    """Cross-correlation of ``x (N, *spatial, C)`` with ``w (*k, C/g, out)``, plus
    ``bias (out,)`` and then a ReLU when asked, applied to each chunk while it is in cache.

    Returns an array ``(N, *out_spatial, out)`` of ``x``'s dtype.
    """
    kernel, cout = w.shape[:-2], w.shape[-1]
    if winograd.applies(x.shape, w.shape, strides, dilation, groups):
        return elementwise.epilogue_(winograd.conv3x3(x, w, pads), bias, relu)
    xpad = pad_spatial(x, pads)
    if _depthwise(w, groups):
        return elementwise.epilogue_(depthwise.forward(xpad, w, strides, dilation), bias, relu)
    size = conv_output_size(xpad.shape[1:-1], kernel, strides, [(0, 0)] * len(kernel), dilation)
    b = banded.width(kernel, x.shape[-1], cout, size, strides, dilation, groups)
    if b is None:
        return _forward_im2col(xpad, w, strides, dilation, groups, bias, relu)
    band_kernel, band_strides, band_dilation = banded.geometry(kernel, strides, dilation, b)
    trace.note(f"banded kernel: {b} neighbouring outputs per row, {band_kernel} windows")
    band = banded.expand(w, b, strides[-1], dilation[-1])
    bias = None if bias is None else xp.tile(bias, b)
    y = _forward_im2col(xpad, band, band_strides, band_dilation, 1, bias, relu, rows_major=True)
    return y.reshape(*y.shape[:-2], size[-1], cout)


def _forward_im2col(xpad, w, strides, dilation, groups, bias, relu, rows_major=False):
    """``conv_forward`` of an already padded input by im2col and one GEMM per group."""
    kernel = w.shape[:-2]
    view = windows(xpad, kernel, strides, dilation, groups)
    n, out_size, cout = xpad.shape[0], view.shape[1 : len(kernel) + 1], w.shape[-1]
    out = xp.empty((n, *out_size, cout), dtype=xpad.dtype)
    rows = out.reshape(-1, groups, cout // groups)
    wg = _group_kernel(w, groups)
    per = math.prod(out_size)
    step = _chunk(n, out_size, math.prod(view.shape[len(kernel) + 1 :]) * xpad.itemsize)
    trace.im2col(view.shape, len(kernel), xpad.itemsize, _copies(view, strides, rows_major))
    trace.gemm("im2col(X)", "W", "Y", n * per, wg.shape[1], wg.shape[2], groups, xpad.itemsize)
    trace.epilogue(out.shape, out.itemsize, bias, relu)

    def chunk(start, stop):
        cols = _im2col(view[start:stop], groups, rows_major)
        xp.matmul(cols, wg, out=rows[start * per : stop * per].transpose(1, 0, 2))
        elementwise.bias_relu_(out[start:stop], bias, relu)

    parallel.map_chunks(chunk, n, step)
    return out


def conv_kernel_grad(x, dy, kernel, strides, pads, dilation, groups=1):
    """Gradient of ``sum(dy * conv_forward(x, w))`` with respect to ``w``: ``(*k, C/g, out)``."""
    if winograd.applies(x.shape, (*kernel, dy.shape[-1]), strides, dilation, groups):
        return winograd.kernel_grad3x3(x, dy, pads)
    xpad = pad_spatial(x, pads)
    if groups > 1 and x.shape[-1] == groups:
        return depthwise.kernel_grad(xpad, dy, kernel, strides, dilation)
    cout = dy.shape[-1]
    b = banded.width(kernel, x.shape[-1], cout, dy.shape[1:-1], strides, dilation, groups)
    if b is None:
        return _kernel_grad_im2col(xpad, dy, kernel, strides, dilation, groups)
    band_kernel, band_strides, band_dilation = banded.geometry(kernel, strides, dilation, b)
    dy = dy.reshape(*dy.shape[:-2], dy.shape[-2] // b, b * cout)
    trace.note(f"banded kernel: {b} neighbouring outputs per row, {band_kernel} windows")
    band = _kernel_grad_im2col(xpad, dy, band_kernel, band_strides, band_dilation, 1, True)
    return banded.fold(band, b, kernel[-1], strides[-1], dilation[-1])


def _kernel_grad_im2col(xpad, dy, kernel, strides, dilation, groups, rows_major=False):
    """``conv_kernel_grad`` of an already padded input: im2col, then one GEMM per group."""
    view = windows(xpad, kernel, strides, dilation, groups)
    n, out_size, cout = xpad.shape[0], dy.shape[1:-1], dy.shape[-1]
    dy_rows = dy.reshape(-1, groups, cout // groups)
    per = math.prod(out_size)
    step = _chunk(n, out_size, math.prod(view.shape[len(kernel) + 1 :]) * xpad.itemsize)
    k = math.prod(view.shape[len(kernel) + 1 :]) // groups
    trace.im2col(view.shape, len(kernel), xpad.itemsize, _copies(view, strides, rows_major))
    trace.gemm("im2col(X)^T", "dY", "dW", k, n * per, cout // groups, groups, xpad.itemsize)

    def chunk(start, stop):
        cols = _im2col(view[start:stop], groups, rows_major)
        return xp.matmul(
            cols.transpose(0, 2, 1), dy_rows[start * per : stop * per].transpose(1, 0, 2)
        )

    cg = xpad.shape[-1] // groups
    dw = xp.zeros((groups, math.prod(kernel) * cg, cout // groups), dtype=xpad.dtype)
    for part in parallel.map_chunks(chunk, n, step):
        dw += part
    dw = dw.reshape(groups, math.prod(kernel), cg, cout // groups).transpose(1, 2, 0, 3)
    return xp.ascontiguousarray(dw.reshape(*kernel, cg, cout))


def conv_input_grad(dy, w, size, strides, pads, dilation, groups=1):
    """Gradient of ``sum(dy * conv_forward(x, w))`` with respect to ``x`` of spatial ``size``.

    This is also the transposed convolution of ``dy`` (the adjoint of the forward map).
    Returns ``(N, *size, C)``.
    """
    kernel, (cg, cout) = w.shape[:-2], w.shape[-2:]
    flipped_shape = (*dy.shape[:-1], cout // groups * groups)
    if all(s == 1 for s in strides) and winograd.applies(
        flipped_shape, (*kernel, cout, cg * groups), strides, dilation, groups
    ):
        return _input_grad_by_correlation(dy, w, size, pads, dilation, groups)
    b = banded.grad_width(kernel, cg, cout, dy.shape[1:-1], strides, dilation, groups)
    if b is not None:
        return _input_grad_banded(dy, w, size, strides, pads, dilation, b)
    return _input_grad_col2im(dy, w, size, strides, pads, dilation, groups)


def _input_grad_banded(dy, w, size, strides, pads, dilation, b):
    """The adjoint of the banded forward product (``banded``): one GEMM gives each block
    of ``b`` outputs' contribution to its whole window, ``span * C`` contiguous values per
    kernel row, and col2im adds them in one slice per kernel row and set of blocks whose
    windows do not overlap."""
    kernel, (cin, cout) = w.shape[:-2], w.shape[-2:]
    n, out_size = dy.shape[0], dy.shape[1:-1]
    padded = tuple(m + lo + hi for m, (lo, hi) in zip(size, pads))
    reach = banded.span(b, kernel[-1], strides[-1], dilation[-1])
    lead = math.prod(kernel[:-1])
    band = banded.expand(w, b, strides[-1], dilation[-1])
    wt = band.reshape(lead * reach * cin, b * cout).T
    blocks, jump = out_size[-1] // b, b * strides[-1]
    # blocks this many apart have windows that do not overlap
    every = -(-reach // jump)
    dy_rows = dy.reshape(-1, b * cout)
    per = math.prod(out_size[:-1]) * blocks
    step = _chunk(n, (*out_size[:-1], blocks), lead * reach * cin * dy.itemsize)
    dxpad = xp.empty((n, *padded, cin), dtype=dy.dtype)
    trace.note(f"banded kernel: {b} neighbouring outputs per row of dY")
    trace.gemm("dY", "W_band^T", "dcols", n * per, wt.shape[0], wt.shape[1], 1, dy.itemsize)
    trace.col2im(n * per, wt.shape[1], dxpad.nbytes, dy.itemsize)

    def chunk(start, stop):
        contrib = xp.matmul(dy_rows[start * per : stop * per], wt)
        contrib = contrib.reshape(stop - start, *out_size[:-1], blocks, lead, reach, cin)
        block = dxpad[start:stop]
        block[...] = 0
        for first in range(every):
            # the windows of blocks first, first + every, ...: (N, *padded_lead, count, span, C)
            origin = block[..., first * jump :, :]
            st = origin.strides
            spans = as_strided(
                origin,
                (*origin.shape[:-2], len(range(first, blocks, every)), reach, cin),
                (*st[:-2], st[-2] * jump * every, st[-2], st[-1]),
            )
            for t, index in tap_slices(kernel[:-1], strides[:-1], dilation[:-1], out_size[:-1]):
                target = spans[index]
                xp.add(target, contrib[..., first::every, t, :, :], out=target)

    parallel.map_chunks(chunk, n, step)
    return pad_spatial(dxpad, [(-lo, -hi) for lo, hi in pads])


def _input_grad_col2im(dy, w, size, strides, pads, dilation, groups):
    """One GEMM per kernel offset (and group) gives that offset's contribution to every
    input position as a contiguous block; col2im adds the blocks into strided slices."""
    kernel, (cg, cout) = w.shape[:-2], w.shape[-2:]
    n, out_size = dy.shape[0], dy.shape[1:-1]
    padded = tuple(m + b + a for m, (b, a) in zip(size, pads))
    if _depthwise(w, groups):
        dxpad = depthwise.input_grad(dy, w, padded, groups, strides, dilation)
        return pad_spatial(dxpad, [(-b, -a) for b, a in pads])
    if groups == 1 and not any(any(p) for p in pads) and tuple(size) == tuple(out_size):
        # a 1x1 kernel at stride 1 without padding: one GEMM, nothing to scatter
        trace.gemm("dY", "W^T", "dX", dy.size // cout, cout, cg, 1, dy.itemsize)
        dx = parallel.matmul(dy.reshape(-1, cout), w.reshape(cg, cout).T)
        return dx.reshape(n, *size, cg)
    # zeroed chunk by chunk in the workers, just before the chunk's blocks are added in
    dxpad = xp.empty((n, *padded, cg * groups), dtype=dy.dtype)
    taps = math.prod(kernel)
    wt = w.reshape(taps, cg, groups, cout // groups).transpose(0, 2, 3, 1)
    dy_rows = dy.reshape(-1, groups, cout // groups)
    per = math.prod(out_size)
    step = _chunk(n, out_size, taps * cg * groups * dy.itemsize)
    trace.gemm("dY", "W^T", "dcols", n * per, cout // groups, cg, taps * groups, dy.itemsize)
    trace.col2im(n * per * taps, cg * groups, dxpad.nbytes, dy.itemsize)

    def chunk(start, stop):
        dcols = xp.empty((taps, (stop - start) * per, groups, cg), dtype=dy.dtype)
        dy_g = dy_rows[start * per : stop * per].transpose(1, 0, 2)
        xp.matmul(dy_g[None], wt, out=dcols.transpose(0, 2, 1, 3))
        block = dxpad[start:stop]
        block[...] = 0
        for t, index in tap_slices(kernel, strides, dilation, out_size):
            target = block[index]
            xp.add(target, dcols[t].reshape(target.shape), out=target)

    parallel.map_chunks(chunk, n, step)
    return pad_spatial(dxpad, [(-b, -a) for b, a in pads])


def _input_grad_by_correlation(dy, w, size, pads, dilation, groups):
    """Stride 1: the input gradient is a correlation of the padded ``dy`` with the kernel
    flipped in space and with input and output channels swapped within each group."""
    kernel, (cg, cout) = w.shape[:-2], w.shape[-2:]
    og = cout // groups
    flipped = w[tuple(slice(None, None, -1) for _ in kernel)]
    flipped = flipped.reshape(*kernel, cg, groups, og).swapaxes(-3, -1)
    flipped = xp.ascontiguousarray(flipped).reshape(*kernel, og, groups * cg)
    reach = [(k - 1) * d for k, d in zip(kernel, dilation)]
    # with stride 1 the padded input is exactly out + reach long, so padding dy by the
    # reach on both sides and cropping the input's own padding gives the input's size
    full = [(r - b, r - a) for r, (b, a) in zip(reach, pads)]
    trace.note("stride 1: dX is dY convolved with the flipped, transposed kernel")
    return conv_forward(dy, flipped, (1,) * len(kernel), full, dilation, groups)

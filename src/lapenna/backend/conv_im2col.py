"""The im2col paths that run: the reference of ``conv_reference.py``, done a few samples
at a time, in parallel, and, with few output channels, on a banded kernel.

Chunking keeps each im2col buffer (a few MiB) in cache while its GEMM runs, keeps memory
flat, and lets the chunks run on all cores at once, each with single-threaded BLAS
(``parallel``). The forward applies the bias and the ReLU to each chunk while it is still
in cache. ``conv.py``'s selection table says when each function here is used.
"""

import math

from lapenna.backend import banded, elementwise, parallel, trace
from lapenna.backend.conv_reference import group_kernel, windows
from lapenna.backend.device import strided_view, xp
from lapenna.backend.taps import tap_slices

# im2col buffers are filled for as many samples as fit in this many bytes (but at least
# _MIN_ROWS output positions, below which the GEMMs lose efficiency)
_CHUNK_BYTES = 1 << 22
_MIN_ROWS = 4096
# at most this many channels per group, im2col puts the kernel taps outermost
_FEW_CHANNELS = 4


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


def forward(xpad, w, strides, dilation, groups, bias, relu, rows_major=False):
    """The forward of an already padded input by im2col and one GEMM per group."""
    kernel = w.shape[:-2]
    view = windows(xpad, kernel, strides, dilation, groups)
    n, out_size, cout = xpad.shape[0], view.shape[1 : len(kernel) + 1], w.shape[-1]
    out = xp.empty((n, *out_size, cout), dtype=xpad.dtype)
    rows = out.reshape(-1, groups, cout // groups)
    wg = group_kernel(w, groups)
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


def kernel_grad(xpad, dy, kernel, strides, dilation, groups, rows_major=False):
    """The kernel gradient of an already padded input: im2col, then one GEMM per group."""
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


def input_grad(dy, w, padded, strides, dilation, groups):
    """One GEMM per kernel offset (and group) gives that offset's contribution to every
    input position as a contiguous block; col2im adds the blocks into strided slices.
    Returns the gradient of the padded input, ``(N, *padded, C)``."""
    kernel, (cg, cout) = w.shape[:-2], w.shape[-2:]
    n, out_size = dy.shape[0], dy.shape[1:-1]
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
    return dxpad


# -- the banded kernel (few output channels; see ``banded``) --------------------------------


def forward_banded(xpad, w, strides, dilation, b, bias, relu):
    """The forward as a product with the banded kernel of ``b`` neighbouring outputs."""
    kernel, cout = w.shape[:-2], w.shape[-1]
    band_kernel, band_strides, band_dilation = banded.geometry(kernel, strides, dilation, b)
    trace.note(f"banded kernel: {b} neighbouring outputs per row, {band_kernel} windows")
    band = banded.expand(w, b, strides[-1], dilation[-1])
    bias = None if bias is None else xp.tile(bias, b)
    y = forward(xpad, band, band_strides, band_dilation, 1, bias, relu, rows_major=True)
    return y.reshape(*y.shape[:-2], y.shape[-2] * b, cout)


def kernel_grad_banded(xpad, dy, kernel, strides, dilation, b):
    """The banded product transposed, folded back onto the band's diagonals."""
    band_kernel, band_strides, band_dilation = banded.geometry(kernel, strides, dilation, b)
    dy = dy.reshape(*dy.shape[:-2], dy.shape[-2] // b, b * dy.shape[-1])
    trace.note(f"banded kernel: {b} neighbouring outputs per row, {band_kernel} windows")
    band = kernel_grad(xpad, dy, band_kernel, band_strides, band_dilation, 1, True)
    return banded.fold(band, b, kernel[-1], strides[-1], dilation[-1])


def input_grad_banded(dy, w, padded, strides, dilation, b):
    """The adjoint of the banded forward product: one GEMM gives each block of ``b``
    outputs' contribution to its whole window, ``span * C`` contiguous values per kernel
    row, and col2im adds them in one slice per kernel row and set of blocks whose windows
    do not overlap. Returns the gradient of the padded input."""
    kernel, (cin, cout) = w.shape[:-2], w.shape[-2:]
    n, out_size = dy.shape[0], dy.shape[1:-1]
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
            spans = strided_view(
                origin,
                (*origin.shape[:-2], len(range(first, blocks, every)), reach, cin),
                (*st[:-2], st[-2] * jump * every, st[-2], st[-1]),
            )
            for t, index in tap_slices(kernel[:-1], strides[:-1], dilation[:-1], out_size[:-1]):
                target = spans[index]
                xp.add(target, contrib[..., first::every, t, :, :], out=target)

    parallel.map_chunks(chunk, n, step)
    return dxpad

"""Depthwise convolution: one group per input channel, computed tap by tap.

With a single input channel per group there is nothing for a GEMM to sum over, so
im2col would copy the input ``prod(k)`` times to feed many thin products. Instead each
kernel tap ``t`` contributes ``x_t * w_t`` to every output, where ``x_t`` is the strided
slice of the padded input that tap reads: ``prod(k)`` broadcast multiply-adds, and the
same slices (added into, or summed against ``dy``) give both gradients.

Shapes: ``x (N, *spatial, C)``, ``w (*k, 1, C * m)`` with output channel ``c * m + j``.
"""

import math

from lapenna.backend import parallel, trace
from lapenna.backend.device import xp
from lapenna.backend.taps import tap_slices

_CHUNK_BYTES = 1 << 20


def _out_size(padded, kernel, strides, dilation):
    return tuple(
        (n - (k - 1) * d - 1) // s + 1 for n, k, s, d in zip(padded, kernel, strides, dilation)
    )


def forward(xpad, w, strides, dilation):
    """Depthwise cross-correlation of an already padded ``xpad``: ``(N, *out, C * m)``."""
    kernel, c = w.shape[:-2], xpad.shape[-1]
    taps = w.reshape(math.prod(kernel), c, -1)
    out_size = _out_size(xpad.shape[1:-1], kernel, strides, dilation)
    out = xp.empty((xpad.shape[0], *out_size, c, taps.shape[-1]), dtype=xpad.dtype)
    _record("forward", len(taps), out.size, xpad.nbytes + w.nbytes, out.nbytes)

    def chunk(start, stop):
        _forward_chunk(xpad[start:stop], taps, kernel, strides, dilation, out[start:stop])

    parallel.map_chunks(chunk, xpad.shape[0], _step(xpad.shape[0], parallel.sample_bytes(out)))
    return out.reshape(*out.shape[:-2], c * taps.shape[-1])


def _record(what, taps, products, read, written):
    """For the recorder: ``taps`` broadcast multiply-adds over ``products`` values each."""
    trace.memory_pass(
        f"depthwise {what}", read, written, 2 * taps * products, f"{taps} taps, no GEMM"
    )


def _step(n, sample_bytes):
    """Samples per chunk, so that a chunk's output stays in cache across the taps."""
    return parallel.chunk_size(n, sample_bytes, _CHUNK_BYTES)


def _forward_chunk(xpad, taps, kernel, strides, dilation, out):
    out[...] = 0
    term = xp.empty_like(out)
    # a trailing axis of length 1 would make numpy's inner loops one element long
    single = taps.shape[-1] == 1
    flat, flat_term = (out[..., 0], term[..., 0]) if single else (out, term)
    for t, index in tap_slices(kernel, strides, dilation, out.shape[1:-2]):
        if single:
            xp.multiply(xpad[index], taps[t, :, 0], out=flat_term)
        else:
            xp.multiply(xpad[index][..., None], taps[t], out=term)
        flat += flat_term


def input_grad(dy, w, padded, channels, strides, dilation):
    """Adjoint in the input over the padded spatial size ``padded``: ``(N, *padded, C)``
    (the caller crops the padding)."""
    kernel = w.shape[:-2]
    taps = w.reshape(math.prod(kernel), channels, -1)
    g = dy.reshape(*dy.shape[:-1], channels, taps.shape[-1])
    dxpad = xp.zeros((dy.shape[0], *padded, channels), dtype=dy.dtype)
    _record("input gradient", len(taps), dy.size, dy.nbytes + w.nbytes, dxpad.nbytes)

    def chunk(start, stop):
        block, g_block = dxpad[start:stop], g[start:stop]
        term = xp.empty(g_block.shape[:-1], dtype=dy.dtype)
        for t, index in tap_slices(kernel, strides, dilation, dy.shape[1:-1]):
            if taps.shape[-1] == 1:
                xp.multiply(g_block[..., 0], taps[t, :, 0], out=term)
            else:
                xp.einsum("...cj,cj->...c", g_block, taps[t], out=term)
            target = block[index]
            target += term

    parallel.map_chunks(chunk, dy.shape[0], _step(dy.shape[0], parallel.sample_bytes(dxpad)))
    return dxpad


def kernel_grad(xpad, dy, kernel, strides, dilation):
    """Adjoint in the kernel: ``(*k, 1, C * m)``."""
    channels = xpad.shape[-1]
    out_size = dy.shape[1:-1]
    g = dy.reshape(*dy.shape[:-1], channels, dy.shape[-1] // channels)
    dw = xp.empty((math.prod(kernel), channels, g.shape[-1]), dtype=dy.dtype)
    _record("kernel gradient", len(dw), dy.size, xpad.nbytes + dy.nbytes, dw.nbytes)
    letters = "npqr"[: len(out_size) + 1]
    for t, index in tap_slices(kernel, strides, dilation, out_size):
        dw[t] = xp.einsum(f"{letters}c,{letters}cj->cj", xpad[index], g)
    return dw.reshape(*kernel, 1, -1)

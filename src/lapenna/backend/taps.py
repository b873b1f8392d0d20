"""Kernel taps as strided slices: the shared geometry of convolutions and pools.

Tap ``t`` of a window (an offset in the kernel) reads, for every output position ``o``,
the input at ``o * stride + t * dilation``. Over all outputs at once that is one strided
slice of the padded input with the output's spatial shape, so a window sum or max is a
loop over taps, and a backward pass adds into the same slices (col2im).
"""

import itertools


def tap_slices(kernel, strides, dilation, out_size):
    """``(t, index)`` for every tap, ``index`` selecting ``(N, *out_size, C)`` of the
    padded input; taps come in row-major order."""
    for t, offset in enumerate(itertools.product(*(range(k) for k in kernel))):
        spatial = (
            slice(o * d, o * d + s * (m - 1) + 1, s)
            for o, d, s, m in zip(offset, dilation, strides, out_size)
        )
        yield t, (slice(None), *spatial)

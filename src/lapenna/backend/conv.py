"""Convolution kernels: which path computes each of the three linear maps, and why.

The maths is in ``conv_reference.py`` (im2col, one GEMM, col2im). A convolution has three
linear maps, each with its own entry point here:

- ``conv_forward(x, w)``: the convolution (plus bias and ReLU, fused when asked);
- ``conv_kernel_grad(x, dy)``: its adjoint in the kernel;
- ``conv_input_grad(dy, w)``: its adjoint in the input, which is also the transposed
  convolution.

Each entry point walks its **selection table** below and runs the first path whose test
passes. Every row names the path, when it applies and why it beats the reference there;
the last row applies always. ``tests/test_conv_paths.py`` runs every row against the
reference.
"""

from lapenna.backend import banded, conv_im2col, depthwise, elementwise, parallel, trace, winograd
from lapenna.backend.conv_reference import conv_output_size, pad_spatial, windows
from lapenna.backend.device import xp
from lapenna.backend.paths import Path, select


def _padded_size(size, pads):
    return tuple(m + b + a for m, (b, a) in zip(size, pads))


def _out_size(x, w, strides, pads, dilation):
    return conv_output_size(x.shape[1:-1], w.shape[:-2], strides, pads, dilation)


def _unpad(dxpad, pads):
    return pad_spatial(dxpad, [(-b, -a) for b, a in pads])


# -- conv_forward(x, w, strides, pads, dilation, groups, bias, relu) ------------------------


def _winograd_applies(x_shape, w_shape, strides, pads, dilation, groups, four=False):
    return winograd.applies(x_shape, w_shape, strides, dilation, groups) and (
        winograd.prefers_4x4(x_shape, pads, w_shape[-1]) == four
    )


def _forward_winograd4(x, w, strides, pads, dilation, groups, bias, relu):
    return elementwise.epilogue_(winograd.conv3x3(x, w, pads, winograd.F4x4), bias, relu)


def _forward_winograd(x, w, strides, pads, dilation, groups, bias, relu):
    return elementwise.epilogue_(winograd.conv3x3(x, w, pads, winograd.F2x2), bias, relu)


def _forward_depthwise(x, w, strides, pads, dilation, groups, bias, relu):
    y = depthwise.forward(pad_spatial(x, pads), w, strides, dilation)
    return elementwise.epilogue_(y, bias, relu)


def _band(x, w, strides, pads, dilation, groups):
    size = _out_size(x, w, strides, pads, dilation)
    return banded.width(w.shape[:-2], x.shape[-1], w.shape[-1], size, strides, dilation, groups)


def _forward_banded(x, w, strides, pads, dilation, groups, bias, relu):
    b = _band(x, w, strides, pads, dilation, groups)
    return conv_im2col.forward_banded(pad_spatial(x, pads), w, strides, dilation, b, bias, relu)


def _forward_im2col(x, w, strides, pads, dilation, groups, bias, relu):
    return conv_im2col.forward(pad_spatial(x, pads), w, strides, dilation, groups, bias, relu)


FORWARD = (
    Path(
        "winograd 4x4",
        lambda x, w, s, p, d, g: _winograd_applies(x.shape, w.shape, s, p, d, g, four=True),
        _forward_winograd4,
        "a Winograd case below where the output's 4x4 blocks need 1.5x fewer products than "
        "its 2x2 blocks, tiles are not too few for the channels, and at most 512 channels: "
        "Winograd F(4x4, 3x3) does 4x fewer multiplications, as 36 batched GEMMs",
    ),
    Path(
        "winograd 2x2",
        lambda x, w, s, p, d, g: _winograd_applies(x.shape, w.shape, s, p, d, g),
        _forward_winograd,
        "3x3, stride 1, undilated, ungrouped 2-D with at least 16 channels in and out: "
        "Winograd F(2x2, 3x3) does 2.25x fewer multiplications, as 16 batched GEMMs",
    ),
    Path(
        "depthwise",
        lambda x, w, s, p, d, g: g > 1 and w.shape[-2] == 1,
        _forward_depthwise,
        "one input channel per group: a GEMM per group would be one column wide, so the "
        "taps are multiplied and added as whole strided slices instead",
    ),
    Path(
        "banded",
        lambda x, w, s, p, d, g: _band(x, w, s, p, d, g) is not None,
        _forward_banded,
        "few output channels (LeNet's 6 and 16): a banded kernel computes b neighbouring "
        "outputs per row, so the GEMM is b times wider and its rows contiguous",
    ),
    Path(
        "im2col",
        lambda x, w, s, p, d, g: True,
        _forward_im2col,
        "the reference, a few samples at a time: each im2col buffer stays in cache, the "
        "chunks run on all cores, and bias and ReLU are applied while the chunk is hot",
    ),
)


# -- conv_kernel_grad(x, dy, kernel, strides, pads, dilation, groups) -----------------------


def _kernel_band(x, dy, kernel, strides, pads, dilation, groups):
    return banded.width(
        kernel, x.shape[-1], dy.shape[-1], dy.shape[1:-1], strides, dilation, groups
    )


def _kernel_grad_winograd4(x, dy, kernel, strides, pads, dilation, groups):
    return winograd.kernel_grad3x3(x, dy, pads, winograd.F4x4)


def _kernel_grad_winograd(x, dy, kernel, strides, pads, dilation, groups):
    return winograd.kernel_grad3x3(x, dy, pads, winograd.F2x2)


def _kernel_grad_depthwise(x, dy, kernel, strides, pads, dilation, groups):
    return depthwise.kernel_grad(pad_spatial(x, pads), dy, kernel, strides, dilation)


def _kernel_grad_banded(x, dy, kernel, strides, pads, dilation, groups):
    b = _kernel_band(x, dy, kernel, strides, pads, dilation, groups)
    return conv_im2col.kernel_grad_banded(pad_spatial(x, pads), dy, kernel, strides, dilation, b)


def _kernel_grad_im2col(x, dy, kernel, strides, pads, dilation, groups):
    return conv_im2col.kernel_grad(pad_spatial(x, pads), dy, kernel, strides, dilation, groups)


KERNEL_GRAD = (
    Path(
        "winograd 4x4",
        lambda x, dy, k, s, p, d, g: _winograd_applies(
            x.shape, (*k, dy.shape[-1]), s, p, d, g, four=True
        ),
        _kernel_grad_winograd4,
        "where the forward is Winograd F(4x4, 3x3): the exact adjoint of the same bilinear map",
    ),
    Path(
        "winograd 2x2",
        lambda x, dy, k, s, p, d, g: _winograd_applies(x.shape, (*k, dy.shape[-1]), s, p, d, g),
        _kernel_grad_winograd,
        "where the forward is Winograd F(2x2, 3x3): the exact adjoint of the same bilinear map",
    ),
    Path(
        "depthwise",
        lambda x, dy, k, s, p, d, g: g > 1 and x.shape[-1] == g,
        _kernel_grad_depthwise,
        "one input channel per group: one product and sum per tap, no one-column GEMMs",
    ),
    Path(
        "banded",
        lambda *args: _kernel_band(*args) is not None,
        _kernel_grad_banded,
        "few output channels: the banded product transposed, folded onto the diagonals",
    ),
    Path(
        "im2col",
        lambda *args: True,
        _kernel_grad_im2col,
        "the reference (cols.T @ dy), a few samples at a time on all cores",
    ),
)


# -- conv_input_grad(dy, w, size, strides, pads, dilation, groups) --------------------------


def _flipped(dy, w, pads, dilation):
    """The correlation that is the input gradient at stride 1: ``dy``'s shape with the
    flipped kernel's channels, that kernel's shape, and the padding of ``dy``."""
    kernel, (cg, cout) = w.shape[:-2], w.shape[-2:]
    reach = [(k - 1) * d for k, d in zip(kernel, dilation)]
    # with stride 1 the padded input is exactly out + reach long, so padding dy by the
    # reach on both sides and cropping the input's own padding gives the input's size
    full = [(r - b, r - a) for r, (b, a) in zip(reach, pads)]
    return (*kernel, cout, cg), full


def _flipped_applies(dy, w, size, strides, pads, dilation, groups, four=False):
    w_shape, full = _flipped(dy, w, pads, dilation)
    return (
        groups == 1
        and all(s == 1 for s in strides)
        and _winograd_applies(dy.shape, w_shape, strides, full, dilation, groups, four)
    )


def _input_grad_by_correlation(dy, w, size, strides, pads, dilation, groups, f):
    """Stride 1: the input gradient is a correlation of the padded ``dy`` with the kernel
    flipped in space and with input and output channels swapped."""
    _, full = _flipped(dy, w, pads, dilation)
    flipped = xp.ascontiguousarray(w[::-1, ::-1].swapaxes(-2, -1))
    trace.note("stride 1: dX is dY convolved with the flipped, transposed kernel")
    return winograd.conv3x3(dy, flipped, full, f)


def _input_grad_by_correlation4(*args):
    return _input_grad_by_correlation(*args, winograd.F4x4)


def _input_grad_by_correlation2(*args):
    return _input_grad_by_correlation(*args, winograd.F2x2)


def _input_band(dy, w, size, strides, pads, dilation, groups):
    kernel, (cg, cout) = w.shape[:-2], w.shape[-2:]
    return banded.grad_width(kernel, cg, cout, dy.shape[1:-1], strides, dilation, groups)


def _input_grad_banded(dy, w, size, strides, pads, dilation, groups):
    b = _input_band(dy, w, size, strides, pads, dilation, groups)
    padded = _padded_size(size, pads)
    return _unpad(conv_im2col.input_grad_banded(dy, w, padded, strides, dilation, b), pads)


def _input_grad_depthwise(dy, w, size, strides, pads, dilation, groups):
    padded = _padded_size(size, pads)
    return _unpad(depthwise.input_grad(dy, w, padded, groups, strides, dilation), pads)


def _is_one_gemm(dy, w, size, strides, pads, dilation, groups):
    return groups == 1 and not any(any(p) for p in pads) and tuple(size) == dy.shape[1:-1]


def _input_grad_one_gemm(dy, w, size, strides, pads, dilation, groups):
    cg, cout = w.shape[-2:]
    trace.gemm("dY", "W^T", "dX", dy.size // cout, cout, cg, 1, dy.itemsize)
    dx = parallel.matmul(dy.reshape(-1, cout), w.reshape(cg, cout).T)
    return dx.reshape(dy.shape[0], *size, cg)


def _input_grad_col2im(dy, w, size, strides, pads, dilation, groups):
    padded = _padded_size(size, pads)
    return _unpad(conv_im2col.input_grad(dy, w, padded, strides, dilation, groups), pads)


INPUT_GRAD = (
    Path(
        "correlation 4x4",
        lambda *args: _flipped_applies(*args, four=True),
        _input_grad_by_correlation4,
        "stride 1 where the flipped kernel is a Winograd F(4x4, 3x3) case: the transposed "
        "convolution is a convolution of the padded dy with the flipped kernel",
    ),
    Path(
        "correlation 2x2",
        _flipped_applies,
        _input_grad_by_correlation2,
        "stride 1 where the flipped kernel is a Winograd F(2x2, 3x3) case: the transposed "
        "convolution is a convolution of the padded dy with the flipped kernel",
    ),
    Path(
        "banded",
        lambda *args: _input_band(*args) is not None,
        _input_grad_banded,
        "few output channels: the adjoint of the banded product adds span * C contiguous "
        "values per window instead of C (col2im was the largest cost at LeNet's sizes)",
    ),
    Path(
        "depthwise",
        lambda dy, w, size, s, p, d, g: g > 1 and w.shape[-2] == 1,
        _input_grad_depthwise,
        "one input channel per group: each tap's product added into its strided slice",
    ),
    Path(
        "one GEMM",
        _is_one_gemm,
        _input_grad_one_gemm,
        "a 1x1 kernel at stride 1 without padding: dy @ w.T is the answer, no col2im",
    ),
    Path(
        "col2im",
        lambda *args: True,
        _input_grad_col2im,
        "the reference (dy @ w.T, then col2im), a few samples at a time on all cores",
    ),
)


def conv_forward(x, w, strides, pads, dilation, groups=1, bias=None, relu=False):
    """Cross-correlation of ``x (N, *spatial, C)`` with ``w (*k, C/g, out)``, plus
    ``bias (out,)`` and then a ReLU when asked. Returns ``(N, *out_spatial, out)``."""
    path = select(FORWARD, x, w, strides, pads, dilation, groups)
    return path.run(x, w, strides, pads, dilation, groups, bias, relu)


def conv_kernel_grad(x, dy, kernel, strides, pads, dilation, groups=1):
    """Gradient of ``sum(dy * conv_forward(x, w))`` with respect to ``w``: ``(*k, C/g, out)``."""
    path = select(KERNEL_GRAD, x, dy, kernel, strides, pads, dilation, groups)
    return path.run(x, dy, kernel, strides, pads, dilation, groups)


def conv_input_grad(dy, w, size, strides, pads, dilation, groups=1):
    """Gradient of ``sum(dy * conv_forward(x, w))`` with respect to ``x`` of spatial ``size``
    (the transposed convolution of ``dy``). Returns ``(N, *size, C)``."""
    path = select(INPUT_GRAD, dy, w, size, strides, pads, dilation, groups)
    return path.run(dy, w, size, strides, pads, dilation, groups)


__all__ = [
    "FORWARD",
    "KERNEL_GRAD",
    "INPUT_GRAD",
    "conv_forward",
    "conv_input_grad",
    "conv_kernel_grad",
    "conv_output_size",
    "pad_spatial",
    "windows",
]

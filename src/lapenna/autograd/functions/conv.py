"""Convolution primitives: the three linear maps of a convolution, closed under the VJP.

A convolution ``y = conv(x, w)`` is bilinear. Its input gradient is the transposed
convolution ``conv_transpose(g, w)`` and its kernel gradient is ``kernel_grad(x, g)``.
Each of the three is again bilinear, and the gradients of each are the other two::

    Conv(x, w)            -> dx = ConvTranspose(g, w),  dw = ConvKernelGrad(x, g)
    ConvTranspose(d, w)   -> dd = Conv(g, w),           dw = ConvKernelGrad(g, d)
    ConvKernelGrad(x, d)  -> dx = ConvTranspose(d, g),  dd = Conv(x, g)

so derivatives of any order stay within these three primitives. All share the geometry
``strides``, ``pads`` (explicit ``(before, after)`` per axis), ``dilation`` and ``groups``.
"""

import math

from lapenna import backend as B
from lapenna.autograd.function import Function
from lapenna.autograd.functions.elementwise import ReluGrad
from lapenna.autograd.functions.linalg import MatMul
from lapenna.autograd.tensor import Tensor


def _geometry(node):
    return {
        "strides": node.strides,
        "pads": node.pads,
        "dilation": node.dilation,
        "groups": node.groups,
    }


def _bias_grad(grad):
    """Sum over every axis but the channels, as a product with a row of ones: BLAS is far
    faster than numpy's reduction when there are few channels, and it is differentiable."""
    rows = math.prod(grad.shape[:-1])
    ones = Tensor(B.xp.ones((1, rows), dtype=grad.dtype))
    flat = grad.reshape(rows, grad.shape[-1])
    return MatMul.apply(ones, flat, roles=("1^T", "dY", "db")).reshape(grad.shape[-1])


class Conv(Function):
    """Cross-correlation of channels-last ``x (N, *spatial, C)`` with ``w (*k, C/g, out)``,
    plus an optional bias ``(out,)`` (``has_bias``) and then an optional ReLU (``relu``),
    both applied to each chunk of the output while it is in cache. With the ReLU the
    output is kept too: its sign masks the incoming gradient."""

    has_bias = False
    relu = False

    def forward(self, x, w, *bias):
        y = B.conv_forward(
            x,
            w,
            self.strides,
            self.pads,
            self.dilation,
            self.groups,
            bias=bias[0] if self.has_bias else None,
            relu=self.relu,
        )
        self.save_for_backward(*self.parents[:2], *((y,) if self.relu else ()))
        return y

    def backward(self, grad):
        x, w, *relu_out = self.saved_tensors
        if relu_out:
            grad = ReluGrad.apply(grad, positive=relu_out[0])
        gx = gw = None
        if self.needs_grad[0]:
            gx = ConvTranspose.apply(grad, w, size=x.shape[1:-1], **_geometry(self))
        if self.needs_grad[1]:
            gw = ConvKernelGrad.apply(x, grad, kernel=w.shape[:-2], **_geometry(self))
        if not self.has_bias:
            return gx, gw
        return gx, gw, _bias_grad(grad) if self.needs_grad[2] else None


class ConvTranspose(Function):
    """The adjoint of ``Conv`` in ``x``: ``d (N, *out, out_channels)`` and ``w`` give
    ``(N, *size, C)``. This is the transposed convolution; ``has_bias`` adds a bias."""

    has_bias = False

    def forward(self, d, w, *bias):
        self.save_for_backward(*self.parents[:2])
        y = B.conv_input_grad(d, w, self.size, self.strides, self.pads, self.dilation, self.groups)
        if self.has_bias:
            y += bias[0]
        return y

    def backward(self, grad):
        d, w = self.saved_tensors
        gd = gw = None
        if self.needs_grad[0]:
            gd = Conv.apply(grad, w, **_geometry(self))
        if self.needs_grad[1]:
            gw = ConvKernelGrad.apply(grad, d, kernel=w.shape[:-2], **_geometry(self))
        if not self.has_bias:
            return gd, gw
        return gd, gw, _bias_grad(grad) if self.needs_grad[2] else None


class ConvKernelGrad(Function):
    """The adjoint of ``Conv`` in ``w``: ``x`` and ``d (N, *out, out_channels)`` give the
    kernel-shaped ``sum over samples and positions`` of window times ``d``."""

    def forward(self, x, d):
        self.save_for_backward(*self.parents)
        return B.conv_kernel_grad(
            x, d, self.kernel, self.strides, self.pads, self.dilation, self.groups
        )

    def backward(self, grad):
        x, d = self.saved_tensors
        gx = gd = None
        if self.needs_grad[0]:
            gx = ConvTranspose.apply(d, grad, size=x.shape[1:-1], **_geometry(self))
        if self.needs_grad[1]:
            gd = Conv.apply(x, grad, **_geometry(self))
        return gx, gd

"""Matrix multiplication: one GEMM forward, two GEMMs backward."""

import math

from lapenna.autograd.function import Function
from lapenna.autograd.tensor import as_tensor
from lapenna.backend import matmul as _gemm
from lapenna.backend import trace


class MatMul(Function):
    """x @ y for operands of rank >= 2 (batch axes broadcast).

    dL/dx = dL/dout @ y^T and dL/dy = x^T @ dL/dout; the engine sums broadcast batch
    axes away. ``roles`` names the operands and the result for ``backend.trace``.
    """

    roles = ("A", "B", "C")

    def forward(self, x, y):
        if x.shape[-1] != y.shape[-2]:
            raise ValueError(
                f"matmul: shapes {x.shape} and {y.shape} are not aligned: "
                f"{x.shape[-1]} (axis {x.ndim - 1}) != {y.shape[-2]} (axis {y.ndim - 2})"
            )
        self.save_for_backward(*self.parents)
        trace.gemm(*self.roles, *_gemm_shape(x.shape, y.shape), x.itemsize)
        return _gemm(x, y)

    def backward(self, grad):
        x, y = self.saved_tensors
        a, b, c = self.roles
        gx = gy = None
        if self.needs_grad[0]:
            gx = MatMul.apply(grad, y.swapaxes(-1, -2), roles=(f"d{c}", f"{b}^T", f"d{a}"))
        if self.needs_grad[1]:
            gy = MatMul.apply(x.swapaxes(-1, -2), grad, roles=(f"{a}^T", f"d{c}", f"d{b}"))
        return gx, gy


def _gemm_shape(a, b):
    """``(m, k, n, batch)`` of ``a @ b``: leading axes of ``a`` against a matrix ``b``
    fold into the rows (one product), other batch axes count separate products."""
    if len(b) == 2:
        return math.prod(a[:-1]), a[-1], b[-1], 1
    lead = max(len(a), len(b)) - 2
    pa, pb = (1,) * (lead + 2 - len(a)) + a[:-2], (1,) * (lead + 2 - len(b)) + b[:-2]
    batch = math.prod(max(p, q) for p, q in zip(pa, pb))
    return a[-2], a[-1], b[-1], batch


def matmul(x, y):
    """numpy's matmul semantics, 1-D operands included, built on the rank>=2 primitive."""
    x = as_tensor(x, y if hasattr(y, "data") else None)
    y = as_tensor(y, x)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"matmul: operands must not be scalars, got shapes {x.shape} and {y.shape}"
        )
    if x.ndim == 1 and y.ndim == 1:
        if x.shape[0] != y.shape[0]:
            raise ValueError(
                f"matmul: shapes {x.shape} and {y.shape} are not aligned: "
                f"{x.shape[0]} (axis 0) != {y.shape[0]} (axis 0)"
            )
        return (MatMul.apply(x.reshape(1, -1), y.reshape(-1, 1))).reshape(())
    if x.ndim == 1:
        out = MatMul.apply(x.reshape(1, -1), y)
        return out.reshape(out.shape[:-2] + out.shape[-1:])
    if y.ndim == 1:
        out = MatMul.apply(x, y.reshape(-1, 1))
        return out.reshape(out.shape[:-1])
    return MatMul.apply(x, y)

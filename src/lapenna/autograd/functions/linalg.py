"""Matrix multiplication: one GEMM forward, two GEMMs backward."""

from lapenna.autograd.function import Function
from lapenna.autograd.tensor import as_tensor
from lapenna.backend import matmul as _gemm


class MatMul(Function):
    """x @ y for operands of rank >= 2 (batch axes broadcast).

    dL/dx = dL/dout @ y^T and dL/dy = x^T @ dL/dout; the engine sums broadcast batch
    axes away.
    """

    def forward(self, x, y):
        if x.shape[-1] != y.shape[-2]:
            raise ValueError(
                f"matmul: shapes {x.shape} and {y.shape} are not aligned: "
                f"{x.shape[-1]} (axis {x.ndim - 1}) != {y.shape[-2]} (axis {y.ndim - 2})"
            )
        self.save_for_backward(*self.parents)
        return _gemm(x, y)

    def backward(self, grad):
        x, y = self.saved_tensors
        gx = MatMul.apply(grad, y.swapaxes(-1, -2)) if self.needs_grad[0] else None
        gy = MatMul.apply(x.swapaxes(-1, -2), grad) if self.needs_grad[1] else None
        return gx, gy


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

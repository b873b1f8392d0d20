"""Matrix products: everything here ends in the ``MatMul`` primitive (one GEMM)."""

from lapenna.autograd import as_tensor
from lapenna.autograd import functions as F


def matmul(x, y):
    """numpy's matmul: 1-D operands are promoted and the added axis removed; batch axes
    broadcast."""
    return F.matmul(x, y)


def dot(x, y):
    """numpy's dot for 1-D and 2-D operands (inner product or matrix product)."""
    x, y = as_tensor(x), as_tensor(y)
    if x.ndim > 2 or y.ndim > 2:
        return tensordot(x, y, axes=([-1], [-2 if y.ndim >= 2 else -1]))
    return F.matmul(x, y)


def tensordot(x, y, axes=2):
    """Sum products over ``axes`` (an int n for the last n of x and first n of y, or two
    lists); done as one transpose, one reshape and one GEMM."""
    x = as_tensor(x)
    y = as_tensor(y, x)
    if isinstance(axes, int):
        ax_x = list(range(x.ndim - axes, x.ndim))
        ax_y = list(range(axes))
    else:
        ax_x = [a % x.ndim for a in axes[0]]
        ax_y = [a % y.ndim for a in axes[1]]
    for a, b in zip(ax_x, ax_y):
        if x.shape[a] != y.shape[b]:
            raise ValueError(
                f"tensordot: shapes {x.shape} and {y.shape} do not match on axes {a} and {b}"
            )
    free_x = [a for a in range(x.ndim) if a not in ax_x]
    free_y = [a for a in range(y.ndim) if a not in ax_y]
    k = 1
    for a in ax_x:
        k *= x.shape[a]
    xm = x.transpose(free_x + ax_x).reshape(-1, k)
    ym = y.transpose(ax_y + free_y).reshape(k, -1)
    return F.MatMul.apply(xm, ym).reshape(
        tuple(x.shape[a] for a in free_x) + tuple(y.shape[a] for a in free_y)
    )

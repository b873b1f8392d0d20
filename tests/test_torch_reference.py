"""Values and gradients of composite expressions against PyTorch (a test extra)."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import ops

torch = pytest.importorskip("torch")

rng = np.random.default_rng(7)

EXPRESSIONS = {
    "mlp": (
        lambda m, x, w1, w2: m["log_softmax"](m["relu"](x @ w1) @ w2, -1).sum(),
        [(5, 4), (4, 6), (6, 3)],
    ),
    "gelu_like": (
        lambda m, x, y: (x * m["sigmoid"](x * 1.702) + m["tanh"](y) ** 2).mean(),
        [(3, 4), (3, 4)],
    ),
    "softmax_attention": (
        lambda m, q, k, v: (m["softmax"](q @ m["swap"](k) / 2.0, -1) @ v).sum(),
        [(2, 3, 4), (2, 5, 4), (2, 5, 3)],
    ),
    "normalize": (
        lambda m, x: ((x - m["rowmean"](x)) / m["sqrt"](m["var"](x) + 1e-5)) ** 3,
        [(4, 6)],
    ),
    "logsumexp_max": (
        lambda m, x, y: m["logsumexp"](x * y, 1).sum() + m["amax"](x, 0).sum(),
        [(3, 5), (5,)],
    ),
    "broadcast_div_exp_log": (
        lambda m, x, y: (m["log"](m["exp"](x) + 1.0) / (y * y + 1.0)).sum(),
        [(2, 3, 1), (1, 4)],
    ),
}

LP = {
    "relu": ops.relu,
    "log_softmax": ops.log_softmax,
    "sigmoid": ops.sigmoid,
    "tanh": ops.tanh,
    "softmax": ops.softmax,
    "sqrt": ops.sqrt,
    "var": lambda x: ops.var(x, -1, keepdims=True),
    "logsumexp": ops.logsumexp,
    "amax": ops.max,
    "log": ops.log,
    "exp": ops.exp,
    "swap": lambda x: ops.swapaxes(x, -1, -2),
    "rowmean": lambda x: ops.mean(x, -1, True),
}
TORCH = {
    "relu": torch.relu,
    "log_softmax": torch.log_softmax,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": torch.softmax,
    "sqrt": torch.sqrt,
    "var": lambda x: x.var(-1, keepdim=True, unbiased=False),
    "logsumexp": torch.logsumexp,
    "amax": torch.amax,
    "log": torch.log,
    "exp": torch.exp,
    "swap": lambda x: x.transpose(-1, -2),
    "rowmean": lambda x: x.mean(-1, keepdim=True),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_matches_torch(name, dtype):
    fn, shapes = EXPRESSIONS[name]
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    lp_in = [lp.tensor(a, requires_grad=True) for a in arrays]
    torch_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(LP, *lp_in)
    ref = fn(TORCH, *torch_in)
    weights = rng.standard_normal(ref.shape).astype(dtype)
    grads = lp.grad(out, lp_in, grad_outputs=lp.tensor(weights))
    ref.backward(torch.tensor(weights))
    tol = 1e-5 if dtype == "float32" else 1e-10
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=tol, atol=tol)
    for g, t in zip(grads, torch_in):
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=tol * 10, atol=tol)

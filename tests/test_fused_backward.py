"""Each fused primitive writes its backward formula twice: the fast array path (a plain
backward) and the Tensor path (``create_graph=True``). They must agree."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import ops

rng = np.random.default_rng(0)
X = rng.standard_normal((4, 3, 5)) * 3 + 1
W = rng.standard_normal((4, 3, 5))  # weights the outputs so no gradient is trivially zero
SOFT = rng.dirichlet(np.ones(5), size=(4, 3))
SPARSE = rng.integers(0, 5, size=(4, 3))
BINARY = rng.integers(0, 2, size=(4, 3, 5)).astype(np.float64)

CASES = {
    "batch_norm": lambda x, g, b: ops.batch_norm(x, g, b, training=True, epsilon=1e-3)[0],
    "batch_norm without affine": lambda x, g, b: ops.batch_norm(x, training=True)[0] * g,
    "layer_norm": lambda x, g, b: ops.layer_norm(x, g, b, axis=-1),
    "layer_norm over two axes": lambda x, g, b: ops.layer_norm(x, axis=(1, 2)) * g + b,
    "softmax_cross_entropy": lambda x, g, b: ops.softmax_cross_entropy(SOFT, x * g + b),
    "sparse, smoothed": lambda x, g, b: ops.softmax_cross_entropy(
        SPARSE, x * g, sparse=True, label_smoothing=0.1
    ),
    "binary_cross_entropy": lambda x, g, b: ops.binary_cross_entropy(
        BINARY, x * g + b, from_logits=True, label_smoothing=0.2
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fast_and_graph_backward_agree(name):
    def gradients(create_graph):
        x = lp.Variable(X.copy())
        gamma = lp.Variable(np.linspace(0.5, 2, 5))
        beta = lp.Variable(np.linspace(-1, 1, 5))
        y = CASES[name](x, gamma, beta)
        weights = W if y.shape == W.shape else W[..., 0]
        loss = (y * weights).sum()
        grads = lp.grad(loss, [x, gamma, beta], create_graph=create_graph, allow_unused=True)
        return [None if g is None else g.numpy() for g in grads]

    fast, graph = gradients(False), gradients(True)
    assert any(g is not None and np.abs(g).max() > 1e-3 for g in fast)
    for f, g in zip(fast, graph):
        assert (f is None) == (g is None)
        if f is not None:
            np.testing.assert_allclose(f, g, rtol=1e-10, atol=1e-12)

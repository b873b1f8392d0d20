"""Batch norm, layer norm and dropout: PyTorch references, the fused backward against its
Tensor form, statistics without gradient, dropout's expectation and seeding, bad input."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import ops

rng = np.random.default_rng(3)


def _tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-10, "atol": 1e-10}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_training_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((4, 5, 3, 6)) * 3 + 2).astype(dtype)
    gamma, beta = rng.standard_normal(6).astype(dtype), rng.standard_normal(6).astype(dtype)
    upstream = rng.standard_normal(x.shape).astype(dtype)
    ours = [lp.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    y, mean, var = ops.batch_norm(*ours, training=True)
    grads = lp.grad(y, ours, grad_outputs=lp.tensor(upstream))
    theirs = [torch.tensor(a, requires_grad=True) for a in (x.transpose(0, 3, 1, 2), gamma, beta)]
    ref = torch.nn.functional.batch_norm(
        theirs[0], None, None, theirs[1], theirs[2], training=True, eps=1e-3
    )
    ref.backward(torch.tensor(upstream.transpose(0, 3, 1, 2)))
    assert y.dtype == mean.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.numpy(), ref.detach().numpy().transpose(0, 2, 3, 1), **_tol(dtype))
    np.testing.assert_allclose(
        grads[0].numpy(), theirs[0].grad.numpy().transpose(0, 2, 3, 1), **_tol(dtype)
    )
    for g, t in zip(grads[1:], theirs[1:]):
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), **_tol(dtype))
    np.testing.assert_allclose(mean.numpy(), x.mean((0, 1, 2)), **_tol(dtype))
    np.testing.assert_allclose(var.numpy(), x.var((0, 1, 2)), **_tol(dtype))
    assert not mean.requires_grad and not var.requires_grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_inference_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 4, 5)).astype(dtype)
    gamma, beta, mean = (rng.standard_normal(4).astype(dtype) for _ in range(3))
    var = (rng.random(4) + 0.5).astype(dtype)
    y = ops.batch_norm(x, gamma, beta, mean, var, axis=1)
    ref = torch.nn.functional.batch_norm(
        *(torch.tensor(a) for a in (x, mean, var, gamma, beta)), training=False, eps=1e-3
    )
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), **_tol(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_norm_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 4, 5)).astype(dtype)
    gamma, beta = (
        rng.standard_normal((4, 5)).astype(dtype),
        rng.standard_normal((4, 5)).astype(dtype),
    )
    upstream = rng.standard_normal(x.shape).astype(dtype)
    ours = [lp.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    y = ops.layer_norm(*ours, axis=(1, 2))
    grads = lp.grad(y, ours, grad_outputs=lp.tensor(upstream))
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    ref = torch.nn.functional.layer_norm(theirs[0], (4, 5), theirs[1], theirs[2], eps=1e-3)
    ref.backward(torch.tensor(upstream))
    np.testing.assert_allclose(y.numpy(), ref.detach().numpy(), **_tol(dtype))
    for g, t in zip(grads, theirs):
        assert g.dtype == np.dtype(dtype)
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), **_tol(dtype))


@pytest.mark.parametrize(
    ("fn", "shapes"),
    [
        (lambda x, g, b: ops.batch_norm(x, g, b, training=True)[0], [(4, 3, 3), (3,), (3,)]),
        (lambda x, g, b: ops.layer_norm(x, g, b, axis=(1, 2)), [(4, 3, 2), (3, 2), (3, 2)]),
        (lambda x, g, b: ops.layer_norm(x * g.sum() + b.sum(), None, None), [(3, 5), (2,), (1,)]),
    ],
)
def test_fused_backward_equals_its_tensor_form(fn, shapes):
    lp.set_floatx("float64")
    arrays = [rng.standard_normal(s) for s in shapes]
    upstream = lp.tensor(rng.standard_normal(fn(*map(lp.tensor, arrays)).shape))
    results = []
    for create_graph in (False, True):
        inputs = [lp.tensor(a, requires_grad=True) for a in arrays]
        grads = lp.grad(fn(*inputs), inputs, grad_outputs=upstream, create_graph=create_graph)
        results.append([g.numpy() for g in grads])
    for fast, graph in zip(*results):
        np.testing.assert_allclose(fast, graph, rtol=1e-12, atol=1e-12)


def test_batch_norm_without_gamma_beta_normalizes():
    x = rng.standard_normal((64, 3)).astype(np.float32) * 5 + 7
    y, mean, var = ops.batch_norm(x, training=True, epsilon=1e-6)
    np.testing.assert_allclose(y.numpy().mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.numpy().std(0), 1, atol=1e-4)


NORM_ERRORS = {
    "inference without statistics": (
        lambda: ops.batch_norm(np.zeros((2, 3), np.float32)),
        "batch_norm: inference (training=False) needs the moving mean and variance",
    ),
    "gamma shape": (
        lambda: ops.batch_norm(np.zeros((2, 3)), np.ones(2), training=True),
        "batch_norm: gamma must have shape (3,), got (2,)",
    ),
    "axis": (
        lambda: ops.batch_norm(np.zeros((2, 3)), axis=2, training=True),
        "batch_norm: axis 2 is out of range for an input of rank 2",
    ),
    "epsilon": (
        lambda: ops.layer_norm(np.zeros((2, 3)), epsilon=0),
        "layer_norm: epsilon must be a positive number",
    ),
    "layer norm gamma": (
        lambda: ops.layer_norm(np.zeros((2, 3, 4)), np.ones(3), axis=(1, 2)),
        "layer_norm: gamma must have shape (3, 4), got (3,)",
    ),
}


@pytest.mark.parametrize("name", sorted(NORM_ERRORS))
def test_normalization_errors(name):
    call, message = NORM_ERRORS[name]
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


# -- dropout -----------------------------------------------------------------------------
def test_dropout_keeps_the_expected_value_and_drops_the_rate():
    x = lp.tensor(np.ones((200, 500), np.float32))
    y = ops.dropout(x, 0.3)
    assert y.dtype == np.float32
    values = np.unique(y.numpy())
    np.testing.assert_allclose(values, [0, 1 / 0.7], rtol=1e-6)
    assert abs((y.numpy() == 0).mean() - 0.3) < 0.01
    assert abs(y.numpy().mean() - 1) < 0.01


def test_dropout_is_the_identity_at_inference_and_rate_zero():
    x = lp.tensor(rng.standard_normal((4, 5)).astype(np.float32))
    assert ops.dropout(x, 0.5, training=False) is x
    assert ops.dropout(x, 0.0) is x


def test_dropout_is_reproducible_under_set_seed():
    x = np.ones((8, 9), np.float32)
    lp.set_seed(42)
    first = ops.dropout(x, 0.5).numpy()
    lp.set_seed(42)
    np.testing.assert_array_equal(first, ops.dropout(x, 0.5).numpy())
    assert not np.array_equal(first, ops.dropout(x, 0.5).numpy())
    own = ops.dropout(x, 0.5, generator=7).numpy()
    np.testing.assert_array_equal(own, ops.dropout(x, 0.5, generator=7).numpy())


def test_dropout_gradient_is_the_mask_and_noise_shape_broadcasts():
    x = lp.tensor(rng.standard_normal((6, 3, 4)), requires_grad=True)
    y = ops.dropout(x, 0.5, noise_shape=(None, 1, None))
    kept = y.numpy() != 0
    assert (kept == kept[:, :1]).all()
    (g,) = lp.grad(y.sum(), x)
    np.testing.assert_array_equal(g.numpy(), kept * 2.0)


@pytest.mark.parametrize("rate", [1.0, -0.1, "half", True])
def test_dropout_rejects_bad_rates(rate):
    with pytest.raises(ValueError, match=r"dropout: rate must be a number in \[0, 1\)"):
        ops.dropout(np.ones(3, np.float32), rate)


def test_dropout_rejects_bad_noise_shape():
    with pytest.raises(ValueError, match="dropout: noise_shape .* does not broadcast"):
        ops.dropout(np.ones((2, 3), np.float32), 0.5, noise_shape=(2, 2))

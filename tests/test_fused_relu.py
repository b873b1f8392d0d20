"""A convolution with ``activation="relu"`` (the bias and the ReLU applied chunk by chunk)
equals the unfused ``relu(conv + bias)``, forward and backward; the chunked ReLU kernels
equal numpy's."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers, ops
from lapenna.backend import elementwise, parallel, winograd

rng = np.random.default_rng(7)


@pytest.fixture
def chunked(monkeypatch, two_workers):
    """Every elementwise pass chunked, over two workers, whatever the size."""
    monkeypatch.setattr(elementwise, "_MIN_CHUNKED_BYTES", 0)
    monkeypatch.setattr(elementwise, "_CHUNK_ELEMENTS", 7)
    monkeypatch.setattr(parallel, "_MIN_PARALLEL_BYTES", 0)


def _both(conv, x, w, b):
    """Output and gradients of the fused and of the unfused form."""
    results, weights = [], None
    for fused in (True, False):
        inputs = [lp.tensor(a, requires_grad=True) for a in (x, w, b)]
        if fused:
            out = conv(*inputs, activation="relu")
        else:
            out = ops.relu(conv(*inputs))
        if weights is None:
            weights = lp.tensor(rng.standard_normal(out.shape).astype(x.dtype))
        grads = lp.grad((out * weights).sum(), inputs)
        results.append([out.numpy(), *(g.numpy() for g in grads)])
    return results


CASES = {
    "im2col": (
        lambda x, w, b, **kw: ops.conv2d(x, w, b, strides=2, padding="same", **kw),
        (3, 9, 8, 4),
        (3, 3, 4, 5),
    ),
    "winograd": (
        lambda x, w, b, **kw: ops.conv2d(x, w, b, padding="same", **kw),
        (2, 8, 8, 4),
        (3, 3, 4, 6),
    ),
    "depthwise groups": (
        lambda x, w, b, **kw: ops.conv2d(x, w, b, groups=4, **kw),
        (2, 7, 7, 4),
        (3, 3, 1, 8),
    ),
    "conv1d": (
        lambda x, w, b, **kw: ops.conv1d(x, w, b, padding="same", **kw),
        (2, 11, 3),
        (5, 3, 4),
    ),
    "conv3d": (lambda x, w, b, **kw: ops.conv3d(x, w, b, **kw), (1, 5, 5, 4, 2), (2, 3, 2, 2, 3)),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_equals_unfused(monkeypatch, name, dtype):
    monkeypatch.setattr(winograd, "_MIN_CHANNELS", 1)
    conv, xs, ws = CASES[name]
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[-1]).astype(dtype)
    fused, unfused = _both(conv, x, w, b)
    assert fused[0].dtype == dtype and (fused[0] >= 0).all() and (fused[0] == 0).any()
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for a, e in zip(fused, unfused):
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol)


def test_fused_chunked_epilogue(chunked):
    conv, xs, ws = CASES["im2col"]
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[-1])
    fused, unfused = _both(conv, x, w, b)
    for a, e in zip(fused, unfused):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


def test_unknown_activation_is_refused():
    x, w = lp.tensor(np.ones((1, 4, 4, 1))), lp.tensor(np.ones((3, 3, 1, 2)))
    with pytest.raises(ValueError, match="conv2d: activation must be None or 'relu', got 'tanh'"):
        ops.conv2d(x, w, activation="tanh")


def test_conv2d_layer_fuses_its_relu_and_matches_the_unfused_layer():
    lp.set_seed(0)
    fused = layers.Conv2D(4, 3, padding="same", activation="relu")
    plain = layers.Conv2D(4, 3, padding="same")
    x = lp.tensor(rng.standard_normal((2, 6, 6, 3)).astype(np.float32))
    fused.build(x.shape), plain.build(x.shape)
    plain.set_weights(fused.get_weights())
    with lp.GradientTape(persistent=True) as tape:
        a = fused(x)
        e = ops.relu(plain(x))
        la, le = (a * a).sum(), (e * e).sum()
    assert type(a.node).__name__ == "Conv" and a.node.relu
    np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-6)
    for ga, ge in zip(
        tape.gradient(la, fused.trainable_weights), tape.gradient(le, plain.trainable_weights)
    ):
        np.testing.assert_allclose(ga.numpy(), ge.numpy(), rtol=1e-6)


def test_transposed_and_depthwise_layers_apply_relu_themselves():
    x = lp.tensor(rng.standard_normal((1, 5, 5, 2)).astype(np.float32))
    for layer in (
        layers.Conv2DTranspose(3, 3, activation="relu"),
        layers.DepthwiseConv2D(3, activation="relu"),
        layers.SeparableConv2D(3, 3, activation="relu"),
    ):
        out = layer(x)
        assert type(out.node).__name__ == "Relu"


def test_chunked_relu_and_its_gradient_equal_numpy(chunked):
    x = rng.standard_normal((5, 7, 3)).astype(np.float32)
    x[0, 0, 0] = np.nan
    y = elementwise.relu(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    g = rng.standard_normal(x.shape).astype(np.float32)
    np.testing.assert_array_equal(elementwise.relu_grad(g, y), g * (y > 0))
    # a broadcast gradient (as from a sum) takes the plain path
    gb = np.broadcast_to(np.float32(2), x.shape)
    np.testing.assert_array_equal(elementwise.relu_grad(gb, y), 2 * (y > 0))
    assert elementwise.relu_grad(gb, y).dtype == np.float32


def test_relu_second_derivative_is_zero_and_first_is_the_mask():
    x = lp.tensor(np.array([-2.0, -0.5, 0.5, 3.0]), requires_grad=True)
    (g,) = lp.grad(ops.relu(x).sum() * 1.0, [x], create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [0, 0, 1, 1])
    (gg,) = lp.grad((g * x).sum(), [x])
    np.testing.assert_array_equal(gg.numpy(), [0, 0, 1, 1])

"""Optimizer update rules: steps against hand-written formulas and torch.optim, clipping,
weight decay, constraints and float32."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import optimizers

rng = np.random.default_rng(8)
W0 = rng.standard_normal((3, 4))
GRADS = [rng.standard_normal((3, 4)) for _ in range(5)]


def run(optimizer, w0=W0, grads=GRADS, dtype="float64"):
    w = lp.Variable(w0, dtype=dtype, name="w")
    for g in grads:
        optimizer.apply_gradients([(lp.tensor(g, dtype=dtype), w)])
    return w.numpy()


# -- the update rules, written out as in the docstrings (float64) --------------------------
def sgd(lr, momentum=0.0, nesterov=False, w=W0, grads=GRADS):
    v = np.zeros_like(w)
    for g in grads:
        if not momentum:
            w = w - lr * g
            continue
        v = momentum * v - lr * g
        w = w + (momentum * v - lr * g if nesterov else v)
    return w


def rmsprop(lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    w, s, a, b = W0, 0.0, 0.0, 0.0
    for g in GRADS:
        s = rho * s + (1 - rho) * g**2
        a = rho * a + (1 - rho) * g
        step = lr * g / np.sqrt((s - a**2 if centered else s) + eps)
        b = momentum * b + step
        w = w - (b if momentum else step)
    return w


def adam(lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, wd=0.0):
    w, m, v, v_max = W0, 0.0, 0.0, 0.0
    for t, g in enumerate(GRADS, start=1):
        w = w - lr * wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        v_max = np.maximum(v_max, v)
        m_hat, v_hat = m / (1 - b1**t), (v_max if amsgrad else v) / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps / np.sqrt(1 - b2**t))
    return w


def adagrad(lr, initial=0.1, eps=1e-7):
    w, s = W0, initial
    for g in GRADS:
        s = s + g**2
        w = w - lr * g / np.sqrt(s + eps)
    return w


def adadelta(lr, rho=0.95, eps=1e-7):
    w, s, d = W0, 0.0, 0.0
    for g in GRADS:
        s = rho * s + (1 - rho) * g**2
        delta = np.sqrt(d + eps) / np.sqrt(s + eps) * g
        d = rho * d + (1 - rho) * delta**2
        w = w - lr * delta
    return w


def nadam(lr, b1=0.9, b2=0.999, eps=1e-7):
    w, m, v, product = W0, 0.0, 0.0, 1.0
    for t, g in enumerate(GRADS, start=1):
        mu, mu_next = b1 * (1 - 0.5 * 0.96**t), b1 * (1 - 0.5 * 0.96 ** (t + 1))
        product *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = mu_next * m / (1 - product * mu_next) + (1 - mu) * g / (1 - product)
        w = w - lr * m_hat / (np.sqrt(v / (1 - b2**t)) + eps)
    return w


FORMULAS = [
    (optimizers.SGD(0.1), sgd(0.1)),
    (optimizers.SGD(0.1, momentum=0.9), sgd(0.1, 0.9)),
    (optimizers.SGD(0.1, momentum=0.9, nesterov=True), sgd(0.1, 0.9, True)),
    (optimizers.RMSprop(0.01), rmsprop(0.01)),
    (optimizers.RMSprop(0.01, momentum=0.5, centered=True), rmsprop(0.01, 0.9, 0.5, 1e-7, True)),
    (optimizers.Adam(0.01), adam(0.01)),
    (optimizers.Adam(0.01, amsgrad=True), adam(0.01, amsgrad=True)),
    (optimizers.AdamW(0.01, weight_decay=0.1), adam(0.01, wd=0.1)),
    (optimizers.Adagrad(0.1), adagrad(0.1)),
    (optimizers.Adadelta(1.0), adadelta(1.0)),
    (optimizers.Nadam(0.01), nadam(0.01)),
]


@pytest.mark.parametrize(("optimizer", "expected"), FORMULAS, ids=lambda x: repr(x)[:40])
def test_steps_follow_the_formulas(optimizer, expected):
    np.testing.assert_allclose(run(optimizer), expected, rtol=1e-12, atol=1e-14)
    assert optimizer.iterations == len(GRADS)


def test_hand_computed_momentum_steps():
    # v1 = -0.1 * 1 = -0.1, w = 0.9; v2 = 0.9 * -0.1 - 0.1 * 1 = -0.19, w = 0.71
    w = lp.Variable([1.0])
    opt = optimizers.SGD(0.1, momentum=0.9)
    for _ in range(2):
        opt.apply_gradients([(lp.tensor([1.0]), w)])
    assert w.item() == pytest.approx(0.71)
    # Adam's first step is lr * g / |g| whatever the gradient's scale
    w = lp.Variable([1.0, 1.0])
    optimizers.Adam(0.1).apply_gradients([(lp.tensor([0.5, -50.0]), w)])
    np.testing.assert_allclose(w.numpy(), [0.9, 1.1], rtol=1e-4)


def torch_run(torch, make, dtype=np.float64):
    p = torch.tensor(W0, requires_grad=True)
    opt = make([p])
    for g in GRADS:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy()


def test_against_torch_optim():
    torch = pytest.importorskip("torch")
    tiny = 1e-30  # eps sits in different places in Keras's and PyTorch's formulas
    cases = [
        (optimizers.SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
        (optimizers.SGD(0.1, 0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
        (
            optimizers.SGD(0.1, 0.9, nesterov=True),
            lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        ),
        (
            optimizers.RMSprop(0.01, epsilon=tiny),
            lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=tiny),
        ),
        (
            optimizers.RMSprop(0.01, rho=0.8, epsilon=tiny, centered=True),
            lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=tiny, centered=True),
        ),
        (
            optimizers.RMSprop(0.01, momentum=0.7, epsilon=tiny),
            lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=tiny, momentum=0.7),
        ),
        (optimizers.Adam(0.01, epsilon=tiny), lambda p: torch.optim.Adam(p, lr=0.01, eps=tiny)),
        (
            optimizers.Adam(0.01, epsilon=tiny, amsgrad=True),
            lambda p: torch.optim.Adam(p, lr=0.01, eps=tiny, amsgrad=True),
        ),
        (
            optimizers.AdamW(0.01, weight_decay=0.05, epsilon=tiny),
            lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.05, eps=tiny),
        ),
        (
            optimizers.Adagrad(0.1, epsilon=tiny),
            lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=tiny),
        ),
        (
            optimizers.Adadelta(1.0, rho=0.9, epsilon=1e-6),
            lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9, eps=1e-6),
        ),
    ]
    for ours, theirs in cases:
        np.testing.assert_allclose(
            run(ours), torch_run(torch, theirs), rtol=1e-10, err_msg=repr(ours)
        )


def test_clipping_matches_the_course_example():
    def clipped(**kwargs):
        w = lp.Variable([0.0, 0.0])
        optimizers.SGD(1.0, **kwargs).apply_gradients([(lp.tensor([0.9, 100.0]), w)])
        return -w.numpy()

    np.testing.assert_allclose(clipped(clipvalue=1.0), [0.9, 1.0], rtol=1e-6)
    np.testing.assert_allclose(clipped(clipnorm=1.0), [0.0090, 0.99996], atol=5e-5)
    assert np.linalg.norm(clipped(clipnorm=1.0)) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(clipped(clipnorm=1000.0), [0.9, 100.0], rtol=1e-6)
    # the global norm spans both variables: sqrt(3^2 + 4^2) = 5 is scaled to 1
    a, b = lp.Variable([0.0]), lp.Variable([0.0])
    optimizers.SGD(1.0, global_clipnorm=1.0).apply_gradients(
        [(lp.tensor([3.0]), a), (lp.tensor([4.0]), b)]
    )
    np.testing.assert_allclose([a.item(), b.item()], [-0.6, -0.8], rtol=1e-6)


def test_weight_decay_is_decoupled_and_can_exclude():
    w, bias = lp.Variable([2.0], name="kernel"), lp.Variable([2.0], name="bias")
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply_gradients([(lp.tensor([1.0]), w), (lp.tensor([1.0]), bias)])
    # kernel: 2 - 0.1 * 0.5 * 2 = 1.9, then - 0.1 * 1; bias: no decay
    assert w.item() == pytest.approx(1.8) and bias.item() == pytest.approx(1.9)


class ClipToUnit:
    """A tiny constraint: it records what it saw and clips to [-1, 1]."""

    def __init__(self):
        self.seen = []

    def __call__(self, w):
        self.seen.append(w.numpy().copy())
        return lp.ops.clip(w, -1.0, 1.0)


def test_constraints_apply_after_the_step():
    constraint = ClipToUnit()
    w = lp.Variable([0.5, -0.5], constraint=constraint)
    optimizers.SGD(1.0).apply_gradients([(lp.tensor([-2.0, 0.25]), w)])
    np.testing.assert_allclose(constraint.seen[0], [2.5, -0.75])
    np.testing.assert_allclose(w.numpy(), [1.0, -0.75])


def test_float32_stays_float32():
    for cls in (optimizers.SGD, optimizers.Adam, optimizers.RMSprop, optimizers.Nadam):
        w = lp.Variable(W0.astype(np.float32))
        opt = cls(momentum=0.9) if cls is optimizers.SGD else cls()
        opt.apply_gradients([(GRADS[0], w)])  # a float64 array gradient is cast
        assert w.dtype == np.float32
        assert all(v.dtype == np.float32 for v in opt.variables)
        np.testing.assert_allclose(
            w.numpy(),
            run(cls(momentum=0.9) if cls is optimizers.SGD else cls(), grads=GRADS[:1]),
            rtol=1e-5,
            atol=1e-6,
        )

"""Central finite differences against the autograd engine, in float64."""

import lapenna as lp
from lapenna.backend import host_np as np


def _as_inputs(inputs):
    return [
        lp.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
        if np.asarray(x).dtype.kind == "f"
        else x
        for x in inputs
    ]


def numerical_gradient(fn, inputs, index, weights, eps=1e-6):
    """d(sum(weights * fn(*inputs)))/d(inputs[index]) by central differences."""
    base = inputs[index].data
    grad = np.zeros_like(base)
    flat = base.reshape(-1)
    gflat = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = np.sum(weights * np.asarray(fn(*inputs).data, dtype=np.float64))
        flat[i] = old - eps
        minus = np.sum(weights * np.asarray(fn(*inputs).data, dtype=np.float64))
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0):
    """Compare the engine's gradients of ``fn`` with central differences.

    ``inputs`` are arrays (float ones become float64 Tensors that require grad; others
    pass through). The output is reduced with fixed random weights so every output entry
    matters. Raises ``AssertionError`` with the worst entry on mismatch; returns True.
    """
    previous = lp.floatx()
    lp.set_floatx("float64")
    try:
        tensors = _as_inputs(inputs)
        out = fn(*tensors)
        weights = np.random.default_rng(seed).standard_normal(out.shape)
        diff = [i for i, t in enumerate(tensors) if isinstance(t, lp.Tensor)]
        if out.requires_grad:
            grads = lp.grad(
                out, [tensors[i] for i in diff], grad_outputs=lp.tensor(weights), allow_unused=True
            )
        else:  # the output is constant in the inputs (e.g. the gradient of a linear op)
            grads = [None] * len(diff)
        for i, g in zip(diff, grads):
            expected = numerical_gradient(fn, tensors, i, weights, eps)
            got = np.zeros_like(expected) if g is None else g.numpy()
            assert got.shape == expected.shape, (
                f"input {i}: grad shape {got.shape} != {expected.shape}"
            )
            if not np.allclose(got, expected, atol=atol, rtol=rtol):
                worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
                raise AssertionError(
                    f"input {i}: analytic {got[worst]} != numeric {expected[worst]} at {worst}"
                )
    finally:
        lp.set_floatx(previous)
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=1):
    """Check second derivatives: the gradient (with ``create_graph``) is itself checked."""
    rng = np.random.default_rng(seed)
    previous = lp.floatx()
    lp.set_floatx("float64")
    try:
        probe = _as_inputs(inputs)
        shape = fn(*probe).shape
        weights = lp.tensor(rng.standard_normal(shape))
    finally:
        lp.set_floatx(previous)

    def first_grads(*xs):
        out = fn(*xs)
        diff = [x for x in xs if isinstance(x, lp.Tensor) and x.requires_grad]
        grads = lp.grad(out, diff, grad_outputs=weights, create_graph=True, allow_unused=True)
        parts = [g.reshape(-1) for g in grads if g is not None]
        return lp.ops.concatenate(parts) if parts else lp.tensor(np.zeros(0))

    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)

"""A two-layer network trained with nothing but Tensors and the autodiff.

The forward pass is two GEMMs and a ReLU; ``tape.gradient`` returns dL/dW for each
weight; the update is plain gradient descent. Run: ``python examples/mlp_from_scratch.py``.
"""

import argparse

import lapenna as lp
from lapenna import ops


def main(steps=300, hidden=64, lr=0.5, seed=0):
    lp.set_seed(seed)
    g = lp.backend.generator()
    n = 200
    x = g.standard_normal((2 * n, 2)).astype(lp.floatx())
    # label: inside or outside the circle of radius 1.1 -> needs a non-linear boundary
    y = ((x**2).sum(axis=1, keepdims=True) < 1.2).astype(lp.floatx())
    x, y = lp.tensor(x), lp.tensor(y)

    w1 = lp.Variable(g.standard_normal((2, hidden)).astype(lp.floatx()) * 0.5, name="w1")
    b1 = lp.Variable(lp.backend.xp.zeros(hidden, dtype=lp.floatx()), name="b1")
    w2 = lp.Variable(g.standard_normal((hidden, 1)).astype(lp.floatx()) * 0.1, name="w2")
    b2 = lp.Variable(lp.backend.xp.zeros(1, dtype=lp.floatx()), name="b2")
    params = [w1, b1, w2, b2]

    for step in range(steps + 1):
        with lp.GradientTape() as tape:
            p = ops.sigmoid(ops.relu(x @ w1 + b1) @ w2 + b2)
            loss = -(y * ops.log(p + 1e-7) + (1 - y) * ops.log(1 - p + 1e-7)).mean()
        grads = tape.gradient(loss, params)
        for w, grad in zip(params, grads):
            w.assign_sub(grad * lr)
        if step % max(1, steps // 10) == 0:
            accuracy = ((p.numpy() > 0.5) == (y.numpy() > 0.5)).mean()
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {accuracy:.3f}")
    return loss.item(), accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    main(steps=args.steps)

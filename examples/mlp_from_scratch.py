"""From one neuron to a two-layer network, with nothing but Tensors and the autodiff.

The course's first units, in three parts:

1. Backpropagation on a sigmoid neuron ``f(w, x) = 1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))``
   with the course's numbers: ``lp.grad`` gives the same gradients as the hand-worked
   computational graph (df/dw0 = -0.1966, df/dx0 = 0.3932, ...).
2. A perceptron (one sigmoid neuron trained by gradient descent) learns a linear boundary
   between two clouds of points, but cannot separate the inside of a circle from the
   outside: no straight line does.
3. A two-layer network (two GEMMs and a ReLU) learns the circle. ``tape.gradient`` returns
   dL/dW for each weight; the update is plain gradient descent.

Run: ``python examples/mlp_from_scratch.py`` (a few seconds).
"""

import argparse

import lapenna as lp
from lapenna import ops


def sigmoid_neuron():
    """The course's neuron: returns f and the gradients with respect to w0, x0, w1, x1, w2."""
    names = ("w0", "x0", "w1", "x1", "w2")
    values = dict(zip(names, (2.0, -1.0, -3.0, -2.0, -3.0)))
    inputs = {name: lp.tensor(value, requires_grad=True) for name, value in values.items()}
    w0, x0, w1, x1, w2 = inputs.values()
    f = 1 / (1 + ops.exp(-(w0 * x0 + w1 * x1 + w2)))
    grads = lp.grad(f, list(inputs.values()))
    result = {"f": f.item()} | {f"df/d{n}": g.item() for n, g in zip(names, grads)}
    print("sigmoid neuron: " + "  ".join(f"{k} = {v:.4f}" for k, v in result.items()))
    return result


def binary_cross_entropy(y, p):
    return -(y * ops.log(p + 1e-7) + (1 - y) * ops.log(1 - p + 1e-7)).mean()


def accuracy(y, p):
    return float(((p.numpy() > 0.5) == (y.numpy() > 0.5)).mean())


def make_data(kind, n, generator):
    """``"blobs"``: two Gaussian clouds (linearly separable); ``"circle"``: inside or
    outside a circle of radius about 1.1 (not linearly separable)."""
    floatx = lp.floatx()
    if kind == "blobs":
        y = (generator.random((n, 1)) < 0.5).astype(floatx)
        x = (generator.standard_normal((n, 2)) * 0.7 + (2 * y - 1) * 1.5).astype(floatx)
    else:
        x = generator.standard_normal((n, 2)).astype(floatx)
        y = ((x**2).sum(axis=1, keepdims=True) < 1.2).astype(floatx)
    return lp.tensor(x), lp.tensor(y)


def gradient_descent(params, forward, x, y, steps, lr, label):
    """Minimise the binary cross-entropy of ``forward(x)``; returns the final (loss, acc)."""
    for step in range(steps + 1):
        with lp.GradientTape() as tape:
            p = forward(x)
            loss = binary_cross_entropy(y, p)
        grads = tape.gradient(loss, params)
        for w, grad in zip(params, grads):
            w.assign_sub(grad * lr)
        if step % max(1, steps // 5) == 0:
            print(
                f"{label:10s} step {step:4d}  loss {loss.item():.4f}  accuracy {accuracy(y, p):.3f}"
            )
    return loss.item(), accuracy(y, p)


def perceptron(kind, steps, lr, generator, n=400):
    """One sigmoid neuron, ``p = sigmoid(x @ w + b)``, trained on ``kind`` data."""
    x, y = make_data(kind, n, generator)
    w = lp.Variable(lp.backend.xp.zeros((2, 1), dtype=lp.floatx()), name="w")
    b = lp.Variable(lp.backend.xp.zeros(1, dtype=lp.floatx()), name="b")
    return gradient_descent([w, b], lambda x: ops.sigmoid(x @ w + b), x, y, steps, lr, kind)


def two_layer_network(steps, lr, hidden, generator, n=400):
    """``p = sigmoid(relu(x @ w1 + b1) @ w2 + b2)`` on the circle data."""
    x, y = make_data("circle", n, generator)
    floatx = lp.floatx()
    w1 = lp.Variable(generator.standard_normal((2, hidden)).astype(floatx) * 0.5, name="w1")
    b1 = lp.Variable(lp.backend.xp.zeros(hidden, dtype=floatx), name="b1")
    w2 = lp.Variable(generator.standard_normal((hidden, 1)).astype(floatx) * 0.1, name="w2")
    b2 = lp.Variable(lp.backend.xp.zeros(1, dtype=floatx), name="b2")

    def forward(x):
        return ops.sigmoid(ops.relu(x @ w1 + b1) @ w2 + b2)

    return gradient_descent([w1, b1, w2, b2], forward, x, y, steps, lr, "mlp")


def main(steps=300, hidden=64, lr=0.5, seed=0):
    """Run the three parts; returns their results in a dict."""
    lp.set_seed(seed)
    generator = lp.backend.generator()
    neuron = sigmoid_neuron()
    blobs = perceptron("blobs", steps, lr, generator)
    circle = perceptron("circle", steps, lr, generator)
    mlp = two_layer_network(steps, lr, hidden, generator)
    print(
        f"accuracy: perceptron on blobs {blobs[1]:.3f}, perceptron on the circle "
        f"{circle[1]:.3f}, two-layer network on the circle {mlp[1]:.3f}"
    )
    return {"neuron": neuron, "perceptron_blobs": blobs, "perceptron_circle": circle, "mlp": mlp}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(steps=args.steps, hidden=args.hidden, lr=args.lr, seed=args.seed)

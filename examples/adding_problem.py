"""The adding problem: why LSTMs remember and plain RNNs forget.

Each input is a sequence of ``length`` steps with two features: a random number in [0, 1)
and a marker that is 1 at exactly two steps. The target is the sum of the two marked
numbers (Hochreiter and Schmidhuber, 1997). Predicting the mean, 1, always gives a mean
squared error of 1/6 = 0.167 (the variance of a sum of two uniforms); a model beats it only
by carrying the first marked number across the sequence until the second one comes.

An LSTM's cell state is a sum along time (``c_t = f c_{t-1} + i g``): with the forget gate
near 1 the gradient flows back unchanged, so the LSTM learns to keep the number. A
SimpleRNN multiplies the gradient by ``R^T diag(1 - h^2)`` at every step; over 100 steps it
vanishes, and the same budget leaves it at the baseline.

Run: ``python examples/adding_problem.py`` (length 100; a few minutes on two cores) or
``--length 30`` for a quick look. It prints the validation MSE of both models per epoch.
"""

import argparse

import numpy as np

import lapenna as lp

BASELINE_MSE = 1 / 6


def adding_problem(samples, length, seed=0):
    """``(x, y)``: x ``(samples, length, 2)`` float32, y ``(samples, 1)``."""
    rng = np.random.default_rng(seed)
    x = np.zeros((samples, length, 2), dtype="float32")
    x[:, :, 0] = rng.random((samples, length))
    first = rng.integers(0, length // 2, samples)  # one marker in each half, as in the paper
    second = rng.integers(length // 2, length, samples)
    rows = np.arange(samples)
    x[rows, first, 1] = 1.0
    x[rows, second, 1] = 1.0
    y = (x[:, :, 0] * x[:, :, 1]).sum(axis=1, keepdims=True)
    return x, y


def build(kind, length, units=32, learning_rate=0.01):
    """``Input -> LSTM/SimpleRNN(units) -> Dense(1)``, Adam on the mean squared error."""
    model = lp.Sequential(
        [lp.layers.Input((length, 2)), getattr(lp.layers, kind)(units), lp.layers.Dense(1)],
        name=f"adding_{kind.lower()}",
    )
    model.compile(optimizer=lp.optimizers.Adam(learning_rate), loss="mse")
    return model


def main(
    length=100,
    samples=4096,
    epochs=30,
    batch_size=64,
    units=32,
    seed=0,
    verbose=0,
    kinds=("LSTM", "SimpleRNN"),
):
    """Train an LSTM and a SimpleRNN with the same budget; returns ``{kind: val MSEs}``."""
    x, y = adding_problem(samples, length, seed)
    x_val, y_val = adding_problem(1024, length, seed + 1)
    results = {}
    for kind in kinds:
        lp.set_seed(seed)
        model = build(kind, length, units)
        history = model.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            validation_data=(x_val, y_val),
            verbose=verbose,
        )
        results[kind] = history.history["val_loss"]
        print(f"{kind:9s} val MSE by epoch: " + " ".join(f"{v:.4f}" for v in results[kind]))
    print(f"baseline (always predict 1): {BASELINE_MSE:.4f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    main(args.length, args.samples, args.epochs, args.batch_size)

"""Why initialization matters: activations and gradients layer by layer in a deep MLP.

The course's experiment: 16 random inputs go through a 7-layer MLP of width 4096, with tanh
or with ReLU, under four initializations of the kernels:

- all zeros: every unit of a layer computes the same thing (and here, nothing at all), so
  no amount of training can make them differ;
- small random (normal, standard deviation 0.01): each layer shrinks the signal, the
  activations and the gradients vanish towards the last layers;
- Xavier/Glorot (variance 2 / (fan_in + fan_out), Glorot and Bengio, AISTATS 2010): keeps
  the scale of tanh activations from layer to layer;
- He/Kaiming (variance 2 / fan_in, He et al., ICCV 2015): keeps it for ReLU, which zeroes
  half of its inputs; with Xavier the ReLU activations halve their variance at each layer.

For each combination the script prints and plots the standard deviation of every layer's
activations (forward) and of the gradient of a loss with respect to them (backward, a random
upstream gradient at the top): with small weights the gradient shrinks by the same factor
as the activations at each layer it travels down.

Run: ``python examples/initialization.py`` (under a minute on two cores; ``--width 512``
for a quick look).
"""

import argparse
import os

import numpy as np

import lapenna as lp
from lapenna import layers

INITIALIZERS = {
    "zeros": lambda: lp.initializers.Zeros(),
    "small random": lambda: lp.initializers.RandomNormal(stddev=0.01),
    "Xavier": lambda: lp.initializers.GlorotNormal(),
    "He": lambda: lp.initializers.HeNormal(),
}


def layer_statistics(activation, initializer, width, depth, x):
    """Standard deviations of each layer's output and of the loss's gradient there."""
    stack = [
        layers.Dense(width, activation=activation, use_bias=False, kernel_initializer=initializer)
        for _ in range(depth)
    ]
    outputs = []
    with lp.GradientTape() as tape:
        h = lp.tensor(x)
        for layer in stack:
            h = layer(h)
            outputs.append(h)
        # a random upstream gradient at the top, as if a loss sat there
        upstream = lp.tensor(lp.backend.generator().standard_normal(h.shape).astype(lp.floatx()))
        loss = (h * upstream).sum()
    grads = tape.gradient(loss, outputs)
    return (
        [float(out.numpy().std()) for out in outputs],
        [float(g.numpy().std()) for g in grads],
    )


def plot(results, depth, path):
    """A 2x2 figure: activation and gradient standard deviations per layer, log scale."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 7), layout="constrained")
    panels = figure.subplots(2, 2, sharex=True)
    for column, activation in enumerate(("tanh", "relu")):
        for row, (key, what) in enumerate((("activations", "activations"), ("grads", "gradient"))):
            axes = panels[row, column]
            for name in INITIALIZERS:
                values = np.array(results[activation][name][key])
                values[values == 0] = np.nan  # log scale: all-zero layers are left out
                axes.plot(range(1, depth + 1), values, marker="o", label=name)
            axes.set_yscale("log")
            axes.set_title(f"{activation}: {what} per layer")
            axes.set_xlabel("layer")
            axes.set_ylabel("standard deviation")
            axes.grid(True, alpha=0.3)
    handles, labels = panels[0, 0].get_legend_handles_labels()
    figure.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=len(labels),
        title="initialization (zeros: everything is 0, not drawn on the log scale)",
    )
    figure.suptitle("Activations and gradients per layer for four initializations")
    figure.savefig(path, dpi=100)


def main(width=4096, depth=7, batch=16, out="initialization_run", seed=0):
    """Run the eight combinations; returns ``results[activation][init]`` with the lists
    ``"activations"`` and ``"grads"`` (standard deviations per layer) and the plot path."""
    lp.set_seed(seed)
    os.makedirs(out, exist_ok=True)
    x = lp.backend.generator().standard_normal((batch, width)).astype(lp.floatx())
    results = {}
    for activation in ("tanh", "relu"):
        results[activation] = {}
        for name, make in INITIALIZERS.items():
            activations, grads = layer_statistics(activation, make(), width, depth, x)
            results[activation][name] = {"activations": activations, "grads": grads}
            print(
                f"{activation:4s} {name:12s} activation std "
                + " ".join(f"{v:8.2e}" for v in activations)
            )
    path = os.path.join(out, "initialization.png")
    plot(results, depth, path)
    print(f"plot written to {path}")
    return {"results": results, "path": path}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--depth", type=int, default=7)
    parser.add_argument("--out", default="initialization_run", help="folder for the PNG")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(width=args.width, depth=args.depth, out=args.out, seed=args.seed)

"""Batch normalization or not: the same CNN trained twice, learning curves side by side.

Batch normalization (Ioffe and Szegedy, ICML 2015) standardizes each channel over the batch
(and the spatial positions of a feature map), then scales and shifts it with two trained
vectors, gamma and beta. In inference it uses moving averages of the batch statistics
instead; those two vectors are weights too, but not trainable: four vectors per feature in
all. Placed between a convolution and its ReLU it keeps the inputs of every layer at a
stable scale, so plain SGD can take larger steps and the network trains in fewer epochs.

Both networks here are identical except for the BatchNormalization layers (the convolutions
before them have no bias: beta plays that role); they start from the same seed and see the
same batches. The figure compares their training and validation loss and accuracy.

Run: ``python examples/batchnorm_vs_none.py`` (about a minute on two cores).
"""

import argparse
import os

import lapenna as lp
from lapenna import layers


def batch_norm_layer(name):
    # Keras's default momentum of 0.99 needs many hundreds of steps before the moving
    # variance forgets its initial value of 1; a short run would then evaluate with wrong
    # statistics. 0.9 (PyTorch's default) follows the batches within a few dozen steps.
    return layers.BatchNormalization(momentum=0.9, name=name)


def conv_block(filters, batch_norm, name):
    """Conv 3x3 -> (BatchNorm) -> ReLU -> 2x2 max pooling."""
    block = [layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm, name=name)]
    if batch_norm:
        block.append(batch_norm_layer(f"{name}_bn"))
    block += [layers.Activation("relu", name=f"{name}_relu"), layers.MaxPooling2D(2)]
    return block


def build_cnn(batch_norm, lr=0.05, input_shape=(28, 28, 1), classes=10):
    """Two convolution blocks and a Dense classifier, with or without batch norm."""
    stack = [layers.Input(input_shape)]
    stack += conv_block(16, batch_norm, "conv1") + conv_block(32, batch_norm, "conv2")
    stack += [layers.Flatten(), layers.Dense(64, use_bias=not batch_norm, name="fc")]
    if batch_norm:
        stack.append(batch_norm_layer("fc_bn"))
    stack += [layers.Activation("relu"), layers.Dense(classes, activation="softmax")]
    model = lp.Sequential(stack, name="with_batchnorm" if batch_norm else "without_batchnorm")
    model.compile(
        optimizer=lp.optimizers.SGD(lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def plot_comparison(histories, path):
    """Loss and accuracy, training (dashed) and validation (solid), for both runs."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4), layout="constrained")
    for axes, metric in zip(figure.subplots(1, 2), ("loss", "accuracy")):
        for (label, history), color in zip(histories.items(), ("tab:blue", "tab:red")):
            epochs = range(1, len(history[metric]) + 1)
            axes.plot(epochs, history[metric], "--", color=color, label=f"{label}, training")
            axes.plot(epochs, history[f"val_{metric}"], color=color, label=f"{label}, validation")
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.set_title(metric)
        axes.grid(True, alpha=0.3)
        axes.legend()
    figure.suptitle("The same CNN with and without batch normalization (plain SGD)")
    figure.savefig(path, dpi=100)


def main(epochs=6, batch_size=64, n_train=None, lr=0.05, out="batchnorm_run", seed=0, verbose=2):
    """Train both networks; returns their histories and the plot path."""
    os.makedirs(out, exist_ok=True)
    (x_train, y_train), _ = lp.datasets.mnist_sample.load_data()
    scale = lp.backend.xp.asarray(1 / 255, dtype=lp.floatx())
    x_train, y_train = x_train[:n_train] * scale, y_train[:n_train]
    histories = {}
    for batch_norm in (False, True):
        lp.set_seed(seed)
        model = build_cnn(batch_norm, lr)
        history = model.fit(
            x_train,
            y_train,
            epochs=epochs,
            batch_size=batch_size,
            validation_split=0.2,
            verbose=verbose,
        )
        label = "with batch norm" if batch_norm else "without"
        histories[label] = history.history
        print(f"{label}: final validation accuracy {history.history['val_accuracy'][-1]:.4f}")
    path = os.path.join(out, "batchnorm_vs_none.png")
    plot_comparison(histories, path)
    print(f"comparison written to {path}")
    return {"histories": histories, "path": path}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--out", default="batchnorm_run", help="folder for the PNG")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        out=args.out,
        seed=args.seed,
    )

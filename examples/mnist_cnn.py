"""A LeNet-style CNN on MNIST digits: the course's first convolutional network.

Two convolution + max-pooling stages extract features (5x5 filters: 28x28 -> 24x24 -> 12x12
-> 8x8 -> 4x4, the output-size rule ``(W - F + 2P) / S + 1``), then two Dense layers
classify them. Every convolution is one GEMM over the image patches (im2col), which
``model.summary()`` counts in multiply-accumulates per layer. The data is the 5,000-digit
MNIST sample shipped with lapenna (no download). The script writes the learning curves, a
confusion matrix and a grid of test digits with their predictions (wrong ones in red).

``lapenna.applications.LeNet5`` builds the paper's variant (tanh, average pooling);
this one uses ReLU and max pooling, which train faster.

Run: ``python examples/mnist_cnn.py`` (one to two minutes on two cores, test accuracy about
0.97).
"""

import argparse
import os

import lapenna as lp
from lapenna import layers


def build_cnn(input_shape=(28, 28, 1), classes=10):
    """Conv(6, 5x5) - pool - Conv(16, 5x5) - pool - Dense(120) - Dense(84) - softmax."""
    model = lp.Sequential(
        [
            layers.Input(input_shape),
            layers.Conv2D(6, 5, activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(16, 5, activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(120, activation="relu", name="fc1"),
            layers.Dense(84, activation="relu", name="fc2"),
            layers.Dense(classes, activation="softmax", name="predictions"),
        ],
        name="mnist_cnn",
    )
    model.compile(
        optimizer=lp.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def load_mnist_sample(n_train=None, n_test=None):
    """The shipped sample as floats in [0, 1]; optionally only the first samples."""
    (x_train, y_train), (x_test, y_test) = lp.datasets.mnist_sample.load_data()
    scale = lp.backend.xp.asarray(1 / 255, dtype=lp.floatx())
    return (x_train[:n_train] * scale, y_train[:n_train]), (
        x_test[:n_test] * scale,
        y_test[:n_test],
    )


def main(
    epochs=15, batch_size=32, n_train=None, n_test=None, out="mnist_cnn_run", seed=0, verbose=2
):
    """Train, evaluate and plot; returns a dict with the history, the test loss and accuracy
    and the paths of the PNGs."""
    lp.set_seed(seed)
    os.makedirs(out, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = load_mnist_sample(n_train, n_test)
    model = build_cnn()
    if verbose:
        model.summary()
    history = model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=0.1,
        verbose=verbose,
    )
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    predicted = model.predict(x_test, verbose=0).argmax(axis=-1)
    paths = {
        "curves": os.path.join(out, "learning_curves.png"),
        "confusion": os.path.join(out, "confusion_matrix.png"),
        "digits": os.path.join(out, "test_digits.png"),
    }
    lp.plot.learning_curves(history, metrics=("loss", "accuracy"), path=paths["curves"])
    lp.plot.confusion_matrix(y_test, predicted, path=paths["confusion"])
    lp.plot.images(
        x_test[:32], labels=y_test[:32], predictions=predicted[:32], path=paths["digits"]
    )
    print(f"test accuracy: {test_accuracy:.4f}  test loss: {test_loss:.4f}  (plots in {out})")
    return {
        "history": history.history,
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "paths": paths,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="mnist_cnn_run", help="folder for the PNGs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(epochs=args.epochs, batch_size=args.batch_size, out=args.out, seed=args.seed)

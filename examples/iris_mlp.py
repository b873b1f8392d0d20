"""A deep MLP on iris, then the same MLP with L2 and Dropout: the course's regularization unit.

The course trains a deliberately oversized network on a 4-feature, 150-sample problem: seven
hidden ReLU layers (64, 128, 128, 128, 64, 64, 64), a 3-way softmax, Adam, categorical
cross-entropy, 200 epochs, batches of 40, and the last quarter of the training data held out
for validation. It then adds an L2 penalty of 1e-5 on every kernel and Dropout 0.3 after every
hidden layer, and compares the training and validation loss of both runs epoch by epoch.
The plain network drives its training loss to almost zero, memorising its 90 training
samples; the penalty and the dropout keep the weights small and the units redundant, at the
price of a noisier training curve. The gap between the training and the validation curve is
what regularization is about.

Run: ``python examples/iris_mlp.py`` (under a minute on two cores); it writes
``iris_plain.png`` and ``iris_regularized.png`` into ``--out`` and prints test accuracies.
"""

import argparse
import os

import numpy as np

import lapenna as lp

HIDDEN_UNITS = (64, 128, 128, 128, 64, 64, 64)


def build_mlp(regularized=False, l2=1e-5, dropout=0.3, features=4, classes=3):
    """The course's MLP, compiled; ``regularized`` adds L2 on every kernel and Dropout."""
    model = lp.Sequential([lp.layers.Input((features,))], name="iris_mlp")
    for units in HIDDEN_UNITS:
        penalty = lp.regularizers.L2(l2) if regularized else None
        model.add(lp.layers.Dense(units, activation="relu", kernel_regularizer=penalty))
        if regularized:
            model.add(lp.layers.Dropout(dropout))
    model.add(lp.layers.Dense(classes, activation="softmax"))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def load_iris(seed=0):
    """Iris split 120 / 30, features standardized with the training statistics, labels
    one-hot (categorical cross-entropy expects a probability vector per sample)."""
    (x_train, y_train), (x_test, y_test) = lp.datasets.iris.load_data(test_split=0.2, seed=seed)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    one_hot = np.eye(3, dtype=lp.floatx())
    return ((x_train - mean) / std, one_hot[y_train]), ((x_test - mean) / std, one_hot[y_test])


def train(regularized, data, epochs=200, batch_size=40, seed=0, verbose=0):
    """Build and fit one variant; returns the model and its History."""
    lp.set_seed(seed)
    (x_train, y_train), _ = data
    model = build_mlp(regularized=regularized)
    history = model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=0.25,
        verbose=verbose,
    )
    return model, history


def main(epochs=200, batch_size=40, out="iris_runs", seed=0, verbose=0):
    """Train both variants, plot their learning curves and evaluate them on the test split.

    Returns:
        a dict per variant (``"plain"``, ``"regularized"``) with the ``history`` dict, the
        final ``val_accuracy``, the ``test_accuracy`` and the ``plot`` path.
    """
    os.makedirs(out, exist_ok=True)
    data = load_iris(seed)
    x_test, y_test = data[1]
    results = {}
    for variant in ("plain", "regularized"):
        model, history = train(variant == "regularized", data, epochs, batch_size, seed, verbose)
        path = os.path.join(out, f"iris_{variant}.png")
        figure = lp.plot.learning_curves(history, metrics=("loss", "accuracy"))
        figure.suptitle(f"iris MLP, {variant}: training and validation per epoch")
        figure.savefig(path, dpi=100)
        test = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
        results[variant] = {
            "history": history.history,
            "val_accuracy": history.history["val_accuracy"][-1],
            "test_accuracy": test["accuracy"],
            "plot": path,
        }
        print(
            f"{variant:12s} loss {history.history['loss'][-1]:.4f}  "
            f"val_loss {history.history['val_loss'][-1]:.4f}  "
            f"val_accuracy {results[variant]['val_accuracy']:.3f}  "
            f"test_accuracy {test['accuracy']:.3f}  -> {path}"
        )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=40)
    parser.add_argument("--out", default="iris_runs", help="folder for the PNGs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(epochs=args.epochs, batch_size=args.batch_size, out=args.out, seed=args.seed)

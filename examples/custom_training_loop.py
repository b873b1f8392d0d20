"""Training without ``fit``: the loop written out with GradientTape and apply_gradients.

What ``model.fit`` does for every batch, spelled out as the course writes it:

1. the forward pass inside a ``GradientTape``, with ``training=True`` (dropout active,
   batch normalization on batch statistics);
2. the loss, plus the layers' regularization penalties (``model.losses``);
3. ``tape.gradient(loss, model.trainable_variables)``: one backward pass;
4. ``optimizer.apply_gradients(zip(grads, variables))``: one SGD step, in place.

The learning rate comes from a schedule object that maps the optimizer's step counter to
0.1, then 0.01, then 0.001 (``PiecewiseConstantDecay``, the course's step schedule). Metrics
accumulate over an epoch with ``update_state`` and are read with ``result``. The data are
scikit-learn's 8x8 digits, flattened to 64 features.

Run: ``python examples/custom_training_loop.py`` (a few seconds, test accuracy about 0.97).
"""

import argparse

import numpy as np

import lapenna as lp
from lapenna import layers


def load_digits():
    """The 8x8 digits as 64 features in [0, 1] and integer labels, split 80 / 20."""
    (x_train, y_train), (x_test, y_test) = lp.datasets.digits.load_data()
    scale = np.asarray(1 / 16, dtype=lp.floatx())
    return (x_train.reshape(len(x_train), -1) * scale, y_train), (
        x_test.reshape(len(x_test), -1) * scale,
        y_test,
    )


def build_model(classes=10):
    return lp.Sequential(
        [
            layers.Input((64,)),
            layers.Dense(128, activation="relu", kernel_regularizer=lp.regularizers.L2(1e-4)),
            layers.Dropout(0.2),
            layers.Dense(classes, activation="softmax"),
        ]
    )


def train_epoch(model, optimizer, loss_fn, dataset, loss_mean, accuracy):
    """One pass over ``dataset``, updating the running loss and accuracy."""
    for x, y in dataset:
        with lp.GradientTape() as tape:
            probabilities = model(x, training=True)
            loss = loss_fn(y, probabilities) + sum(model.losses)
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        loss_mean.update_state(loss.item())
        accuracy.update_state(y, probabilities)


def main(epochs=15, batch_size=32, seed=0, verbose=1):
    """Train with the hand-written loop; returns per-epoch losses, learning rates and the
    test accuracy."""
    lp.set_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_digits()
    dataset = lp.data.Dataset.from_tensor_slices((x_train, y_train))
    dataset = dataset.shuffle(len(x_train)).batch(batch_size)
    steps_per_epoch = len(dataset)
    # 0.1 for the first third of the epochs, 0.01 for the second, 0.001 for the rest; the
    # step counter starts at 0 and a boundary step still takes the earlier value
    third = max(1, epochs // 3) * steps_per_epoch
    schedule = lp.optimizers.schedules.PiecewiseConstantDecay(
        boundaries=[third - 1, 2 * third - 1], values=[0.1, 0.01, 0.001]
    )
    optimizer = lp.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    loss_fn = lp.losses.SparseCategoricalCrossentropy()
    loss_mean = lp.metrics.Mean(name="loss")
    accuracy = lp.metrics.SparseCategoricalAccuracy()
    model = build_model()

    history = {"loss": [], "accuracy": [], "learning_rate": []}
    for epoch in range(epochs):
        learning_rate = optimizer.learning_rate  # the schedule at the current step
        loss_mean.reset_state()
        accuracy.reset_state()
        train_epoch(model, optimizer, loss_fn, dataset, loss_mean, accuracy)
        history["loss"].append(float(loss_mean.result()))
        history["accuracy"].append(float(accuracy.result()))
        history["learning_rate"].append(learning_rate)
        if verbose:
            print(
                f"epoch {epoch + 1:2d}/{epochs}  learning rate {learning_rate:g}  "
                f"loss {history['loss'][-1]:.4f}  accuracy {history['accuracy'][-1]:.4f}"
            )
    accuracy.reset_state()
    accuracy.update_state(y_test, model(x_test, training=False))
    test_accuracy = float(accuracy.result())
    print(f"test accuracy: {test_accuracy:.4f}  ({optimizer.iterations} optimizer steps)")
    return {"history": history, "test_accuracy": test_accuracy}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)

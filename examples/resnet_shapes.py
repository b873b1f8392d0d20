"""A CIFAR-style ResNet-18 on the synthetic ``shapes`` images: residual learning in practice.

ResNet stacks residual blocks ``y = relu(x + F(x))`` in four stages (the feature maps halve
and the channels double from one stage to the next), so gradients reach the first layers
through the identity paths (He et al., CVPR 2016). The CIFAR stem is a single 3x3
convolution without pooling, for 32x32 inputs. The model comes from the zoo
(``lapenna.applications.ResNet18``) with narrow stages so that it trains on a CPU in a few
minutes. Training uses SGD with momentum and the course's step schedule: the learning rate
is multiplied by 0.1 twice (after half and three quarters of the epochs; the course does it
after epochs 30, 60 and 90 of a long ImageNet run), a ``PiecewiseConstantDecay``.

The data is generated (``lapenna.datasets.shapes``): circles, squares and triangles of
random sizes and colours on noisy backgrounds, no download.

Run: ``python examples/resnet_shapes.py`` (about two minutes on two cores, test accuracy above
0.95).
"""

import argparse
import os

import lapenna as lp
from lapenna.applications import ResNet18
from lapenna.datasets import shapes


def step_schedule(epochs, steps_per_epoch, lr=0.1):
    """``lr`` until half of the epochs, ``lr / 10`` until three quarters, then ``lr / 100``."""
    first = max(1, int(epochs * 0.5))
    second = max(first + 1, int(epochs * 0.75))
    boundaries = [first * steps_per_epoch, second * steps_per_epoch]
    return lp.optimizers.schedules.PiecewiseConstantDecay(boundaries, [lr, lr / 10, lr / 100])


def main(
    epochs=10,
    batch_size=64,
    n_train=2000,
    n_test=500,
    image_size=32,
    base_filters=8,
    out="resnet_shapes_run",
    seed=0,
    verbose=2,
):
    """Train the ResNet on shapes; returns the history, test accuracy and plot paths."""
    lp.set_seed(seed)
    os.makedirs(out, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = shapes.load_data(n_train, n_test, image_size, seed)
    scale = lp.backend.xp.asarray(1 / 255, dtype=lp.floatx())
    x_train, x_test = x_train * scale, x_test * scale

    model = ResNet18(
        input_shape=(image_size, image_size, 3),
        classes=len(shapes.CLASS_NAMES),
        stem="cifar",
        base_filters=base_filters,
    )
    steps_per_epoch = -(-int(len(x_train) * 0.9) // batch_size)
    optimizer = lp.optimizers.SGD(step_schedule(epochs, steps_per_epoch), momentum=0.9)
    model.compile(optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if verbose:
        print(f"{model.name}: {model.count_params():,} parameters")
    history = model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=0.1,
        verbose=verbose,
    )
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    predicted = model.predict(x_test[:24], verbose=0)
    paths = {
        "curves": os.path.join(out, "learning_curves.png"),
        "samples": os.path.join(out, "test_shapes.png"),
    }
    lp.plot.learning_curves(history, metrics=("loss", "accuracy"), path=paths["curves"])
    lp.plot.images(
        x_test[:24],
        labels=y_test[:24],
        predictions=predicted,
        class_names=shapes.CLASS_NAMES,
        path=paths["samples"],
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
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--train-samples", type=int, default=2000)
    parser.add_argument("--base-filters", type=int, default=8)
    parser.add_argument("--out", default="resnet_shapes_run", help="folder for the PNGs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(
        epochs=args.epochs,
        batch_size=args.batch_size,
        n_train=args.train_samples,
        base_filters=args.base_filters,
        out=args.out,
        seed=args.seed,
    )

"""Measure the tabular benchmark that the tuning replays use: real learning curves of MLPs.

Each configuration (hidden width, depth, learning rate, optimizer, batch size) is drawn
from the search space below with the study seed 2026 and trial number i, trained with
lapenna for 20 epochs on scikit-learn's 8x8 digits (1,437 training images) and validated
after every epoch on the 360 held-out images. The file written holds, per configuration,
its hyperparameters and its validation accuracy and loss after every epoch: searchers and
stopping rules can then be replayed on it in milliseconds (``lapenna.tuning.benchmark``).

Run: ``python examples/tuning/make_digits_curves.py --configs 200`` (about ten minutes on
one core); the result ships as ``src/lapenna/tuning/data/digits_mlp_curves.json``.
"""

import argparse
import json
import time

import lapenna as lp
from lapenna import layers
from lapenna.datasets import digits
from lapenna.tuning import HyperParameters, trial_rng

EPOCHS = 20
SEED = 2026


def search_space():
    hp = HyperParameters()
    hp.Int("width", 8, 256, sampling="log")
    hp.Int("depth", 1, 3)
    hp.Float("learning_rate", 1e-4, 1.0, sampling="log")
    hp.Choice("optimizer", ["sgd", "adam"])
    hp.Choice("batch_size", [16, 32, 64, 128])
    return hp


def build(params):
    model = lp.Sequential([layers.Input((8, 8, 1)), layers.Flatten()])
    for _ in range(params["depth"]):
        model.add(layers.Dense(params["width"], activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    if params["optimizer"] == "sgd":
        optimizer = lp.optimizers.SGD(learning_rate=params["learning_rate"], momentum=0.9)
    else:
        optimizer = lp.optimizers.Adam(learning_rate=params["learning_rate"])
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def measure(number, train, test, epochs=EPOCHS):
    params = search_space().sample(trial_rng(SEED, number))
    lp.set_seed(number)
    model = build(params)
    start = time.perf_counter()
    history = model.fit(
        *train,
        batch_size=params["batch_size"],
        epochs=epochs,
        validation_data=test,
        validation_batch_size=512,
        verbose=0,
    )
    return {
        "number": number,
        "params": params,
        "val_accuracy": [round(v, 5) for v in history.history["val_accuracy"]],
        "val_loss": [round(v, 5) if v == v else None for v in history.history["val_loss"]],
        "seconds": round(time.perf_counter() - start, 3),
    }


def main(configs=200, out="src/lapenna/tuning/data/digits_mlp_curves.json", epochs=EPOCHS):
    lp.set_num_threads(1)
    (x, y), (xt, yt) = digits.load_data(test_split=0.2, seed=0)
    train, test = (x.astype("float32") / 16.0, y), (xt.astype("float32") / 16.0, yt)
    rows = []
    for number in range(configs):
        rows.append(measure(number, train, test, epochs))
        best = max(rows[-1]["val_accuracy"])
        print(f"{number:4d} {rows[-1]['params']} best {best:.4f} ({rows[-1]['seconds']:.1f} s)")
    document = {
        "dataset": "digits (scikit-learn), 1,437 train / 360 validation images",
        "model": "MLP: Flatten, depth x Dense(width, relu), Dense(10, softmax)",
        "epochs": epochs,
        "seed": SEED,
        "space": search_space().get_config()["space"],
        "configs": rows,
    }
    with open(out, "w") as f:
        json.dump(document, f, separators=(",", ":"))
    return document


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=200)
    parser.add_argument("--out", default="src/lapenna/tuning/data/digits_mlp_curves.json")
    args = parser.parse_args()
    main(args.configs, args.out)

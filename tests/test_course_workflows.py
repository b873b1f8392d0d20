"""Convergence gates: the course's small networks reach their accuracy on real data.

Each gate trains a seeded network in its course configuration on a dataset that ships with
scikit-learn (no download) and checks an accuracy the course reports as routine; a
framework whose gradients, optimizer or layers are subtly wrong does not get there.
"""

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers

pytest.importorskip("sklearn")

IRIS_HIDDEN_UNITS = (64, 128, 128, 128, 64, 64, 64)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Run on one BLAS thread: these matrices are so small (a batch of 40 by 128) that
    waking a second OpenBLAS thread costs more than the product, 3 to 10 times the time on a
    busy two-core machine. The previous setting is restored."""
    previous = lp.get_num_threads()
    lp.set_num_threads(1)
    yield
    lp.set_num_threads(previous)


def iris_data():
    """Iris, 120 training samples (90 fit + 30 validation), standardized, one-hot."""
    (x, y), _ = lp.datasets.iris.load_data(test_split=0.2, seed=0)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x, np.eye(3, dtype=lp.floatx())[y]


def iris_mlp(regularized):
    """Seven hidden ReLU layers and a softmax; with L2 1e-5 and Dropout 0.3 if regularized."""
    model = lp.Sequential([layers.Input((4,))])
    for units in IRIS_HIDDEN_UNITS:
        penalty = lp.regularizers.L2(1e-5) if regularized else None
        model.add(layers.Dense(units, activation="relu", kernel_regularizer=penalty))
        if regularized:
            model.add(layers.Dropout(0.3))
    model.add(layers.Dense(3, activation="softmax"))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("regularized", [False, True], ids=["plain", "l2_dropout"])
def test_iris_mlp_reaches_90_percent_validation_accuracy(regularized):
    lp.set_seed(0)
    x, y = iris_data()
    model = iris_mlp(regularized)
    history = model.fit(x, y, epochs=200, batch_size=40, validation_split=0.25, verbose=0)
    assert len(history.history["val_accuracy"]) == 200
    assert history.history["val_accuracy"][-1] >= 0.9
    assert history.history["loss"][-1] < history.history["loss"][0] / 5


def test_small_cnn_on_digits_reaches_95_percent_test_accuracy():
    lp.set_seed(0)
    (x_train, y_train), (x_test, y_test) = lp.datasets.digits.load_data()
    scale = np.asarray(1 / 16, dtype=lp.floatx())
    x_train, x_test = x_train * scale, x_test * scale
    model = lp.Sequential(
        [
            layers.Input((8, 8, 1)),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=10, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.95

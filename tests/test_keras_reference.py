"""The Keras differential harness itself: it passes on equal models and fails on unequal ones."""

import numpy as np
import pytest

import lapenna as lp

pytest.importorskip("keras")
from lapenna.testing.keras_reference import compare_with_keras, keras_module  # noqa: E402


def lenet(k):
    return k.Sequential(
        [
            k.Input((28, 28, 1)),
            k.layers.Conv2D(6, 5, activation="relu", padding="same"),
            k.layers.MaxPooling2D(),
            k.layers.Conv2D(16, 5, activation="relu"),
            k.layers.BatchNormalization(),
            k.layers.Flatten(),
            k.layers.Dense(10, activation="softmax"),
        ]
    )


def batch(shape, classes, n=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *shape)).astype("float32")
    return x, np.eye(classes, dtype="float32")[rng.integers(0, classes, n)]


def test_lenet_style_model_matches_keras_in_counts_outputs_and_one_step():
    x, y = batch((28, 28, 1), 10)
    report = compare_with_keras(lenet, x, y, loss="categorical_crossentropy")
    assert report.params == 18_646
    assert report.output_error < 1e-5
    # the inputs, conv kernels and biases, BN gamma/beta and moving statistics, dense
    assert len(report.gradient_errors) == 11


def test_harness_reports_a_different_activation():
    def model(k):
        act = "tanh" if k is lp else "relu"
        return k.Sequential([k.Input((4,)), k.layers.Dense(3, activation=act)])

    x, y = batch((4,), 3)
    with pytest.raises(AssertionError, match="output 0"):
        compare_with_keras(model, x, y)


def test_harness_reports_a_different_parameter_count():
    def model(k):
        return k.Sequential([k.Input((4,)), k.layers.Dense(3, use_bias=k is not lp)])

    with pytest.raises(AssertionError, match="parameters: Keras has 15, lapenna 12"):
        compare_with_keras(model, *batch((4,), 3))


def test_harness_reports_a_different_gradient():
    def model(k):
        # same forward pass, but lapenna's second Dense layer is frozen: no change in the step
        dense = k.layers.Dense(3)
        m = k.Sequential([k.Input((4,)), k.layers.Dense(5), dense])
        return m

    x, y = batch((4,), 3)
    report = compare_with_keras(model, x, y, train=False)
    report.model.layers[1].trainable = False
    with pytest.raises(AssertionError):
        from lapenna.testing import keras_reference

        keras_reference._check_training_step(report, keras_module(), x, y, "mse", 0.1, 1e-4, 1e-5)

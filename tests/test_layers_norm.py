"""Normalization layers: the layer harness, Keras weight counts, BatchNormalization's moving
statistics and modes, PyTorch references and bad input."""

import doctest

import numpy as np
import pytest

from lapenna import layers
from lapenna.layers import normalization
from lapenna.models import Model
from lapenna.testing import run_layer_test


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape", "trainable", "non_trainable"),
    [
        (layers.BatchNormalization, {}, (4, 3), 2, 2),
        (layers.BatchNormalization, {"axis": 1, "momentum": 0.5}, (4, 3, 2, 2), 2, 2),
        (layers.BatchNormalization, {"center": False, "scale": False}, (4, 2, 2, 3), 0, 2),
        (layers.LayerNormalization, {}, (3, 4), 2, 0),
        (layers.LayerNormalization, {"axis": [1, 2], "center": False}, (2, 3, 2, 2), 1, 0),
        (layers.LayerNormalization, {"axis": [-1, -2], "epsilon": 1e-5}, (2, 2, 3, 2), 2, 0),
        (layers.GroupNormalization, {"groups": 2}, (2, 3, 3, 4), 2, 0),
        (layers.GroupNormalization, {"groups": 3, "axis": 1}, (2, 6, 4), 2, 0),
    ],
)
def test_run_layer_test(cls, kwargs, shape, trainable, non_trainable):
    run_layer_test(
        cls,
        kwargs,
        input_shape=shape,
        expected_output_shape=shape,
        expected_num_trainable_weights=trainable,
        expected_num_non_trainable_weights=non_trainable,
    )


def test_batch_normalization_weights_as_in_keras():
    layer = layers.BatchNormalization()
    layer(np.zeros((2, 4, 4, 16), "float32"))
    # four vectors of 16 per channel: gamma, beta (trainable), moving mean and variance (not)
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert layer.count_params() == 64
    assert sum(w.size for w in layer.trainable_weights) == 32
    assert sum(w.size for w in layer.non_trainable_weights) == 32
    assert [w.numpy()[0] for w in layer.weights] == [1.0, 0.0, 0.0, 1.0]


def test_layer_and_group_normalization_weights():
    layer = layers.LayerNormalization(axis=[1, 2])
    layer(np.zeros((2, 3, 5, 4), "float32"))
    assert [(w.name, w.shape) for w in layer.weights] == [("gamma", (3, 5)), ("beta", (3, 5))]
    group = layers.GroupNormalization(groups=4)
    group(np.zeros((2, 3, 3, 8), "float32"))
    assert group.count_params() == 16


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((6, 3, 3, 4)) * [1.0, 2.0, 3.0, 4.0] + [0.0, 1.0, -2.0, 5.0]
    ).astype("float32")


def test_training_updates_the_moving_statistics_with_the_momentum_rule():
    layer = layers.BatchNormalization(momentum=0.9)
    x = _batch()
    layer(x, training=True)
    mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # biased, as Keras
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        layer.moving_variance.numpy(), 0.9 + 0.1 * variance, rtol=1e-5, atol=1e-6
    )
    x2 = _batch(1)
    layer(x2, training=True)
    np.testing.assert_allclose(
        layer.moving_mean.numpy(), 0.9 * 0.1 * mean + 0.1 * x2.mean(axis=(0, 1, 2)), rtol=1e-5
    )
    assert layer.moving_mean.dtype == np.float32


def test_training_output_uses_the_batch_statistics():
    x = _batch()
    out = layers.BatchNormalization(epsilon=1e-3)(x, training=True).numpy()
    expected = (x - x.mean(axis=(0, 1, 2))) / np.sqrt(x.var(axis=(0, 1, 2)) + 1e-3)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_inference_uses_the_moving_statistics_and_changes_nothing():
    layer = layers.BatchNormalization()
    x = _batch()
    layer(x)
    mean = np.array([1.0, 2.0, 3.0, 4.0], "float32")
    variance = np.array([4.0, 1.0, 0.25, 9.0], "float32")
    gamma = np.array([1.0, 2.0, 0.5, -1.0], "float32")
    beta = np.array([0.0, 1.0, 2.0, 3.0], "float32")
    layer.set_weights([gamma, beta, mean, variance])
    for training in (None, False, 0):
        out = layer(x, training=training).numpy()
        expected = (x - mean) / np.sqrt(variance + 1e-3) * gamma + beta
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), mean)
    np.testing.assert_array_equal(layer.moving_variance.numpy(), variance)


def test_frozen_layer_runs_in_inference_mode_and_keeps_its_statistics():
    layer = layers.BatchNormalization()
    x = _batch()
    layer(x, training=True)
    before = [w.copy() for w in layer.get_weights()]
    layer.trainable = False
    out = layer(x, training=True).numpy()
    mean, variance = before[2], before[3]
    expected = (x - mean) / np.sqrt(variance + 1e-3) * before[0] + before[1]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    for old, new in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert layer.trainable_weights == []
    assert len(layer.non_trainable_weights) == 4
    layer.trainable = True
    layer(x, training=True)
    assert not np.array_equal(layer.moving_mean.numpy(), before[2])


def test_training_flag_reaches_batch_normalization_through_a_model():
    inputs = layers.Input((3, 3, 4))
    norm = layers.BatchNormalization(momentum=0.0)
    model = Model(inputs, norm(inputs))
    x = _batch()
    model(x, training=False)
    np.testing.assert_array_equal(norm.moving_mean.numpy(), np.zeros(4))
    model(x, training=True)
    np.testing.assert_allclose(norm.moving_mean.numpy(), x.mean(axis=(0, 1, 2)), rtol=1e-5)


def test_group_normalization_with_one_group_per_channel_is_instance_normalization():
    x = _batch()
    out = layers.GroupNormalization(groups=4, epsilon=1e-5)(x).numpy()
    mean = x.mean(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(x.var(axis=(1, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.BatchNormalization(momentum=1.5), r"momentum in \[0, 1\], got 1.5"),
        (lambda: layers.BatchNormalization(momentum="high"), "got 'high'"),
        (lambda: layers.BatchNormalization(epsilon=0), "positive epsilon, got 0"),
        (lambda: layers.BatchNormalization(axis=[1, 2]), r"an int axis, got \[1, 2\]"),
        (lambda: layers.LayerNormalization(axis="last"), "got 'last'"),
        (lambda: layers.LayerNormalization(axis=[]), r"got \[\]"),
        (lambda: layers.LayerNormalization(epsilon=-1e-3), "got -0.001"),
        (lambda: layers.GroupNormalization(groups=0), "groups to be a positive int, got 0"),
    ],
)
def test_bad_constructor_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_axes_and_shapes():
    with pytest.raises(ValueError, match="BatchNormalization 'batch_normalization' cannot"):
        layers.BatchNormalization(axis=3)(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="cannot normalize over axis 0"):
        layers.LayerNormalization(axis=0)(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"divisible by groups=3, got shape \(2, 4\)"):
        layers.GroupNormalization(groups=3)(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="needs a known size on axis -1"):
        layers.BatchNormalization()(layers.Input((None,)))
    layer = layers.BatchNormalization()
    layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"expects inputs whose axis 1 is 4, got shape \(2, 5\)"):
        layer(np.zeros((2, 5), "float32"))
    with pytest.raises(ValueError, match=r"expects inputs of rank 2, got shape \(2, 3, 4\)"):
        layer(np.zeros((2, 3, 4), "float32"))


# -- PyTorch references --------------------------------------------------------------------
def _randomize(layer, x, seed=0):
    rng = np.random.default_rng(seed)
    layer(layers.Input(x.shape[1:]))
    weights = []
    for w in layer.weights:
        value = rng.standard_normal(w.shape)
        weights.append(np.abs(value) + 0.5 if w.name == "moving_variance" else value)
    layer.set_weights(weights)


@pytest.mark.parametrize("training", [True, False])
def test_batch_normalization_matches_torch(training):
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    x = np.random.default_rng(1).standard_normal((4, 3, 2, 5)) * 3.0 + 1.0
    layer = layers.BatchNormalization(momentum=0.9, epsilon=1e-3, dtype="float64")
    _randomize(layer, x)
    moving_mean = layer.moving_mean.numpy().copy()
    moving_variance = layer.moving_variance.numpy().copy()
    running_mean, running_var = torch.tensor(moving_mean), torch.tensor(moving_variance)

    def reference(tx, tw):
        out = torch.nn.functional.batch_norm(
            tx.permute(0, 3, 1, 2),
            running_mean,
            running_var,
            tw[0],
            tw[1],
            training=training,
            momentum=0.1,  # torch weighs the new statistic by its momentum
            eps=1e-3,
        )
        return out.permute(0, 2, 3, 1)

    compare_with_torch(torch, layer, x, reference, training=training)
    np.testing.assert_allclose(layer.moving_mean.numpy(), running_mean.numpy(), rtol=1e-12)
    if training:
        # torch keeps the unbiased batch variance, Keras (and lapenna) the biased one
        n = x.size // x.shape[-1]
        batch_var = x.var(axis=(0, 1, 2))
        np.testing.assert_allclose(
            layer.moving_variance.numpy(), 0.9 * moving_variance + 0.1 * batch_var, rtol=1e-12
        )
        np.testing.assert_allclose(
            running_var.numpy(), 0.9 * moving_variance + 0.1 * batch_var * n / (n - 1), rtol=1e-12
        )


def test_layer_normalization_matches_torch():
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    x = np.random.default_rng(2).standard_normal((3, 4, 6)) * 2.0 - 1.0
    layer = layers.LayerNormalization(epsilon=1e-5, dtype="float64")
    _randomize(layer, x)

    def reference(tx, tw):
        return torch.nn.functional.layer_norm(tx, (6,), tw[0], tw[1], eps=1e-5)

    compare_with_torch(torch, layer, x, reference)


def test_layer_normalization_over_two_axes_matches_torch():
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    x = np.random.default_rng(3).standard_normal((3, 4, 5))
    layer = layers.LayerNormalization(axis=[1, 2], epsilon=1e-5, dtype="float64")
    _randomize(layer, x)

    def reference(tx, tw):
        return torch.nn.functional.layer_norm(tx, (4, 5), tw[0], tw[1], eps=1e-5)

    compare_with_torch(torch, layer, x, reference)


def test_group_normalization_matches_torch():
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    x = np.random.default_rng(4).standard_normal((2, 3, 4, 6))
    layer = layers.GroupNormalization(groups=3, epsilon=1e-5, dtype="float64")
    _randomize(layer, x)

    def reference(tx, tw):
        out = torch.nn.functional.group_norm(tx.permute(0, 3, 1, 2), 3, tw[0], tw[1], eps=1e-5)
        return out.permute(0, 2, 3, 1)

    compare_with_torch(torch, layer, x, reference)


def test_docstring_examples_run():
    result = doctest.testmod(normalization)
    assert result.failed == 0 and result.attempted > 0

"""Regularization layers: Dropout, SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout,
ActivityRegularization."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.testing import run_layer_test


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape"),
    [
        (layers.Dropout, {"rate": 0.5}, (2, 3)),
        (layers.Dropout, {"rate": 0.2, "noise_shape": [None, 1, 4], "seed": 3}, (2, 3, 4)),
        (layers.SpatialDropout1D, {"rate": 0.3}, (2, 5, 3)),
        (layers.SpatialDropout2D, {"rate": 0.3, "seed": 1}, (2, 4, 4, 3)),
        (layers.SpatialDropout3D, {"rate": 0.3}, (2, 2, 3, 2, 3)),
        (layers.GaussianNoise, {"stddev": 0.1, "seed": 2}, (2, 3)),
        (layers.GaussianDropout, {"rate": 0.3}, (2, 3)),
        (layers.ActivityRegularization, {"l1": 0.01, "l2": 0.02}, (2, 3)),
    ],
)
def test_run_layer_test(cls, kwargs, shape):
    # inference mode is the identity, so the float64 gradient check is meaningful there
    layer = run_layer_test(
        cls,
        kwargs,
        input_shape=shape,
        training=False,
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
    )
    x = np.ones(shape, dtype="float32")
    assert layer(x, training=True).shape == shape
    assert layer(x, training=True).dtype == np.float32


def test_dropout_keeps_the_mean_and_drops_about_rate():
    rate, n = 0.3, 200_000
    x = np.ones((1, n), dtype="float32")
    y = layers.Dropout(rate)(x, training=True).numpy()
    dropped = (y == 0).mean()
    # a binomial proportion: 5 standard errors of margin
    assert abs(dropped - rate) < 5 * np.sqrt(rate * (1 - rate) / n)
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 1 / (1 - rate), rtol=1e-6)
    std_of_mean = np.sqrt(rate / (1 - rate) / n)  # each unit has variance rate / (1 - rate)
    assert abs(y.mean() - 1.0) < 5 * std_of_mean
    assert y.dtype == np.float32


def test_dropout_is_identity_at_inference():
    x = lp.tensor(np.random.default_rng(0).standard_normal((4, 5)).astype("float32"))
    layer = layers.Dropout(0.5)
    for training in (None, False, 0):
        assert layer(x, training=training) is x or np.array_equal(
            layer(x, training=training).numpy(), x.numpy()
        )


def test_dropout_gradient_flows_through_kept_units_only():
    x = lp.tensor(np.ones((3, 50), dtype="float32"), requires_grad=True)
    y = layers.Dropout(0.4, seed=5)(x, training=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.numpy())  # d(sum)/dx is the mask / (1 - rate)


def test_dropout_reproducible_under_set_seed_and_with_seed():
    x = np.ones((8, 16), dtype="float32")
    lp.set_seed(7)
    a = layers.Dropout(0.5)(x, training=True).numpy()
    lp.set_seed(7)
    b = layers.Dropout(0.5)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    lp.set_seed(8)
    assert not np.array_equal(a, layers.Dropout(0.5)(x, training=True).numpy())
    # a seeded layer ignores the global generator: the same seed gives the same masks
    first, second = layers.Dropout(0.5, seed=3), layers.Dropout(0.5, seed=3)
    lp.set_seed(1)
    masks_first = [first(x, training=True).numpy() for _ in range(2)]
    lp.set_seed(2)
    masks_second = [second(x, training=True).numpy() for _ in range(2)]
    np.testing.assert_array_equal(masks_first[0], masks_second[0])
    np.testing.assert_array_equal(masks_first[1], masks_second[1])
    assert not np.array_equal(masks_first[0], masks_first[1])  # the generator advances


def test_dropout_noise_shape_shares_the_mask():
    x = np.ones((4, 6, 5), dtype="float32")
    y = layers.Dropout(0.5, noise_shape=(None, 1, 5), seed=0)(x, training=True).numpy()
    assert (y == y[:, :1, :]).all()  # the same mask at every step
    assert 0 < (y == 0).mean() < 1


def test_spatial_dropout2d_drops_whole_channels():
    x = np.ones((16, 5, 5, 8), dtype="float32")
    y = layers.SpatialDropout2D(0.5, seed=0)(x, training=True).numpy()
    per_channel = y.reshape(16, 25, 8)
    assert (per_channel == per_channel[:, :1, :]).all()
    values = set(np.unique(per_channel).tolist())
    assert values == {0.0, 2.0}
    dropped = (per_channel[:, 0, :] == 0).mean()
    assert 0.3 < dropped < 0.7  # 128 channels, p = 0.5: 4 standard errors


@pytest.mark.parametrize(
    ("cls", "shape", "axes"),
    [
        (layers.SpatialDropout1D, (8, 7, 6), (1,)),
        (layers.SpatialDropout3D, (8, 3, 3, 3, 6), (1, 2, 3)),
    ],
)
def test_spatial_dropout_1d_3d_share_over_positions(cls, shape, axes):
    y = cls(0.5, seed=1)(np.ones(shape, dtype="float32"), training=True).numpy()
    reference = y[(slice(None), *(slice(0, 1),) * len(axes))]
    assert (y == reference).all()
    assert (y == 0).any() and (y != 0).any()


def test_spatial_dropout_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"SpatialDropout2D 'spatial_dropout2d' expects .*rank 4"):
        layers.SpatialDropout2D(0.5)(np.ones((2, 3, 4), dtype="float32"))


def test_gaussian_noise_statistics_and_inference():
    n, stddev = 100_000, 0.5
    x = np.zeros((1, n), dtype="float32")
    layer = layers.GaussianNoise(stddev)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    y = layer(x, training=True).numpy()
    assert y.dtype == np.float32
    assert abs(y.mean()) < 5 * stddev / np.sqrt(n)
    assert abs(y.std() - stddev) < 5 * stddev / np.sqrt(2 * n)
    lp.set_seed(4)
    a = layers.GaussianNoise(0.1)(x[:, :10], training=True).numpy()
    lp.set_seed(4)
    np.testing.assert_array_equal(a, layers.GaussianNoise(0.1)(x[:, :10], training=True).numpy())


def test_gaussian_dropout_statistics():
    n, rate = 100_000, 0.2
    x = np.ones((1, n), dtype="float32")
    y = layers.GaussianDropout(rate, seed=0)(x, training=True).numpy()
    stddev = np.sqrt(rate / (1 - rate))
    assert abs(y.mean() - 1.0) < 5 * stddev / np.sqrt(n)
    assert abs(y.std() - stddev) < 5 * stddev / np.sqrt(2 * n)


def test_activity_regularization_penalty_in_losses():
    x = np.array([[1.0, -2.0], [3.0, 0.5]], dtype="float32")
    layer = layers.ActivityRegularization(l1=0.1, l2=0.01)
    out = layer(x)
    np.testing.assert_array_equal(out.numpy(), x)
    assert len(layer.losses) == 1
    # divided by the batch size, as Keras 3 does
    expected = (0.1 * np.abs(x).sum() + 0.01 * (x**2).sum()) / len(x)
    np.testing.assert_allclose(layer.losses[0].item(), expected, rtol=1e-6)
    layer(x)
    assert len(layer.losses) == 1  # replaced on each call, not accumulated


def test_activity_regularization_penalty_of_a_sublayer_is_in_the_parent_losses():
    class Block(layers.Layer):
        def __init__(self):
            super().__init__()
            self.parts = [layers.Dense(2), layers.ActivityRegularization(l1=1.0)]

        def call(self, inputs):
            return self.parts[1](self.parts[0](inputs))

    block = Block()
    out = block(np.ones((2, 3), dtype="float32"))
    assert len(block.losses) == 1
    np.testing.assert_allclose(block.losses[0].item(), np.abs(out.numpy()).sum() / 2, rtol=1e-6)


def test_activity_regularization_reaches_model_losses_and_gradients():
    inputs = layers.Input((3,))
    dense = layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
    hidden = dense(inputs)
    outputs = layers.ActivityRegularization(l2=0.5)(hidden)
    model = lp.models.Model(inputs, outputs)
    x = np.array([[1.0, 2.0, 3.0]], dtype="float32")
    model(x)
    assert len(model.losses) == 1
    np.testing.assert_allclose(model.losses[0].item(), 0.5 * 2 * 6.0**2, rtol=1e-6)
    (grad,) = lp.grad(model.losses[0], [dense.kernel])
    np.testing.assert_allclose(grad.numpy(), 6.0 * x.T * np.ones((1, 2)), rtol=1e-6)


@pytest.mark.parametrize(
    ("make", "bad"),
    [
        (lambda: layers.Dropout(1.0), "1.0"),
        (lambda: layers.Dropout(-0.1), "-0.1"),
        (lambda: layers.Dropout("half"), "'half'"),
        (lambda: layers.Dropout(0.5, noise_shape=(2, 0)), r"\(2, 0\)"),
        (lambda: layers.Dropout(0.5, seed=-1), "-1"),
        (lambda: layers.Dropout(0.5, seed=1.5), "1.5"),
        (lambda: layers.SpatialDropout2D(1.5), "1.5"),
        (lambda: layers.GaussianNoise(-1.0), "-1.0"),
        (lambda: layers.GaussianNoise(float("nan")), "nan"),
        (lambda: layers.GaussianDropout(1.0), "1.0"),
        (lambda: layers.ActivityRegularization(l1=-0.5), "-0.5"),
        (lambda: layers.ActivityRegularization(l2="big"), "'big'"),
    ],
)
def test_bad_arguments_raise_value_error_quoting_the_value(make, bad):
    with pytest.raises(ValueError, match=bad):
        make()


def test_dropout_noise_shape_mismatch_names_the_layer():
    layer = layers.Dropout(0.5, noise_shape=(2, 3))
    with pytest.raises(ValueError, match=r"Dropout 'dropout' .*noise_shape"):
        layer(np.ones((2, 4), dtype="float32"), training=True)

"""Activation layers: ReLU, LeakyReLU, ELU, PReLU, Softmax."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import activations, layers
from lapenna.testing import run_layer_test

X = np.array([[-3.0, -1.0, -0.2, 0.3, 2.0, 7.5]], dtype="float32")


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape", "trainable"),
    [
        (layers.ReLU, {}, (2, 3), 0),
        (layers.ReLU, {"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.5}, (2, 3), 0),
        (layers.LeakyReLU, {}, (2, 3), 0),
        (layers.ELU, {"alpha": 0.7}, (2, 3), 0),
        # alpha = 0 with a zero target is a stationary point of the harness's loss
        (layers.PReLU, {"alpha_initializer": "ones"}, (2, 3), 1),
        (layers.PReLU, {"shared_axes": [1, 2], "alpha_initializer": "ones"}, (2, 3, 4, 5), 1),
        (layers.Softmax, {}, (2, 4), 0),
        (layers.Softmax, {"axis": [1, 2]}, (2, 3, 4), 0),
    ],
)
def test_run_layer_test(cls, kwargs, shape, trainable):
    # run_layer_test checks the float64 gradient through inputs and (PReLU) weights
    run_layer_test(
        cls,
        kwargs,
        input_shape=shape,
        expected_num_trainable_weights=trainable,
        expected_num_non_trainable_weights=0,
    )


@pytest.mark.parametrize(
    ("layer", "function"),
    [
        (lambda: layers.ReLU(), lambda x: activations.relu(x)),
        (
            lambda: layers.ReLU(max_value=6.0, negative_slope=0.1, threshold=-0.5),
            lambda x: activations.relu(x, negative_slope=0.1, max_value=6.0, threshold=-0.5),
        ),
        (lambda: layers.LeakyReLU(), lambda x: activations.leaky_relu(x, negative_slope=0.3)),
        (lambda: layers.ELU(alpha=2.0), lambda x: activations.elu(x, alpha=2.0)),
        (lambda: layers.Softmax(), lambda x: activations.softmax(x)),
    ],
)
def test_layers_match_the_activation_functions(layer, function):
    got = layer()(X)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.numpy(), function(lp.tensor(X)).numpy())


def test_values_by_hand():
    relu = layers.ReLU(max_value=2.0, negative_slope=0.5, threshold=1.0)
    expected = [[-2.0, -1.0, -0.6, -0.35, 2.0, 2.0]]
    np.testing.assert_allclose(relu(X).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(layers.LeakyReLU()(X).numpy(), np.where(X > 0, X, 0.3 * X))
    np.testing.assert_allclose(
        layers.ELU()(X).numpy(), np.where(X > 0, X, np.expm1(X)), rtol=1e-6, atol=1e-7
    )


def test_prelu_weight_shapes_follow_keras():
    cases = [
        ((None, 5), None, (5,)),
        ((None, 4, 4, 3), None, (4, 4, 3)),
        ((None, 4, 4, 3), [1, 2], (1, 1, 3)),
        ((None, 4, 4, 3), 3, (4, 4, 1)),
        ((None, 7, 6), [1], (1, 6)),
        ((None, None, 6), [1], (1, 6)),  # a variable-length axis must be shared
    ]
    for input_shape, shared, expected in cases:
        layer = layers.PReLU(shared_axes=shared)
        layer.build(input_shape)
        assert layer.alpha.shape == expected, (input_shape, shared)
        assert layer.count_params() == int(np.prod(expected))


def test_prelu_values_and_gradient():
    x = np.array([[-2.0, 3.0], [-1.0, -4.0]], dtype="float32")
    layer = layers.PReLU(alpha_initializer="zeros")
    layer.build(x.shape)
    layer.alpha.assign(np.array([0.25, 0.5], dtype="float32"))
    inputs = lp.tensor(x, requires_grad=True)
    out = layer(inputs)
    np.testing.assert_allclose(out.numpy(), [[-0.5, 3.0], [-0.25, -2.0]])
    grad_x, grad_alpha = lp.grad(out.sum(), [inputs, layer.alpha])
    np.testing.assert_allclose(grad_x.numpy(), [[0.25, 1.0], [0.25, 0.5]])
    np.testing.assert_allclose(grad_alpha.numpy(), np.minimum(x, 0).sum(axis=0))


def test_prelu_shared_axes_gradient_sums_over_shared_axes():
    x = np.random.default_rng(0).standard_normal((2, 3, 3, 4)).astype("float32")
    layer = layers.PReLU(shared_axes=[1, 2])
    out = layer(x)
    (grad_alpha,) = lp.grad(out.sum(), [layer.alpha])
    np.testing.assert_allclose(
        grad_alpha.numpy(), np.minimum(x, 0).sum(axis=(0, 1, 2)).reshape(1, 1, 4), rtol=1e-5
    )


def test_prelu_rejects_another_feature_size():
    layer = layers.PReLU()
    layer(np.ones((2, 3), dtype="float32"))
    with pytest.raises(ValueError, match=r"PReLU 'p_re_lu' expects .*axis 1 is 3.*\(2, 4\)"):
        layer(np.ones((2, 4), dtype="float32"))
    with pytest.raises(ValueError, match=r"PReLU 'p_re_lu_1' .*shared_axes \[2\].*\(2, 3\)"):
        layers.PReLU(shared_axes=2)(np.ones((2, 3), dtype="float32"))


def test_softmax_axis_and_mask():
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype("float32")
    out = layers.Softmax(axis=1)(x).numpy()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    both = layers.Softmax(axis=(1, 2))(x).numpy()
    e = np.exp(x - x.max(axis=(1, 2), keepdims=True))
    np.testing.assert_allclose(both, e / e.sum(axis=(1, 2), keepdims=True), rtol=1e-5)
    mask = np.array([[True, False, True, True], [False, False, False, False]])
    logits = lp.tensor(x[:, 0, :], requires_grad=True)
    masked = layers.Softmax()(logits, mask=mask)
    expected = np.exp(x[0, 0]) * mask[0]
    np.testing.assert_allclose(masked.numpy()[0], expected / expected.sum(), rtol=1e-6)
    np.testing.assert_array_equal(masked.numpy()[1], 0.0)  # fully masked: zeros, no NaN
    (grad,) = lp.grad((masked * lp.tensor(x[:, 1, :])).sum(), [logits])
    assert np.isfinite(grad.numpy()).all()
    np.testing.assert_array_equal(grad.numpy()[~mask], 0.0)


def test_default_names_follow_keras():
    names = [layers.ReLU().name, layers.PReLU().name, layers.ELU().name]
    assert names == ["re_lu", "p_re_lu", "elu"]


def test_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((3, 4, 5)).astype("float32") * 3
    tx = torch.tensor(x, requires_grad=True)
    pairs = [
        (layers.ReLU(), torch.nn.ReLU()),
        (layers.ReLU(max_value=6.0), torch.nn.ReLU6()),
        (layers.LeakyReLU(0.3), torch.nn.LeakyReLU(0.3)),
        (layers.ELU(alpha=1.5), torch.nn.ELU(alpha=1.5)),
        (layers.Softmax(axis=1), torch.nn.Softmax(dim=1)),
    ]
    weights = np.random.default_rng(3).standard_normal(x.shape).astype("float32")
    for ours, theirs in pairs:
        inputs = lp.tensor(x, requires_grad=True)
        out = ours(inputs)
        (grad,) = lp.grad(out, [inputs], grad_outputs=lp.tensor(weights))
        expected = theirs(tx)
        (expected_grad,) = torch.autograd.grad(expected, [tx], torch.tensor(weights))
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(grad.numpy(), expected_grad.numpy(), rtol=1e-5, atol=1e-6)


def test_prelu_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 5, 5, 3)).astype("float32")
    alpha = rng.uniform(0.1, 0.5, size=3).astype("float32")
    layer = layers.PReLU(shared_axes=[1, 2])
    inputs = lp.tensor(x, requires_grad=True)
    layer.build(x.shape)
    layer.alpha.assign(alpha.reshape(1, 1, 3))
    out = layer(inputs)
    grad_x, grad_alpha = lp.grad((out * out).sum(), [inputs, layer.alpha])
    # torch's PReLU is channels-first with one slope per channel
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    prelu = torch.nn.PReLU(num_parameters=3)
    with torch.no_grad():
        prelu.weight.copy_(torch.tensor(alpha))
    tout = prelu(tx)
    (tout * tout).sum().backward()
    np.testing.assert_allclose(
        out.numpy(), tout.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(grad_x.numpy(), tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-5)
    np.testing.assert_allclose(grad_alpha.numpy().ravel(), prelu.weight.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize(
    ("make", "bad"),
    [
        (lambda: layers.ReLU(max_value=-1.0), "-1.0"),
        (lambda: layers.ReLU(negative_slope=-0.1), "-0.1"),
        (lambda: layers.ReLU(threshold=None), "None"),
        (lambda: layers.ReLU(threshold=float("inf")), "inf"),
        (lambda: layers.LeakyReLU(negative_slope="x"), "'x'"),
        (lambda: layers.ELU(alpha=-2.0), "-2.0"),
        (lambda: layers.PReLU(shared_axes=0), "0"),
        (lambda: layers.PReLU(shared_axes=[1, "2"]), r"\[1, '2'\]"),
        (lambda: layers.PReLU(alpha_initializer="no_such_initializer"), "no_such_initializer"),
        (lambda: layers.Softmax(axis=1.5), "1.5"),
        (lambda: layers.Softmax(axis=()), r"\(\)"),
    ],
)
def test_bad_arguments_raise_value_error_quoting_the_value(make, bad):
    with pytest.raises(ValueError, match=bad):
        make()

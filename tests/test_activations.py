"""Activations: numpy reference formulas, PyTorch, dtypes, gradients and the registry."""

import math

import numpy as np
import pytest

import lapenna as lp
from lapenna import activations as A
from lapenna.testing import gradcheck, gradgradcheck
from lapenna.utils import get_registry

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# name -> numpy reference in float64, written from each definition
REFERENCES = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.minimum(np.maximum(x, 0), 6),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "silu": lambda x: x * _sigmoid(x),
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
    "tanh": np.tanh,
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
    "exponential": np.exp,
    "softmax": _softmax,
    "log_softmax": lambda x: np.log(_softmax(x)),
}


def sample(shape=(4, 6), seed=0):
    """Values in (-5, 5) kept away from every kink (0, +-3, 6) so gradients are defined."""
    x = np.random.default_rng(seed).uniform(-5, 5, shape)
    for kink in (0.0, 3.0, -3.0):
        near = np.abs(x - kink) < 0.05
        x[near] += 0.1
    return x


def test_every_activation_has_a_reference():
    assert set(get_registry("activations").classes()) == set(REFERENCES)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_matches_reference_formula_in_float32(name):
    x = sample().astype(np.float32)
    out = A.get(name)(lp.tensor(x))
    assert isinstance(out, lp.Tensor) and out.dtype == np.float32
    np.testing.assert_allclose(
        out.numpy(), REFERENCES[name](x.astype(np.float64)), rtol=2e-6, atol=1e-6
    )


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_matches_reference_formula_in_float64(name):
    lp.set_floatx("float64")
    x = sample(seed=1)
    out = A.get(name)(lp.tensor(x))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), REFERENCES[name](x), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_gradient_matches_central_differences(name):
    assert gradcheck(A.get(name), [sample((3, 5), seed=2)])


SMOOTH = ["elu", "selu", "sigmoid", "silu", "gelu", "tanh", "softplus", "softsign", "mish"]


@pytest.mark.parametrize("name", SMOOTH + ["exponential", "softmax", "log_softmax"])
def test_second_derivative(name):
    assert gradgradcheck(A.get(name), [sample((2, 4), seed=3)])


def test_gelu_tanh_approximation_and_its_gradients():
    x = sample(seed=4)
    inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
    expected = 0.5 * x * (1 + np.tanh(inner))
    out = A.gelu(lp.tensor(x), approximate=True).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-13)
    # the approximation stays within 1e-3 of the exact form
    assert np.abs(out - A.gelu(lp.tensor(x)).numpy()).max() < 1e-3

    def approx(t):
        return A.gelu(t, approximate=True)

    assert gradcheck(approx, [sample((3, 4), seed=5)])
    assert gradgradcheck(approx, [sample((2, 3), seed=6)])


def test_relu_with_keras_arguments():
    x = lp.tensor([-10.0, -5.0, 0.0, 5.0, 10.0])
    assert A.relu(x).tolist() == [0.0, 0.0, 0.0, 5.0, 10.0]
    assert A.relu(x, negative_slope=0.5).tolist() == [-5.0, -2.5, 0.0, 5.0, 10.0]
    assert A.relu(x, max_value=5.0).tolist() == [0.0, 0.0, 0.0, 5.0, 5.0]
    assert A.relu(x, threshold=5.0).tolist() == [0.0, 0.0, 0.0, 0.0, 10.0]
    # all three at once: slope * (x - threshold) below, x between, the cap above
    out = A.relu(lp.tensor([-4.0, 0.5, 2.0, 3.0, 9.0]), 0.5, max_value=6.0, threshold=1.0)
    assert out.tolist() == [-2.5, -0.25, 2.0, 3.0, 6.0]


def test_relu_with_arguments_gradients():
    def full(t):
        return A.relu(t, negative_slope=0.1, max_value=3.5, threshold=0.5)

    assert gradcheck(full, [sample((4, 5), seed=7) * 0.9])


def test_relu_argument_validation():
    with pytest.raises(ValueError, match="negative_slope.*-0.1"):
        A.relu(lp.tensor([1.0]), negative_slope=-0.1)
    with pytest.raises(ValueError, match="max_value.*-1"):
        A.relu(lp.tensor([1.0]), max_value=-1)
    with pytest.raises(ValueError, match="threshold.*nan"):
        A.relu(lp.tensor([1.0]), threshold=float("nan"))


def test_softmax_and_log_softmax_axis():
    x = sample((3, 4), seed=8)
    out = A.softmax(lp.tensor(x), axis=0).numpy()
    np.testing.assert_allclose(out.sum(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(A.log_softmax(lp.tensor(x), axis=0).numpy(), np.log(out))


def test_large_inputs_stay_finite():
    x = lp.tensor([-1e4, -50.0, 50.0, 1e4])
    for name in ("sigmoid", "softplus", "silu", "gelu", "elu", "selu", "mish", "softsign"):
        assert np.all(np.isfinite(A.get(name)(x).numpy())), name
    assert A.gelu(x).numpy()[-1] == 1e4 and A.gelu(x).numpy()[0] == 0


TORCH_EQUIVALENTS = {
    "relu": "relu",
    "relu6": "relu6",
    "elu": "elu",
    "selu": "selu",
    "sigmoid": "sigmoid",
    "hard_sigmoid": "hardsigmoid",
    "silu": "silu",
    "hard_silu": "hardswish",
    "gelu": "gelu",
    "tanh": "tanh",
    "softplus": "softplus",
    "softsign": "softsign",
    "mish": "mish",
    "softmax": "softmax",
    "log_softmax": "log_softmax",
}


@pytest.mark.parametrize("name", sorted(TORCH_EQUIVALENTS))
def test_matches_torch_values_and_gradients(name):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    x = sample((5, 7), seed=9)
    torch_fn = getattr(functional, TORCH_EQUIVALENTS[name])
    tx = torch.tensor(x, requires_grad=True)
    ty = torch_fn(tx, dim=-1) if name in ("softmax", "log_softmax") else torch_fn(tx)
    weights = np.random.default_rng(10).standard_normal(x.shape)
    ty.backward(torch.tensor(weights))
    lx = lp.tensor(x, requires_grad=True)
    ly = A.get(name)(lx)
    (lgrad,) = lp.grad(ly, [lx], grad_outputs=lp.tensor(weights))
    np.testing.assert_allclose(ly.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    # torch's hardsigmoid backward multiplies by a float32 1/6 (3e-8 relative)
    rtol = 1e-7 if name in ("hard_sigmoid", "hard_silu") else 1e-10
    np.testing.assert_allclose(lgrad.numpy(), tx.grad.numpy(), rtol=rtol, atol=1e-13)


def test_torch_gelu_tanh_and_leaky_relu():
    torch = pytest.importorskip("torch")
    x = sample(seed=11)
    tx = torch.tensor(x)
    expected = torch.nn.functional.gelu(tx, approximate="tanh").numpy()
    out = A.gelu(lp.tensor(x), approximate=True).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)
    expected = torch.nn.functional.leaky_relu(tx, negative_slope=0.2).numpy()
    np.testing.assert_allclose(A.leaky_relu(lp.tensor(x)).numpy(), expected, 1e-12)


# -- the registry -------------------------------------------------------------------------
ISSUE_NAMES = [
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "leaky_relu",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "swish",
    "gelu",
    "hard_sigmoid",
    "silu",
    "relu6",
    "exponential",
    "log_softmax",
    "hard_swish",
    "hard_silu",
    "mish",
]


@pytest.mark.parametrize("name", ISSUE_NAMES)
def test_get_and_serialize_round_trip(name):
    fn = A.get(name)
    assert callable(fn) and fn is getattr(A, name)
    assert A.get(A.serialize(fn)) is fn
    assert A.deserialize({"class_name": A.serialize(fn)}) is fn


def test_aliases_serialize_to_keras_3_names():
    assert A.swish is A.silu and A.serialize(A.swish) == "silu"
    assert A.hard_swish is A.hard_silu and A.serialize(A.hard_swish) == "hard_silu"


def test_get_none_callables_and_errors():
    assert A.get(None) is A.linear and A.serialize(None) == "linear"

    def custom(x):
        return x * 2

    assert A.get(custom) is custom
    with pytest.raises(ValueError, match="registered activation.*custom"):
        A.serialize(custom)
    with pytest.raises(ValueError, match="Unknown activations entry 'rleu'"):
        A.get("rleu")
    with pytest.raises(ValueError, match="Could not interpret"):
        A.get(3)


def test_activations_accept_arrays_and_lists():
    assert A.relu(np.array([-1.0, 2.0], dtype=np.float32)).tolist() == [0.0, 2.0]
    assert A.linear([1.0, 2.0]).dtype == np.float32

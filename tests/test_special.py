"""The error function: against math.erf on many points, dtypes, special values, gradient."""

import math

import numpy as np
import pytest

import lapenna as lp
from lapenna.backend.special import erf, erfc


def _points():
    rng = np.random.default_rng(7)
    return np.concatenate(
        [
            rng.uniform(-7, 7, 20000),
            rng.standard_normal(5000) * 0.4,
            np.logspace(-300, 1.4, 3000),
            -np.logspace(-20, 1.4, 1000),
            # the switch points of the three rational approximations, and their neighbours
            np.array([0.46875, 4.0, -0.46875, -4.0]),
            np.nextafter(np.array([0.46875, 4.0]), 0),
            np.nextafter(np.array([0.46875, 4.0]), 10),
        ]
    )


def test_erf_matches_math_erf_to_float64_precision():
    x = _points()
    expected = np.array([math.erf(v) for v in x])
    got = erf(x)
    assert got.dtype == np.float64
    relative = np.abs(got - expected) / np.abs(expected)
    assert relative.max() < 1e-15, x[np.argmax(relative)]


def test_erfc_keeps_relative_accuracy_in_the_tail():
    x = np.linspace(-6, 26, 50001)
    expected = np.array([math.erfc(v) for v in x])
    got = erfc(x)
    keep = expected > 1e-300  # subnormal results carry few digits anyway
    relative = np.abs(got[keep] - expected[keep]) / expected[keep]
    assert relative.max() < 2e-15, x[keep][np.argmax(relative)]
    # 1 - erf would have lost everything out here
    assert erfc(np.array([10.0]))[0] == pytest.approx(math.erfc(10.0), rel=1e-14)


def test_erf_float32_in_float32_out():
    x = _points().astype(np.float32)
    x = x[np.abs(x) > 1e-30]
    got = erf(x)
    assert got.dtype == np.float32
    expected = np.array([math.erf(float(v)) for v in x])
    # a few float32 ulps (eps = 1.19e-7)
    assert np.max(np.abs(got - expected) / np.abs(expected)) < 4e-7
    assert erf(np.float16(0.5)).dtype == np.float16
    assert erf(np.array([1, 2])).dtype == np.float32  # integers become floatx


def test_erf_special_values_and_symmetry():
    got = erf(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 30.0, -30.0]))
    assert got[0] == 0 and np.signbit(got[1])
    assert got[2] == 1 and got[3] == -1 and np.isnan(got[4])
    assert got[5] == 1 and got[6] == -1
    x = np.linspace(0, 6, 301)
    assert np.array_equal(erf(-x), -erf(x))
    assert erfc(np.array([np.inf, -np.inf]))[0] == 0 and erfc(np.array([-np.inf]))[0] == 2
    assert erf(np.zeros((2, 0, 3))).shape == (2, 0, 3)


def test_ops_erf_value_dtype_and_gradient():
    x = lp.tensor([-1.5, 0.0, 0.3, 2.0], requires_grad=True)
    y = lp.ops.erf(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), [math.erf(v) for v in (-1.5, 0.0, 0.3, 2.0)], 1e-6)
    y.sum().backward()
    expected = 2 / math.sqrt(math.pi) * np.exp(-(x.numpy().astype(np.float64) ** 2))
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_erf_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal(1000) * 3
    np.testing.assert_allclose(erf(x), torch.erf(torch.from_numpy(x)).numpy(), rtol=1e-14)

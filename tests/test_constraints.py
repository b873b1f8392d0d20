"""Constraints: each projection, the projected-gradient-descent protocol and configs."""

import json

import numpy as np
import pytest

import lapenna as lp
from lapenna import constraints as C
from lapenna.utils import get_registry


def norms(w, axis=0):
    return np.sqrt(np.sum(np.asarray(w, dtype=np.float64) ** 2, axis=axis))


def random_kernel(shape, scale=3.0, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def test_max_norm_limits_column_norms_and_keeps_small_columns():
    w = random_kernel((20, 8))
    w[:, 0] *= 1e-2  # a column well inside the ball
    out = C.MaxNorm(max_value=2.0)(lp.tensor(w)).numpy()
    assert out.dtype == np.float32
    assert np.all(norms(out) <= 2.0 + 1e-5)
    big = norms(w) > 2.0
    np.testing.assert_allclose(norms(out)[big], 2.0, rtol=1e-5)
    np.testing.assert_allclose(out[:, 0], w[:, 0], rtol=1e-5)
    # directions never change: each column is only rescaled
    cosine = np.sum(out * w, axis=0) / (norms(out) * norms(w))
    np.testing.assert_allclose(cosine, 1.0, rtol=1e-5)


def test_max_norm_by_hand_and_on_conv_kernels():
    # Keras's formula w * clip(norm, 0, max) / (epsilon + norm): column (3, 4) has norm 5
    out = C.MaxNorm(1.0)(lp.tensor([[3.0, 0.3], [4.0, 0.4]])).numpy()
    np.testing.assert_allclose(out, [[0.6, 0.3], [0.8, 0.4]], rtol=1e-6)
    kernel = random_kernel((3, 3, 4, 5))
    out = C.MaxNorm(1.5, axis=[0, 1, 2])(lp.tensor(kernel)).numpy()
    np.testing.assert_allclose(norms(out, axis=(0, 1, 2)), 1.5, rtol=1e-5)


def test_non_neg():
    w = random_kernel((6, 7))
    out = C.NonNeg()(lp.tensor(w)).numpy()
    assert np.all(out >= 0) and out.dtype == np.float32
    np.testing.assert_array_equal(out[w > 0], w[w > 0])


@pytest.mark.parametrize("axis", [0, 1, -1, [0, 1]])
def test_unit_norm(axis):
    w = random_kernel((5, 4, 3))
    out = C.UnitNorm(axis=axis)(lp.tensor(w)).numpy()
    np.testing.assert_allclose(norms(out, axis=tuple(np.atleast_1d(axis))), 1.0, rtol=1e-5)


def test_min_max_norm_bounds_and_rate():
    w = random_kernel((10, 30), scale=0.5)
    before = norms(w)
    out = C.MinMaxNorm(min_value=1.0, max_value=2.0)(lp.tensor(w)).numpy()
    after = norms(out)
    assert np.all((after >= 1.0 - 1e-5) & (after <= 2.0 + 1e-5))
    inside = (before >= 1.0) & (before <= 2.0)
    np.testing.assert_allclose(after[inside], before[inside], rtol=1e-5)
    # rate 0.5 moves half-way from the norm to its clipped value
    half = norms(C.MinMaxNorm(1.0, 2.0, rate=0.5)(lp.tensor(w)).numpy())
    np.testing.assert_allclose(half, 0.5 * np.clip(before, 1.0, 2.0) + 0.5 * before, rtol=1e-5)
    np.testing.assert_allclose(C.MinMaxNorm(1.0, 2.0, rate=0.0)(w).numpy(), w, rtol=1e-5)


def test_projection_is_outside_the_graph_and_leaves_the_input_alone():
    w = lp.Variable(random_kernel((4, 3)))
    copy = w.numpy().copy()
    for constraint in (C.MaxNorm(1.0), C.NonNeg(), C.UnitNorm(), C.MinMaxNorm()):
        out = constraint(w)
        assert isinstance(out, lp.Tensor) and not out.requires_grad and out.node is None
        np.testing.assert_array_equal(w.numpy(), copy)


def test_zero_columns_stay_zero():
    w = np.zeros((3, 2), dtype=np.float32)
    for constraint in (C.MaxNorm(1.0), C.UnitNorm(), C.MinMaxNorm(0.0, 1.0)):
        assert np.all(constraint(w).numpy() == 0)


def test_course_max_norm_projected_gradient_descent():
    # gradient ascent on sum(w^2) blows the weights up; projecting each unit's incoming
    # weight vector back onto ||w|| <= c after every step (c = 3, the course's choice)
    # keeps every column on the ball and never beyond it
    c = 3.0
    constrained = lp.Variable(random_kernel((16, 8), scale=0.1), constraint=C.MaxNorm(c))
    free = lp.Variable(constrained.numpy())
    for _ in range(20):
        for var in (constrained, free):
            (grad,) = lp.grad(-lp.ops.sum(var * var), [var])
            var.assign_sub(grad * 0.5)
            if var.constraint is not None:
                var.assign(var.constraint(var))
        assert np.all(norms(constrained.numpy()) <= c * (1 + 1e-6))
    np.testing.assert_allclose(norms(constrained.numpy()), c, rtol=1e-5)
    assert np.all(norms(free.numpy()) > 1000 * c)  # each step doubles the free weights


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="max_value.*-1"):
        C.MaxNorm(-1)
    with pytest.raises(ValueError, match="axis to be an int or a list of ints, got 'rows'"):
        C.UnitNorm(axis="rows")
    with pytest.raises(ValueError, match=r"MaxNorm with axis=2 cannot constrain .* \(3, 4\)"):
        C.MaxNorm(axis=2)(lp.tensor(np.ones((3, 4))))
    with pytest.raises(ValueError, match="max_value.*0.5"):
        C.MinMaxNorm(min_value=1.0, max_value=0.5)
    with pytest.raises(ValueError, match="rate.*1.5"):
        C.MinMaxNorm(rate=1.5)
    with pytest.raises(ValueError, match="Unknown constraints entry 'maxnorm'; did you mean"):
        C.get("maxnorm")


SAMPLE_ARGS = {
    "MaxNorm": {"max_value": 3.0, "axis": [0, 1, 2]},
    "NonNeg": {},
    "UnitNorm": {"axis": 1},
    "MinMaxNorm": {"min_value": 0.5, "max_value": 1.5, "rate": 0.7, "axis": -1},
}


@pytest.mark.parametrize("name", sorted(get_registry("constraints").classes()))
def test_config_round_trip_through_the_registry(name):
    assert name in SAMPLE_ARGS, f"add sample arguments for {name}"
    constraint = get_registry("constraints").classes()[name](**SAMPLE_ARGS[name])
    config = json.loads(json.dumps(C.serialize(constraint)))
    rebuilt = C.get(config)
    assert type(rebuilt) is type(constraint)
    assert rebuilt.get_config() == constraint.get_config()
    assert C.deserialize(config).get_config() == constraint.get_config()
    w = random_kernel((3, 3, 2, 4))
    np.testing.assert_array_equal(rebuilt(w).numpy(), constraint(w).numpy())


@pytest.mark.parametrize(
    ("alias", "cls"),
    [("max_norm", C.MaxNorm), ("non_neg", C.NonNeg), ("unit_norm", C.UnitNorm)]
    + [("min_max_norm", C.MinMaxNorm)],
)
def test_aliases_and_get(alias, cls):
    assert type(C.get(alias)) is cls
    assert type(C.get(cls)) is cls
    instance = cls()
    assert C.get(instance) is instance
    assert C.get(None) is None


def test_unregistered_callables_pass_get_but_not_serialize():
    def clamp(w):
        return lp.ops.clip(w, -1, 1)

    assert C.get(clamp) is clamp
    with pytest.raises(ValueError, match="registered constraint"):
        C.serialize(clamp)

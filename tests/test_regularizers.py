"""Regularizers: values against hand computation, gradients, validation and configs."""

import json
import math
import re

import numpy as np
import pytest

import lapenna as lp
from lapenna import regularizers as R
from lapenna.testing import gradcheck
from lapenna.utils import get_registry

W = np.array([[0.5, -1.5, 2.0], [-0.25, 0.75, -3.0]])


def test_l1_l2_and_l1l2_values_by_hand():
    w = lp.tensor(W.astype(np.float32))
    # sum |w| = 0.5 + 1.5 + 2 + 0.25 + 0.75 + 3 = 8; sum w^2 = 0.25 + 2.25 + 4 + 0.0625
    # + 0.5625 + 9 = 16.125
    assert R.L1(0.1)(w).item() == pytest.approx(0.8)
    assert R.L2(0.1)(w).item() == pytest.approx(1.6125)  # Keras: no factor 1/2
    assert R.L1L2(l1=0.1, l2=0.01)(w).item() == pytest.approx(0.8 + 0.16125)
    assert R.L1L2()(w).item() == 0.0


def test_penalties_are_float32_scalars_and_accept_arrays():
    for reg in (R.L1(), R.L2(), R.L1L2(0.1, 0.2), R.OrthogonalRegularizer()):
        out = reg(lp.tensor(W.astype(np.float32)))
        assert isinstance(out, lp.Tensor) and out.shape == () and out.dtype == np.float32
    assert R.L2(1.0)(np.array([3.0, 4.0], dtype=np.float32)).item() == 25.0


def test_defaults_shortcuts_and_aliases():
    assert R.L1().l1 == 0.01 and R.L2().l2 == 0.01
    assert (R.L1L2().l1, R.L1L2().l2) == (0.0, 0.0)
    assert (R.l1_l2().l1, R.l1_l2().l2) == (0.01, 0.01)
    assert isinstance(R.l1(0.3), R.L1) and R.l1(0.3).l1 == 0.3
    assert isinstance(R.l2(), R.L2) and R.l2().l2 == 0.01
    assert R.L1(None).l1 == 0.01 and R.L1L2(l1=None, l2=0.5).l1 == 0.0
    assert type(R.get("l1")) is R.L1 and type(R.get("l2")) is R.L2
    assert type(R.get("l1_l2")) is R.L1L2
    assert type(R.get("orthogonal_regularizer")) is R.OrthogonalRegularizer


@pytest.mark.parametrize(
    "reg",
    [R.L1(0.3), R.L2(0.7), R.L1L2(0.2, 0.4)],
    ids=["l1", "l2", "l1_l2"],
)
def test_gradients_match_hand_derivation_and_finite_differences(reg):
    w = lp.tensor(W.astype(np.float32), requires_grad=True)
    (grad,) = lp.grad(reg(w), [w])
    expected = reg.get_config().get("l1", 0) * np.sign(W) + 2 * reg.get_config().get("l2", 0) * W
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-6)
    assert gradcheck(reg, [W])


def _orthogonal_reference(w, factor, mode):
    v = w if mode == "rows" else w.T
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    gram = unit @ unit.T
    n = gram.shape[0]
    off = np.abs(gram - np.diag(np.diag(gram))).sum()
    return factor * 0.5 * off / (n * (n - 1) / 2)


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer_value_and_gradient(mode):
    w = np.random.default_rng(0).standard_normal((4, 6))
    reg = R.OrthogonalRegularizer(factor=0.3, mode=mode)
    assert reg(lp.tensor(w)).item() == pytest.approx(_orthogonal_reference(w, 0.3, mode))
    assert gradcheck(reg, [w])
    # orthogonal rows cost nothing, whatever their lengths; parallel ones cost the factor
    q = np.linalg.qr(np.random.default_rng(1).standard_normal((6, 4)))[0].T * 3.0
    assert R.OrthogonalRegularizer(1.0)(lp.tensor(q)).item() == pytest.approx(0, abs=1e-6)
    parallel = lp.tensor([[1.0, 2.0], [2.0, 4.0]])
    assert R.OrthogonalRegularizer(1.0)(parallel).item() == pytest.approx(1.0)


def test_orthogonal_regularizer_survives_a_zero_row():
    w = lp.tensor(np.array([[0.0, 0.0], [1.0, 2.0]]), requires_grad=True)
    penalty = R.OrthogonalRegularizer(1.0)(w)
    (grad,) = lp.grad(penalty, [w])
    assert penalty.item() == 0.0 and np.all(np.isfinite(grad.numpy()))


def test_weight_decay_step():
    # one gradient step on l2 * sum(w^2) alone multiplies the weights by 1 - 2 * lr * l2
    w = lp.Variable(W)
    (grad,) = lp.grad(R.L2(0.05)(w), [w])
    w.assign_sub(grad * 0.1)
    np.testing.assert_allclose(w.numpy(), W * (1 - 2 * 0.1 * 0.05), rtol=1e-6)


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, "0.1", True])
def test_bad_factors_raise_value_errors_quoting_the_value(bad):
    for make in (R.L1, R.L2, lambda v: R.L1L2(l1=v), lambda v: R.L1L2(l2=v)):
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            make(bad)
    with pytest.raises(ValueError, match="factor"):
        R.OrthogonalRegularizer(factor=bad)


def test_orthogonal_regularizer_errors():
    with pytest.raises(ValueError, match="mode 'rows' or 'columns', got 'diagonal'"):
        R.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match=r"2-D weight, got shape \(3, 3, 2\)"):
        R.OrthogonalRegularizer()(lp.tensor(np.ones((3, 3, 2))))


SAMPLE_ARGS = {
    "L1": {"l1": 0.3},
    "L2": {"l2": 0.02},
    "L1L2": {"l1": 0.1, "l2": 0.2},
    "OrthogonalRegularizer": {"factor": 0.5, "mode": "columns"},
}


@pytest.mark.parametrize("name", sorted(get_registry("regularizers").classes()))
def test_config_round_trip_through_the_registry(name):
    assert name in SAMPLE_ARGS, f"add sample arguments for {name}"
    reg = get_registry("regularizers").classes()[name](**SAMPLE_ARGS[name])
    config = json.loads(json.dumps(R.serialize(reg)))
    rebuilt = R.get(config)
    assert type(rebuilt) is type(reg) and rebuilt.get_config() == reg.get_config()
    assert R.deserialize(config).get_config() == reg.get_config()
    w = lp.tensor(W)
    assert rebuilt(w).item() == reg(w).item()


def test_get_serialize_edge_cases():
    reg = R.L2(1e-4)
    assert R.get(reg) is reg and R.get(None) is None and R.serialize(None) is None
    assert type(R.get(R.L1)) is R.L1

    def custom(w):
        return lp.ops.sum(w) * 0.0

    assert R.get(custom) is custom
    with pytest.raises(ValueError, match="registered regularizer"):
        R.serialize(custom)
    with pytest.raises(ValueError, match="Unknown regularizers entry 'l3'"):
        R.get("l3")
    with pytest.raises(ValueError, match="Could not interpret"):
        R.get(0.01)

"""The engine: course examples, gate patterns, tapes, graph freeing, dtypes and errors."""

import gc
import tracemalloc

import numpy as np
import pytest

import lapenna as lp
from lapenna import ops


def test_sigmoid_neuron_from_the_course():
    w0, w1, w2 = (lp.tensor(v, requires_grad=True) for v in (2.0, -3.0, -3.0))
    x0, x1 = (lp.tensor(v, requires_grad=True) for v in (-1.0, -2.0))
    f = ops.sigmoid(w0 * x0 + w1 * x1 + w2)
    f.backward()
    assert f.item() == pytest.approx(0.7311, abs=1e-4)
    got = [t.grad.item() for t in (w0, x0, w1, x1, w2)]
    assert got == pytest.approx([-0.1966, 0.3932, -0.3932, -0.5898, 0.1966], abs=1e-4)


def test_sigmoid_neuron_as_the_primitive_composition():
    w = lp.tensor([2.0, -3.0, -3.0], requires_grad=True)
    x = lp.tensor([-1.0, -2.0], requires_grad=True)
    f = 1 / (1 + ops.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))
    f.backward()
    assert w.grad.numpy() == pytest.approx([-0.1966, -0.3932, 0.1966], abs=1e-4)
    assert x.grad.numpy() == pytest.approx([0.3932, -0.5898], abs=1e-4)


def test_gates_distribute_switch_and_route():
    x, y = lp.tensor(3.0, requires_grad=True), lp.tensor(-4.0, requires_grad=True)
    upstream = lp.tensor(2.0)
    assert [g.item() for g in lp.grad(x + y, [x, y], upstream)] == [2.0, 2.0]
    assert [g.item() for g in lp.grad(x * y, [x, y], upstream)] == [-8.0, 6.0]
    assert [g.item() for g in lp.grad(ops.maximum(x, y), [x, y], upstream)] == [2.0, 0.0]


def test_reciprocal_gradient_from_the_course():
    x = lp.tensor(1.37, requires_grad=True)
    (1 / x).backward()
    assert x.grad.item() == pytest.approx(-0.53, abs=5e-3)


def test_second_derivative_with_nested_tapes():
    x = lp.tensor(3.0)
    with lp.GradientTape() as outer:
        outer.watch(x)
        with lp.GradientTape() as inner:
            inner.watch(x)
            y = x * x
        dy_dx = inner.gradient(y, x)
    assert dy_dx.item() == 6.0
    assert outer.gradient(dy_dx, x).item() == 2.0


def test_grad_create_graph_third_derivative():
    x = lp.tensor(2.0, requires_grad=True)
    y = x**4
    (d1,) = lp.grad(y, x, create_graph=True)
    (d2,) = lp.grad(d1, x, create_graph=True)
    (d3,) = lp.grad(d2, x)
    assert (d1.item(), d2.item(), d3.item()) == (32.0, 48.0, 48.0)


def test_tape_watches_variables_and_returns_structure():
    w = lp.Variable([[1.0, 2.0]], name="w")
    b = lp.Variable([0.5], name="b")
    frozen = lp.Variable([1.0], trainable=False)
    x = lp.tensor([[3.0], [4.0]])
    with lp.GradientTape() as tape:
        loss = ((x @ w + b) * frozen).sum()
    grads = tape.gradient(loss, {"w": w, "b": b, "frozen": frozen})
    assert grads["w"].numpy().tolist() == [[7.0, 7.0]]
    assert grads["b"].numpy().tolist() == [4.0]
    assert grads["frozen"] is None


def test_non_persistent_tape_refuses_a_second_gradient():
    w = lp.Variable([1.0])
    with lp.GradientTape() as tape:
        y = (w * w).sum()
    tape.gradient(y, [w])
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, [w])
    with lp.GradientTape(persistent=True) as tape:
        y = (w * w * w).sum()
    assert tape.gradient(y, w).item() == 3.0
    assert tape.gradient(y, w).item() == 3.0


def test_backward_accumulates_into_leaves_and_broadcasts_once():
    b = lp.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = lp.tensor(np.ones((4, 3), dtype=np.float32))
    (x + b).sum().backward()
    assert b.grad.numpy().tolist() == [4.0, 4.0, 4.0]
    (x * b).sum().backward()
    assert b.grad.numpy().tolist() == [8.0, 8.0, 8.0]


def test_a_shared_input_sums_its_paths():
    x = lp.tensor(3.0, requires_grad=True)
    y = x * x + x * 2 + ops.exp(x * 0)
    y.backward()
    assert x.grad.item() == 8.0


def test_freed_graph_and_retain_graph():
    x = lp.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.numpy().tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_errors_are_clear():
    a = lp.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    msg = r"matmul: shapes \(2, 3\) and \(2, 3\) are not aligned: 3 \(axis 1\) != 2 \(axis 0\)"
    with pytest.raises(ValueError, match=msg):
        a @ a
    with pytest.raises(RuntimeError, match="non-scalar"):
        (a * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        lp.tensor([1.0]).sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        lp.grad(a.sum(), lp.tensor([1.0]))
    with pytest.raises(RuntimeError, match="not used"):
        lp.grad(a.sum(), lp.tensor([1.0], requires_grad=True))
    with pytest.raises(TypeError, match="floating-point"):
        lp.tensor([1, 2], requires_grad=True)
    with pytest.raises(ValueError, match="cannot reshape"):
        a.reshape(4, 2)


def test_no_grad_records_nothing():
    w = lp.tensor([1.0], requires_grad=True)
    with lp.no_grad():
        y = w * 2
    assert not y.requires_grad and y.node is None

    @lp.no_grad()
    def f(t):
        return t * 3

    assert not f(w).requires_grad


def test_float32_is_never_promoted():
    x = lp.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    for y in (
        x * 2.5,
        x + np.float64(1.5),
        2.0 - x,
        x / np.float64(3),
        x**0.5,
        ops.maximum(x, 0.1),
        ops.where(x > 0, x, 0.0),
        ops.clip(x, 0.0, 2.0),
        x.mean(),
        x.var(),
        ops.softplus(x),
        ops.logsumexp(x),
        ops.elu(x),
        np.float64(2.0) * x,
        x * np.array(2.0),
    ):
        assert y.dtype == np.float32, y
    y = (x * 2.5).sum()
    y.backward()
    assert x.grad.dtype == np.float32
    assert lp.tensor([1.0, 2.0]).dtype == np.float32
    lp.set_floatx("float64")
    assert lp.tensor([1.0]).dtype == np.float64


def test_getitem_forms():
    data = np.arange(24.0).reshape(2, 3, 4)
    x = lp.tensor(data, requires_grad=True)
    for index in [
        1,
        (0, 2),
        (slice(None), slice(None, None, 2)),
        (None, Ellipsis, 1),
        (Ellipsis, -1),
        np.array([1, 1, 0]),
        (slice(None), np.array([2, 0])),
        data > 10,
        (1, slice(0, 3), np.array([3, 3])),
    ]:
        out = x[index]
        np.testing.assert_array_equal(out.numpy(), data[index])
        (g,) = lp.grad(out.sum(), x)
        expected = np.zeros_like(data)
        np.add.at(expected, index, 1.0)
        np.testing.assert_array_equal(g.numpy(), expected)


def test_comparisons_have_no_grad():
    x = lp.tensor([1.0, 2.0], requires_grad=True)
    for y in (x < 1.5, x <= 1, x > 0, x >= 2, x == 1, x != 1):
        assert y.dtype == bool and not y.requires_grad


def test_variable_assign_in_place_and_shape_check():
    v = lp.Variable(np.zeros((2, 2), dtype=np.float32), name="kernel")
    data = v.data
    v.assign(np.ones((2, 2)))
    v.assign_add([[1.0, 1.0], [1.0, 1.0]])
    v.assign_sub(lp.tensor(np.full((2, 2), 0.5, dtype=np.float32)))
    assert v.data is data and v.numpy().tolist() == [[1.5, 1.5], [1.5, 1.5]]
    with pytest.raises(
        ValueError, match=r"Variable 'kernel': assign expects a value of shape \(2, 2\)"
    ):
        v.assign(np.ones(3))
    assert v.requires_grad
    v.trainable = False
    assert not v.requires_grad


def test_deep_chain_has_no_recursion_limit():
    x = lp.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001**5000, rel=1e-3)


def test_memory_stays_flat_over_many_steps():
    rng = np.random.default_rng(0)
    w1 = lp.Variable(rng.standard_normal((8, 16)).astype(np.float32) * 0.1)
    w2 = lp.Variable(rng.standard_normal((16, 1)).astype(np.float32) * 0.1)
    x = lp.tensor(rng.standard_normal((32, 8)).astype(np.float32))

    def step():
        with lp.GradientTape() as tape:
            loss = ((ops.relu(x @ w1) @ w2) ** 2).mean()
        for w, g in zip((w1, w2), tape.gradient(loss, [w1, w2])):
            w.assign_sub(g * 0.01)

    for _ in range(200):
        step()
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    for _ in range(10_000):
        step()
    growth = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    assert growth < 200_000, f"memory grew by {growth} bytes over 10,000 steps"


def test_detach_and_leaf():
    x = lp.tensor([1.0], requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf
    assert not y.detach().requires_grad and y.detach().is_leaf

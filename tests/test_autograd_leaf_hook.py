"""The engine's public leaf hook: called once per leaf, as soon as its gradient is final."""

import numpy as np
import pytest

import lapenna as lp
from lapenna.autograd import engine


@pytest.fixture
def calls():
    seen = []
    handle = engine.register_leaf_hook(lambda leaf, g: seen.append((leaf, g.data.copy())))
    yield seen
    handle.remove()


def test_last_layer_first_and_before_backward_ends(calls):
    x = lp.tensor(np.ones((2, 3), dtype="float32"))
    w1 = lp.Variable(np.full((3, 4), 0.5, dtype="float32"), name="w1")
    w2 = lp.Variable(np.full((4, 1), 0.25, dtype="float32"), name="w2")
    with lp.GradientTape() as tape:
        loss = lp.ops.sum(lp.ops.tanh(x @ w1) @ w2)
    g1, g2 = tape.gradient(loss, [w1, w2])
    assert [leaf for leaf, _ in calls] == [w2, w1]  # w2 is final before w1 is reached
    np.testing.assert_array_equal(calls[0][1], g2.data)
    np.testing.assert_array_equal(calls[1][1], g1.data)


def test_a_leaf_used_twice_fires_once_with_the_whole_gradient(calls):
    w = lp.tensor([1.0, 2.0], requires_grad=True)
    (w * w + 3.0 * w).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0][1], [5.0, 7.0])
    np.testing.assert_allclose(w.grad.data, [5.0, 7.0])


def test_removed_hook_is_not_called_and_bad_hook_is_refused():
    seen = []
    handle = engine.register_leaf_hook(lambda leaf, g: seen.append(leaf))
    handle.remove()
    w = lp.tensor([1.0], requires_grad=True)
    (w * w).sum().backward()
    assert seen == []
    with pytest.raises(TypeError, match="expects a callable, got int"):
        engine.register_leaf_hook(3)

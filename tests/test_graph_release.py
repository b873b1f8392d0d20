"""A result kept after backward keeps its value, not its graph: a tape loop that appends
every loss to a list stays flat in memory."""

import tracemalloc

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers


def _grown_bytes_keeping_losses(steps):
    lp.set_seed(0)
    model = lp.Sequential(
        [layers.Input((64,)), layers.Dense(256, activation="relu"), layers.Dense(10)]
    )
    optimizer = lp.optimizers.SGD(0.01)
    loss_fn = lp.losses.SparseCategoricalCrossentropy(from_logits=True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 64)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    losses = []

    def step():
        with lp.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        losses.append(loss)

    step()  # slots and caches
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(steps):
            step()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert float(losses[-1].numpy()) == pytest.approx(float(losses[-1].data))  # readable
    return grown


def test_kept_losses_do_not_keep_their_graphs():
    # each step's graph holds two 64x256 float32 activations (64 KB each) and more: 40
    # kept graphs would be over 5 MB; 40 kept scalars with their freed nodes are far less
    assert _grown_bytes_keeping_losses(40) < 1_000_000


def test_a_released_graph_still_refuses_a_second_backward():
    w = lp.Variable(np.ones(3, np.float32))
    loss = (w * w).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()

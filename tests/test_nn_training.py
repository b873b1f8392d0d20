"""The kernels together: a small convolutional network written with ops learns."""

import numpy as np

import lapenna as lp
from lapenna import ops


def test_small_cnn_fits_a_toy_problem():
    rng = np.random.default_rng(0)
    # two classes: a bright blob in the top-left or in the bottom-right corner
    x = rng.standard_normal((32, 8, 8, 1)).astype(np.float32) * 0.3
    y = np.arange(32) % 2
    x[y == 0, :3, :3] += 1.5
    x[y == 1, 5:, 5:] += 1.5
    onehot = np.eye(2, dtype=np.float32)[y]

    def weight(*shape):
        return lp.tensor(rng.standard_normal(shape).astype(np.float32) * 0.3, requires_grad=True)

    params = [weight(3, 3, 1, 8), weight(8), weight(8), weight(3, 3, 8, 8), weight(8, 2)]

    def loss_fn():
        k1, gamma, beta, k2, dense = params
        h = ops.relu(ops.conv2d(x, k1, padding="same"))
        h, _, _ = ops.batch_norm(h, gamma, beta, training=True)
        h = ops.dropout(ops.max_pool2d(h, 2), 0.1)
        h = ops.relu(ops.conv2d(h, k2, strides=2, padding="same"))
        logits = ops.matmul(ops.global_avg_pool2d(h), dense)
        return -(ops.log_softmax(logits) * onehot).sum() / 32

    first = loss_fn().item()
    for _ in range(40):
        loss = loss_fn()
        grads = lp.grad(loss, params)
        for p, g in zip(params, grads):
            p.data -= 0.3 * g.data
    assert loss_fn().item() < 0.1 * first

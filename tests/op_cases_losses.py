"""Gradient-check entries for the fused loss ops (dense, sparse, from probabilities)."""

import numpy as np

from lapenna import ops
from op_cases_core import Case, r

rng = np.random.default_rng(4321)


def probs(*shape):
    e = np.exp(rng.standard_normal(shape))
    return e / e.sum(axis=-1, keepdims=True)


def labels(n, classes):
    return rng.integers(0, classes, size=n)


def unit(*shape):
    """Values well inside (0, 1), so probability clipping never bites."""
    return rng.uniform(0.1, 0.9, size=shape)


OP_CASES = {
    "softmax_cross_entropy": [
        Case(ops.softmax_cross_entropy, [probs(4, 5), r(4, 5) * 3]),
        Case(
            lambda y, x: ops.softmax_cross_entropy(y, x, axis=1, label_smoothing=0.2),
            [np.ascontiguousarray(probs(2, 3, 4).swapaxes(1, 2)), r(2, 4, 3)],
        ),
        Case(
            lambda x, y: ops.softmax_cross_entropy(y, x, sparse=True),
            [r(6, 4) * 2, labels(6, 4)],
        ),
        Case(
            lambda x, y: ops.softmax_cross_entropy(y, x, sparse=True, label_smoothing=0.1),
            [r(2, 3, 5), rng.integers(0, 5, size=(2, 3))],
        ),
        Case(
            lambda y, p: ops.softmax_cross_entropy(y, p, from_logits=False),
            [probs(3, 4), probs(3, 4)],
        ),
        Case(
            lambda p, y: ops.softmax_cross_entropy(y, p, sparse=True, from_logits=False),
            [probs(5, 3), labels(5, 3)],
        ),
    ],
    "binary_cross_entropy": [
        Case(lambda z, x: ops.binary_cross_entropy(z, x, from_logits=True), [unit(3, 4), r(3, 4)]),
        Case(
            lambda z, x: ops.binary_cross_entropy(z, x, from_logits=True, label_smoothing=0.1),
            [unit(5), r(5) * 4],
        ),
        Case(ops.binary_cross_entropy, [unit(4, 2), unit(4, 2)]),
    ],
}

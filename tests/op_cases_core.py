"""The gradient-check registry for the core ops (one ``op_cases_<family>.py`` per family).

Each entry maps an op name of ``lapenna.ops.__all__`` to a list of ``Case``s. A case is a
function of Tensors (usually a thin call of the op) and its inputs as numpy arrays; float
inputs are differentiated, others are passed through. ``second=True`` also checks second
derivatives. ``tests/test_gradcheck.py`` runs them all, and a meta-test fails when an op
has no entry.
"""

from dataclasses import dataclass, field

import numpy as np

from lapenna import ops

rng = np.random.default_rng(1234)


def r(*shape, low=None):
    a = rng.standard_normal(shape)
    return np.abs(a) + low if low is not None else a


def distinct(*shape):
    """Well-separated values, so max/min/relu/abs are differentiable at every entry."""
    n = int(np.prod(shape)) if shape else 1
    return (rng.permutation(n).reshape(shape) - n / 2 + 0.25) * 0.37


@dataclass
class Case:
    fn: object
    inputs: list
    second: bool = True
    name: str = field(default="")


OP_CASES = {
    # elementwise, with broadcasting and size-1 axes
    "add": [Case(ops.add, [r(3, 4), r(4)]), Case(ops.add, [r(2, 1, 3), r(1, 5, 1)])],
    "subtract": [Case(ops.subtract, [r(3, 4), r(3, 1)]), Case(ops.subtract, [r(1), r(2, 3)])],
    "multiply": [Case(ops.multiply, [r(3, 4), r(4)]), Case(ops.multiply, [r(2, 1, 3), r(5, 1)])],
    "divide": [
        Case(ops.divide, [r(3, 4), r(4, low=0.5)]),
        Case(ops.divide, [r(1, 3), r(2, 1, low=1)]),
    ],
    "power": [
        Case(ops.power, [r(3, 4, low=0.5), r(4)]),
        Case(lambda x: ops.power(x, 3), [r(2, 5)]),
    ],
    "negative": [Case(ops.negative, [r(3, 2)])],
    "exp": [Case(ops.exp, [r(3, 5)])],
    "log": [Case(ops.log, [r(4, 3, low=0.3)])],
    "sqrt": [Case(ops.sqrt, [r(5, low=0.3)])],
    "square": [Case(ops.square, [r(2, 3)])],
    "abs": [Case(ops.abs, [distinct(3, 4)])],
    "sign": [Case(lambda x: ops.sign(x) * x, [distinct(3, 4)])],
    "maximum": [Case(ops.maximum, [distinct(3, 4), distinct(4) * 0.9])],
    "minimum": [Case(ops.minimum, [distinct(3, 4), distinct(3, 1) * 1.1])],
    "where": [Case(lambda c, x, y: ops.where(c, x, y), [r(3, 4) > 0, r(3, 4), r(4)])],
    "clip": [Case(lambda x: ops.clip(x, -0.5, 0.7), [distinct(4, 5)])],
    "tanh": [Case(ops.tanh, [r(3, 4)])],
    "arctan": [Case(ops.arctan, [r(3, 4)])],
    "sigmoid": [Case(ops.sigmoid, [r(3, 4) * 3])],
    "relu": [Case(ops.relu, [distinct(3, 5)])],
    "leaky_relu": [Case(lambda x: ops.leaky_relu(x, 0.1), [distinct(3, 5)])],
    "elu": [Case(ops.elu, [distinct(3, 5)])],
    "softplus": [Case(ops.softplus, [r(3, 5) * 4])],
    # reductions, negative axes and keepdims
    "sum": [
        Case(ops.sum, [r(3, 4)]),
        Case(lambda x: ops.sum(x, axis=-1, keepdims=True), [r(2, 3, 5)]),
        Case(lambda x: ops.sum(x, axis=(0, 2)), [r(2, 3, 5)]),
    ],
    "mean": [Case(lambda x: ops.mean(x, axis=1), [r(3, 4)]), Case(ops.mean, [r(7)])],
    "max": [
        Case(lambda x: ops.max(x, axis=-1), [distinct(3, 5)]),
        Case(lambda x: ops.max(x, axis=(0, 1), keepdims=True), [distinct(2, 3, 2)]),
    ],
    "min": [Case(lambda x: ops.min(x, axis=0), [distinct(4, 3)])],
    "var": [
        Case(lambda x: ops.var(x, axis=0), [r(5, 3)]),
        Case(lambda x: ops.var(x, ddof=1), [r(7)]),
    ],
    "std": [Case(lambda x: ops.std(x, axis=-1), [r(3, 6)])],
    "logsumexp": [
        Case(lambda x: ops.logsumexp(x, axis=-1), [r(3, 5)]),
        Case(ops.logsumexp, [r(2, 3)]),
    ],
    "argmax": [Case(lambda x: x * ops.argmax(x, axis=0).astype(x.dtype), [distinct(3, 4)])],
    "argmin": [
        Case(lambda x: x * ops.argmin(x, axis=1).astype(x.dtype).reshape(3, 1), [distinct(3, 4)])
    ],
    # shapes
    "reshape": [Case(lambda x: ops.reshape(x, (4, -1)), [r(2, 3, 2)])],
    "transpose": [
        Case(ops.transpose, [r(2, 3)]),
        Case(lambda x: ops.transpose(x, (1, 2, 0)), [r(2, 3, 4)]),
    ],
    "swapaxes": [Case(lambda x: ops.swapaxes(x, 0, -1), [r(2, 3, 4)])],
    "broadcast_to": [Case(lambda x: ops.broadcast_to(x, (2, 3, 4)), [r(3, 1)])],
    "expand_dims": [Case(lambda x: ops.expand_dims(x, -1), [r(2, 3)])],
    "squeeze": [Case(lambda x: ops.squeeze(x, 1), [r(3, 1, 2)])],
    "flatten": [Case(ops.flatten, [r(2, 3)])],
    "concatenate": [Case(lambda a, b: ops.concatenate([a, b], axis=-1), [r(2, 3), r(2, 5)])],
    "stack": [Case(lambda a, b: ops.stack([a, b], axis=1), [r(2, 3), r(2, 3)])],
    "split": [Case(lambda x: ops.split(x, [1, 4], axis=1)[1] * 2, [r(3, 5)])],
    "pad": [Case(lambda x: ops.pad(x, ((1, 2), (0, 3))), [r(2, 3)])],
    "take": [Case(lambda x: ops.take(x, np.array([2, 0, 2]), axis=1), [r(3, 4)])],
    "gather": [Case(lambda x: ops.gather(x, np.array([1, 1, 0])), [r(3, 2)])],
    "take_along_axis": [
        Case(lambda x: ops.take_along_axis(x, np.array([[0], [2], [1]]), axis=1), [r(3, 4)])
    ],
    # products
    "matmul": [
        Case(ops.matmul, [r(3, 4), r(4, 2)]),
        Case(ops.matmul, [r(2, 3, 4), r(4, 5)]),
        Case(ops.matmul, [r(4), r(4, 3)]),
        Case(ops.matmul, [r(2, 1, 3, 4), r(5, 4, 2)]),
        Case(ops.matmul, [r(4), r(4)]),
    ],
    "dot": [Case(ops.dot, [r(3, 4), r(4)]), Case(ops.dot, [r(5), r(5)])],
    "tensordot": [
        Case(lambda a, b: ops.tensordot(a, b, axes=([1, 2], [0, 1])), [r(2, 3, 4), r(3, 4, 5)]),
        Case(lambda a, b: ops.tensordot(a, b, axes=1), [r(2, 3), r(3, 4)]),
    ],
    "softmax": [Case(ops.softmax, [r(3, 5)]), Case(lambda x: ops.softmax(x, axis=0), [r(4, 2)])],
    "log_softmax": [
        Case(ops.log_softmax, [r(3, 5)]),
        Case(lambda x: ops.log_softmax(x, 0), [r(4, 2)]),
    ],
}

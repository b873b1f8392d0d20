"""Gradient-check cases of the creation and conversion ops: constants multiply the input,
so the check covers their values; ``cast`` between floats passes the gradient."""

import numpy as np

from lapenna import ops
from op_cases_core import Case, distinct, r

OP_CASES = {
    "cast": [Case(lambda x: ops.cast(x, "float64") * 2.0, [r(3, 2)])],
    "convert_to_tensor": [Case(lambda x: x * ops.convert_to_tensor([[1.0, 2.0]]), [r(3, 2)])],
    "ones": [Case(lambda x: x * ops.ones((3, 2), dtype="float64"), [r(3, 2)])],
    "zeros": [Case(lambda x: x + ops.zeros((3, 2), dtype="float64"), [r(3, 2)])],
    "full": [Case(lambda x: x * ops.full((3, 2), 1.5, dtype="float64"), [r(3, 2)])],
    "eye": [Case(lambda x: ops.matmul(x, ops.eye(2, dtype="float64")), [r(3, 2)])],
    "argsort": [Case(lambda x: x * ops.argsort(x, axis=1).astype(x.dtype), [distinct(3, 4)])],
    "one_hot": [
        Case(lambda x: x * ops.one_hot(np.array([0, 2, 1]), 3, dtype="float64"), [r(3, 3)])
    ],
}

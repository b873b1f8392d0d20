"""Gradient-check cases for the special functions (see tests/op_cases_core.py)."""

import numpy as np

from lapenna import ops
from op_cases_core import Case

rng = np.random.default_rng(4321)

OP_CASES = {
    "erf": [
        Case(ops.erf, [rng.standard_normal((3, 4))]),
        # both sides of the 0.46875 and 4.0 switch points of the approximation
        Case(ops.erf, [np.array([-4.5, -2.0, -0.47, -0.46, 0.2, 0.46, 0.47, 3.9, 4.1])]),
    ],
}

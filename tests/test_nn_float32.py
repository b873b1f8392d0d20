"""float32 stays float32 through every neural-network op, forward and backward."""

import numpy as np
import pytest

import lapenna as lp
from op_cases_nn import OP_CASES

CASES = [(name, i, case) for name, cases in OP_CASES.items() for i, case in enumerate(cases)]


@pytest.mark.parametrize(("name", "i", "case"), CASES, ids=[f"{n}-{i}" for n, i, _ in CASES])
def test_float32_in_float32_out(name, i, case):
    inputs = [
        lp.tensor(np.asarray(a, np.float32), requires_grad=True) if a.dtype.kind == "f" else a
        for a in map(np.asarray, case.inputs)
    ]
    out = case.fn(*inputs)
    assert out.dtype == np.float32, f"{name} returned {out.dtype}"
    leaves = [t for t in inputs if isinstance(t, lp.Tensor)]
    grads = lp.grad(out, leaves, grad_outputs=lp.tensor(np.ones(out.shape, np.float32)))
    for g in grads:
        assert g.dtype == np.float32, f"{name} has a {g.dtype} gradient"

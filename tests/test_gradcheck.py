"""Every public op passes a float64 central-difference check, and second derivatives."""

import pytest

from lapenna import ops
from lapenna.testing import gradcheck, gradgradcheck
from op_cases import OP_CASES

CASES = [(name, i, case) for name, cases in OP_CASES.items() for i, case in enumerate(cases)]
IDS = [f"{name}-{i}" for name, i, _ in CASES]


def test_every_public_op_has_an_entry():
    missing = sorted(set(ops.__all__) - set(OP_CASES))
    assert not missing, f"ops without gradient-check cases: {missing}"


@pytest.mark.parametrize(("name", "i", "case"), CASES, ids=IDS)
def test_gradient(name, i, case):
    assert gradcheck(case.fn, case.inputs)


@pytest.mark.parametrize(
    ("name", "i", "case"),
    [c for c in CASES if c[2].second],
    ids=[i for i, c in zip(IDS, CASES) if c[2].second],
)
def test_second_derivative(name, i, case):
    assert gradgradcheck(case.fn, case.inputs)

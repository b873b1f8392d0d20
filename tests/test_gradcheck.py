"""Every public op passes a float64 central-difference check, and second derivatives."""

import importlib
from pathlib import Path

import pytest

from lapenna import ops
from lapenna.testing import gradcheck, gradgradcheck

# every tests/op_cases_<family>.py contributes an OP_CASES dict
OP_CASES = {}
for _path in sorted(Path(__file__).parent.glob("op_cases_*.py")):
    _cases = importlib.import_module(_path.stem).OP_CASES
    assert not set(_cases) & set(OP_CASES), f"{_path.name} repeats ops already registered"
    OP_CASES.update(_cases)

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

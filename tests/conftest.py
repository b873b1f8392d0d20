import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import lapenna as lp  # noqa: E402


@pytest.fixture(autouse=True)
def _reset_state():
    """Each test starts from float32, a fixed seed and fresh default names."""
    lp.set_floatx("float32")
    lp.set_seed(0)
    lp.utils.reset_names()
    yield
    lp.set_floatx("float32")

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# real Keras, the reference of the parity tests, runs on the pinned CPU PyTorch
os.environ.setdefault("KERAS_BACKEND", "torch")

import lapenna as lp  # noqa: E402


@pytest.fixture(autouse=True)
def _reset_state():
    """Each test starts from float32, a fixed seed and fresh default names."""
    lp.set_floatx("float32")
    lp.set_seed(0)
    lp.utils.reset_names()
    yield
    lp.set_floatx("float32")


@pytest.fixture
def two_workers(monkeypatch):
    """lapenna's kernels on two workers (one inside a chunk) whatever the machine, with
    products split even where BLAS could thread them and even tiny ones."""
    from lapenna.backend import parallel, process

    pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(
        parallel, "workers", lambda: 1 if parallel._local.__dict__.get("busy") else 2
    )
    monkeypatch.setattr(process, "SHORT_BLAS_SPIN", False)
    monkeypatch.setattr(parallel, "_MIN_PARALLEL_MACS", 0)

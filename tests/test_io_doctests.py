"""The examples in the io docstrings run and give what they show."""

import doctest
import importlib

import pytest

MODULES = ["archive", "atomic", "config", "errors", "keras_h5", "npz", "safetensors", "state"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "keras_h5":
        pytest.importorskip("h5py")
    module = importlib.import_module(f"lapenna.io.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0 or name == "errors"

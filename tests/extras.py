"""Optional extras in tests: skip cleanly, with the extra named, when one is missing."""

import importlib.util

import pytest


def installed(module):
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def requires(*modules):
    """A skip mark for tests that need every module of ``modules``."""
    missing = [m for m in modules if not installed(m)]
    return pytest.mark.skipif(
        bool(missing), reason=f"needs {', '.join(missing)} (an optional extra of lapenna)"
    )

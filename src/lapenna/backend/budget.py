"""A bound on the bytes of weights created while a file is turned into a model.

A model file's config says which layers to build, and building allocates their weights
before they can be compared with the file's tensors: a config declaring ``Dense(3_500_000)``
would allocate gigabytes first. The loader builds inside ``weight_budget(n)``, with ``n``
the bytes of weights the file actually holds; each new weight is charged before its array
is allocated, and the first one over the bound raises :class:`WeightBudgetError`.
"""

import contextlib
import threading

_local = threading.local()


class WeightBudgetError(ValueError):
    """Raised when building needs more weight bytes than the budget allows."""


@contextlib.contextmanager
def weight_budget(nbytes):
    """Within the block, weights created in this thread may total at most ``nbytes``.

    Example:
        >>> with weight_budget(16):
        ...     charge_weight(8, "a weight of 8 bytes")
        >>> with weight_budget(16):
        ...     charge_weight(32, "a weight of 32 bytes")
        Traceback (most recent call last):
        ...
        lapenna.backend.budget.WeightBudgetError: a weight of 32 bytes needs 32 bytes, ...
    """
    outer = getattr(_local, "left", None)
    _local.left = int(nbytes)
    try:
        yield
    finally:
        _local.left = outer


def charge_weight(nbytes, what):
    """Count ``nbytes`` against the current budget (no budget: nothing to do)."""
    left = getattr(_local, "left", None)
    if left is None:
        return
    if nbytes > left:
        raise WeightBudgetError(
            f"{what} needs {nbytes} bytes, more than the {left} bytes of weights left in "
            "the budget (the file holds fewer weights than its config declares)"
        )
    _local.left = left - nbytes

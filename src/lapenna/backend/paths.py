"""Selection tables: how a kernel with several algorithms says which one runs, and why.

A table is a tuple of ``Path`` rows. A kernel's entry point walks its table and runs the
first row whose ``applies`` test passes; the last row always applies and is the plain
algorithm the others are measured against. Every row says in ``why`` what it saves over
the rows below it. Tests run every row against a reference (``tests/test_conv_paths.py``,
``tests/test_pool_norm_paths.py``) and fail on a row without a case.
"""

from typing import NamedTuple


class Path(NamedTuple):
    """One row of a selection table."""

    name: str
    applies: object  # (the entry point's selection arguments) -> bool
    run: object  # the entry point's arguments -> the result
    why: str


def select(table, *arguments):
    """The first row of ``table`` whose test passes for ``arguments``."""
    return next(path for path in table if path.applies(*arguments))

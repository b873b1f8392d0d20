"""Readable default names: ``dense``, ``dense_1``, ``conv2d_transpose``."""

import re
from collections import defaultdict

_counters = defaultdict(int)


def to_snake_case(name):
    """``Dense`` -> ``dense``, ``Conv2DTranspose`` -> ``conv2d_transpose``, ``ReLU`` ->
    ``re_lu`` (Keras's names); a digit does not start a new word."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_name(base):
    """Return ``base`` the first time, then ``base_1``, ``base_2``..."""
    count = _counters[base]
    _counters[base] += 1
    return base if count == 0 else f"{base}_{count}"


def reset_names():
    """Start default names again from ``dense``, ``conv2d``... (handy in tests)."""
    _counters.clear()

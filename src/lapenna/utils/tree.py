"""Nested structures of tuples, lists and dicts: flattened and rebuilt in one fixed order.

Every room that walks nested data uses this module: the ``Dataset`` pipeline and the data
adapter (``(x, y)`` pairs, several inputs), the functional graph (lists of symbolic tensors)
and ``Model`` (several outputs). It has one rule, so they agree:

- a tuple, a list or a dict is *structure*; its items are walked in order (dicts in
  insertion order);
- except a list of plain scalars (numbers, bools, strings), or a list of such lists: that
  is *data* as numpy reads it (``[[1, 2], [3, 4]]`` is one 2x2 array), so it is one leaf;
- anything else (an array, a Tensor, a symbolic tensor, ``None``) is a leaf.

So ``[x1, x2]`` (a list of arrays) is two inputs everywhere, and ``[0.5, 1.5]`` is one array
everywhere. Tuples are never data: ``(1, 2)`` is two leaves, as ``(x, y)`` is.

Example:
    >>> flatten(({"a": 1, "b": [2, 3]}, [None, "s"]))
    [1, [2, 3], None, 's']
    >>> pack_like(((0, 0), [None, None]), [1, 2, 3, 4])
    ((1, 2), [3, 4])
"""

from numbers import Number

_SCALARS = (Number, str, bytes)


def is_data_list(value):
    """Whether ``value`` is a list that numpy reads as one array (scalars, nested lists)."""
    if not isinstance(value, list) or not value:
        return False
    return all(isinstance(item, _SCALARS) or is_data_list(item) for item in value)


def is_nested(value):
    """Whether ``value`` is structure (a tuple, a dict, or a list that is not data)."""
    if isinstance(value, tuple | dict):
        return True
    return isinstance(value, list) and not is_data_list(value)


def flatten(structure):
    """The leaves of ``structure``, in order (tuple and list order, dict insertion order)."""
    if isinstance(structure, dict):
        return [leaf for item in structure.values() for leaf in flatten(item)]
    if is_nested(structure):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_like(template, leaves):
    """Rebuild the structure of ``template`` from ``leaves`` (the inverse of :func:`flatten`).

    Raises:
        ValueError: if the number of leaves is not the template's.
    """
    leaves = list(leaves)
    expected = len(flatten(template))
    if expected != len(leaves):
        raise ValueError(
            f"pack_like: the structure has {expected} leaves, got {len(leaves)} values"
        )
    return _pack(template, iter(leaves))


def _pack(template, leaves):
    if isinstance(template, dict):
        return {key: _pack(item, leaves) for key, item in template.items()}
    if isinstance(template, tuple):
        return tuple(_pack(item, leaves) for item in template)
    if is_nested(template):
        return [_pack(item, leaves) for item in template]
    return next(leaves)


def map_structure(fn, structure):
    """Apply ``fn`` to every leaf of ``structure`` and keep the structure.

    Example:
        >>> map_structure(str, (1, [None, 3], {"k": [[1, 2]]}))
        ('1', ['None', '3'], {'k': '[[1, 2]]'})
    """
    return _pack(structure, (fn(leaf) for leaf in flatten(structure)))


def signature(structure):
    """A hashable description of the nesting (not the leaves) of ``structure``."""
    if isinstance(structure, dict):
        return ("dict", tuple((key, signature(item)) for key, item in structure.items()))
    if isinstance(structure, tuple):
        return ("tuple", tuple(signature(item) for item in structure))
    if is_nested(structure):
        return ("list", tuple(signature(item) for item in structure))
    return "leaf"

"""Dataset elements: nested tuples, lists and dicts of arrays, their specs and conventions.

A dataset element is an array, or a tuple, list or dict of elements (nested freely). What
is structure and what is one array follows :mod:`lapenna.utils.tree`, the one rule every
room uses: a list of arrays is structure, a list of numbers is one array.
"""

from dataclasses import dataclass

from lapenna.backend import as_array
from lapenna.backend import host_np as np
from lapenna.utils.tree import flatten, map_structure, pack_like


@dataclass(frozen=True)
class ArraySpec:
    """Shape and dtype of one component of a dataset element.

    Args:
        shape: tuple of ints, with ``None`` for a dimension that varies (the batch axis).
        dtype: a numpy dtype.

    Example:
        >>> ArraySpec((None, 28, 28, 1), np.dtype("uint8"))
        ArraySpec(shape=(None, 28, 28, 1), dtype=dtype('uint8'))
    """

    shape: tuple
    dtype: np.dtype

    def matches(self, array):
        """Whether ``array`` has this rank and every fixed dimension of this shape."""
        if array.ndim != len(self.shape):
            return False
        return all(d is None or d == s for d, s in zip(self.shape, array.shape))


def to_array(value):
    """Convert one leaf to an array; Python floats become floatx, arrays keep their dtype
    (as does anything that converts itself through ``__array__``, such as a Tensor)."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "__array__") and not isinstance(value, np.generic):
        return np.asarray(value)
    return as_array(value)


def to_arrays(element):
    """Convert every leaf of ``element`` to an array (see :func:`to_array`)."""
    return map_structure(to_array, element)


def spec_of(element, batched=False):
    """The :class:`ArraySpec` structure of ``element``; ``batched`` makes axis 0 ``None``."""

    def leaf_spec(array):
        shape = tuple(array.shape)
        if batched and shape:
            shape = (None,) + shape[1:]
        return ArraySpec(shape, array.dtype)

    return map_structure(leaf_spec, element)


def apply_fn(fn, element):
    """Call ``fn`` the way ``Dataset.map`` does: a tuple element is spread into arguments."""
    if isinstance(element, tuple):
        return fn(*element)
    return fn(element)


def unpack_x_y_sample_weight(element):
    """Split a training element into ``(x, y, sample_weight)``, ``None`` for missing parts.

    The convention ``fit`` relies on: a tuple of length 1, 2 or 3 is ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)``; anything else (one array, a dict) is ``x`` alone. A model with
    several inputs therefore takes its inputs as a nested tuple or a dict:
    ``((x1, x2), y)`` or ``({"image": a, "meta": b}, y)``.

    Args:
        element: one dataset element (usually a batch).

    Returns:
        ``(x, y, sample_weight)``.

    Raises:
        ValueError: for a tuple of any other length.

    Example:
        >>> x, y, w = unpack_x_y_sample_weight((np.zeros(2), np.ones(2)))
        >>> w is None
        True
    """
    if not isinstance(element, tuple):
        return element, None, None
    if len(element) == 1:
        return element[0], None, None
    if len(element) == 2:
        return element[0], element[1], None
    if len(element) == 3:
        return element
    raise ValueError(
        "a training element must be x, (x,), (x, y) or (x, y, sample_weight); "
        f"got a tuple of {len(element)} parts (nest several inputs as ((x1, x2), y))"
    )


def element_kind(element):
    """``"x"``, ``"x_y"`` or ``"x_y_sample_weight"``: how ``unpack_x_y_sample_weight`` reads it."""
    x, y, weight = unpack_x_y_sample_weight(element)
    if y is None:
        return "x"
    return "x_y" if weight is None else "x_y_sample_weight"


def conform(element, signature_spec, index):
    """Cast ``element`` to the dtypes of ``signature_spec`` and check its shapes."""
    leaves, specs = flatten(element), flatten(signature_spec)
    if len(leaves) != len(specs):
        raise ValueError(
            f"Dataset.from_generator: element {index} has {len(leaves)} components, the "
            f"output_signature {len(specs)}"
        )
    conformed = []
    for component, (leaf, spec) in enumerate(zip(leaves, specs)):
        leaf = leaf.astype(spec.dtype, copy=False)
        if not spec.matches(leaf):
            raise ValueError(
                f"Dataset.from_generator: element {index}, component {component} has shape "
                f"{leaf.shape}, the output_signature expects {spec.shape}"
            )
        conformed.append(leaf)
    return pack_like(signature_spec, conformed)

"""Weights by their place in a model's structure: the state protocol files use.

A weight's *structure path* is ``"<layer key>/<weight name>"``: the layer key is the
layer's class in snake case (``dense``, ``conv2d``), numbered in the order the model's
layers are walked (``dense``, ``dense_1``...), the way Keras 3's ``.weights.h5`` names
them. Unlike layer names, which come from a process-wide counter (``dense_7`` in a notebook
that built the model twice), these paths are the same every time the same architecture is
built, so a rebuilt model loads its own files. Weights a model owns itself (a subclassed
model's ``self.w``) have just their name.

``Layer.weight_paths()``, ``get_state()``, ``check_state()`` and ``set_state()`` are built
on these functions; ``io`` reads and writes models only through them.
"""

from lapenna import backend as B
from lapenna.autograd import Tensor
from lapenna.utils import to_snake_case


def weight_paths(root, by_name=False):
    """``{structure path: Variable}`` for every weight of ``root`` (layer-name paths with
    ``by_name``)."""
    if by_name:
        return _name_paths(root)
    paths, seen, counts = {}, set(), {}
    for layer in root._walk():
        prefix = ""
        if layer is not root:
            base = to_snake_case(type(layer).__name__)
            number = counts.get(base, 0)
            counts[base] = number + 1
            prefix = f"{base}_{number}/" if number else f"{base}/"
        for variable in layer._own_weights():
            if id(variable) in seen:  # a tied weight is stored once, at its first place
                continue
            seen.add(id(variable))
            name = prefix + (variable.name or "weight")
            key, k = name, 1
            while key in paths:
                key, k = f"{name}#{k}", k + 1
            paths[key] = variable
    return paths


def _name_paths(root):
    """``{"<layer name>/<weight name>": Variable}``: matching by layer names instead."""
    named = {}
    for variable in root.weights:
        name = getattr(variable, "path", None) or variable.name or "weight"
        key, k = name, 1
        while key in named:
            key, k = f"{name}#{k}", k + 1
        named[key] = variable
    return named


def get_state(root, by_name=False):
    """``{path: array copy}`` of every weight (structure paths, or layer-name paths)."""
    paths = weight_paths(root, by_name)
    return {key: variable.numpy().copy() for key, variable in paths.items()}


def check_state(root, state, by_name=False, skip_mismatch=False):
    """``[(Variable, array)]`` for ``state`` after checking every name, shape and dtype.

    Raises:
        ValueError: naming the missing, unexpected or misshapen entries (unless
            ``skip_mismatch``, which drops them instead).
    """
    if not isinstance(state, dict):
        raise ValueError(f"the state must be a dict of path -> array, got {type(state).__name__}")
    paths = weight_paths(root, by_name)
    missing = [key for key in paths if key not in state]
    extra = [key for key in state if key not in paths]
    if (missing or extra) and not skip_mismatch:
        raise ValueError(
            f"the state does not match {type(root).__name__} {root.name!r}: missing "
            f"{_few(missing)}, unexpected {_few(extra)}"
        )
    pairs = []
    for key, variable in paths.items():
        if key not in state:
            continue
        value = state[key]
        array = value.data if isinstance(value, Tensor) else value
        shape, dtype = tuple(getattr(array, "shape", ())), getattr(array, "dtype", None)
        if shape != variable.shape or dtype != variable.dtype:
            if skip_mismatch:
                continue
            where = f" (at {key!r})" if getattr(variable, "path", key) != key else ""
            raise ValueError(
                f"weight {getattr(variable, 'path', key)!r} is {dtype}{shape} in the "
                f"state{where}, but {root.name!r} expects {variable.dtype}{variable.shape}"
            )
        pairs.append((variable, B.as_array(array)))
    return pairs


def _few(names):
    return f"{names[:10]}{'...' if len(names) > 10 else ''}"

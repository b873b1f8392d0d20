"""Nested state dicts flattened to ``/``-joined names, so one safetensors file holds it all.

A checkpoint keeps model weights, optimizer slots, the step counter and anything else
array-valued under prefixes (``model/dense/kernel``, ``optimizer/dense/kernel/m``,
``optimizer/iterations``). Values that are not arrays (the RNG state, the epoch, the
config) go to the file's string metadata, JSON-encoded with ``dumps_config``.
"""

from lapenna.autograd import Tensor
from lapenna.backend import host_np as np
from lapenna.backend import to_host
from lapenna.io.errors import FormatError
from lapenna.io.safetensors import load_file, save_file

SEPARATOR = "/"


def flatten_state(nested, prefix=""):
    """Flatten nested dicts of arrays into ``{"a/b/c": ndarray}``.

    Leaves may be numpy arrays or scalars, lapenna Tensors/Variables (their array is
    taken) and Python ints or bools (stored as int64 or bool 0-d arrays). Python floats
    are refused: they would silently become float64; wrap them in the numpy type you
    mean. Empty dicts vanish.

    Args:
        nested: a dict whose keys are non-empty strings without ``/``.
        prefix: prepended to every name (``"optimizer"`` gives ``"optimizer/..."``).

    Returns:
        A flat dict in depth-first insertion order.

    Raises:
        TypeError: for a key that is not a string or an unsupported leaf.
        ValueError: for an empty key or one containing ``/``.

    Example:
        >>> flat = flatten_state({"dense": {"kernel": np.ones((2, 2), np.float32)}, "step": 3})
        >>> sorted(flat), flat["step"].dtype
        (['dense/kernel', 'step'], dtype('int64'))
    """
    if not isinstance(nested, dict):
        raise TypeError(f"flatten_state expects a dict, got {type(nested).__name__}")
    flat = {}
    stack = [(prefix, iter(nested.items()))]
    while stack:  # depth first, keeping insertion order
        path, items = stack[-1]
        for key, value in items:
            name = _join(path, _checked_key(key, path))
            if isinstance(value, dict):
                stack.append((name, iter(value.items())))
                break
            flat[name] = _leaf(name, value)
        else:
            stack.pop()
    return flat


def unflatten_state(flat):
    """Invert :func:`flatten_state`: ``{"a/b": x}`` -> ``{"a": {"b": x}}``.

    Args:
        flat: a dict of ``/``-joined names to arrays (as loaded from a file).

    Returns:
        Nested dicts.

    Raises:
        FormatError: for an empty name part or a name that is both a leaf and a prefix
            (``"a"`` and ``"a/b"``), since such names come from files.

    Example:
        >>> unflatten_state({"opt/m": np.zeros(1), "opt/v": np.ones(1)})["opt"]["v"]
        array([1.])
    """
    nested = {}
    for name, value in flat.items():
        parts = name.split(SEPARATOR) if isinstance(name, str) else [""]
        if "" in parts:
            raise FormatError(f"state name {name!r} has an empty part")
        node = nested
        for depth, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                prefix = SEPARATOR.join(parts[: depth + 1])
                raise FormatError(f"state name {name!r} extends {prefix!r}, which is an array")
        if parts[-1] in node:
            raise FormatError(f"state name {name!r} is both an array and a prefix of others")
        node[parts[-1]] = value
    return nested


def save_state(nested, path, metadata=None):
    """Flatten ``nested`` and write it as one safetensors file, atomically.

    Args:
        nested: nested dicts of arrays (see :func:`flatten_state`).
        path: the target file.
        metadata: optional dict of str to str (JSON-encode other values).

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
        >>> save_state({"optimizer": {"iterations": 10}}, p, {"epoch": "1"})
        >>> state, meta = load_state(p)
        >>> int(state["optimizer"]["iterations"]), meta["epoch"]
        (10, '1')
    """
    save_file(flatten_state(nested), path, metadata=metadata)


def load_state(path, max_bytes=None):
    """Load a file written by :func:`save_state`: ``(nested dict, metadata)``.

    Raises:
        FormatError: for an invalid file or conflicting names.
    """
    tensors, metadata = load_file(path, max_bytes, with_metadata=True)
    return unflatten_state(tensors), metadata


def _join(path, key):
    return f"{path}{SEPARATOR}{key}" if path else key


def _checked_key(key, path):
    if not isinstance(key, str):
        raise TypeError(f"state keys must be strings, got {key!r} under {path or 'the root'!r}")
    if not key or SEPARATOR in key:
        raise ValueError(
            f"state key {key!r} under {path or 'the root'!r} must be non-empty and free of "
            f"{SEPARATOR!r}"
        )
    return key


def _leaf(name, value):
    if isinstance(value, Tensor):
        return to_host(value.data)
    if isinstance(value, np.ndarray | np.generic):
        return np.asarray(value)
    if isinstance(value, bool):
        return np.asarray(value, dtype=np.bool_)
    if isinstance(value, int):
        return np.asarray(value, dtype=np.int64)
    hint = " (wrap floats in np.float32 or np.float64)" if isinstance(value, float) else ""
    raise TypeError(f"state entry {name!r} must be an array, got {type(value).__name__}{hint}")

"""JSON configs that cannot run code: strict writing, bounded parsing and a safety walker.

A saved model's ``config.json`` is data. Class names are resolved later, only through
lapenna's registries (plus ``custom_objects``); this module makes sure the parsed
structure cannot even ask for anything else. :func:`check_safe` applies the rule:

- a ``"module"`` key may only hold ``null`` (or a value in ``allowed_modules``): configs
  never say where to import code from;
- ``"registered_name"`` may only hold ``null`` or a plain identifier;
- ``"class_name"`` must be a plain identifier (``Dense``, not ``os.system``, not
  ``keras.layers.Dense``, not ``__lambda__``);
- no string anywhere reads as a dotted Python path (``os.system``) or an entry point
  (``os:system``), except the value of a ``"name"`` key, which is only a label;
- no key starts with ``__`` (``__reduce__``, ``__class__``...);
- callables are refused unless ``safe_mode=False``: keys ``function``, ``lambda``,
  ``code``, ``function_type`` with a non-null value, and the class names ``Lambda``,
  ``__lambda__`` and ``__function__``. Even then nothing is executed here: the
  loader may resolve such entries only through ``custom_objects``.

Structures deeper than :data:`MAX_DEPTH` are refused rather than recursed into.
"""

import json
import math
import re

from lapenna.io.errors import FormatError

MAX_CONFIG_BYTES = 2**24
MAX_DEPTH = 100
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
_ENTRY_POINT = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
_CALLABLE_KEYS = {"function", "lambda", "code", "function_type"}
_CALLABLE_CLASSES = {"Lambda", "__lambda__", "__function__"}


def dumps_config(obj, *, indent=None):
    """Serialize a config to JSON text, refusing anything JSON cannot hold exactly.

    Allowed: dicts with string keys, lists, tuples (written as lists), str, int, bool,
    None and finite floats. numpy scalars, arrays, NaN/inf, sets, objects and callables
    are refused with the path of the offending value.

    Args:
        obj: the config (usually what ``get_config`` returned).
        indent: passed to ``json.dumps``.

    Returns:
        The JSON text.

    Raises:
        TypeError: for a value JSON cannot hold, naming where it is.
        ValueError: for NaN or infinity, or nesting deeper than ``MAX_DEPTH``.

    Example:
        >>> dumps_config({"class_name": "Dense", "config": {"units": 4}})
        '{"class_name": "Dense", "config": {"units": 4}}'
    """
    _check_json_safe(obj)
    return json.dumps(obj, indent=indent, allow_nan=False)


def encode_config(obj, max_bytes=MAX_CONFIG_BYTES, *, what="model config"):
    """:func:`dumps_config` as UTF-8 bytes that :func:`loads_config` will read back.

    Written with an indent of 1 for people who open the file; a config too long for
    ``max_bytes`` that way is written without whitespace, and one that is still too long
    is refused here, before any file is written, rather than saved into a file whose load
    would refuse it.

    Raises:
        ValueError: the config is longer than ``max_bytes`` even without whitespace.

    Example:
        >>> encode_config({"units": 4})
        b'{\\n "units": 4\\n}'
    """
    text = dumps_config(obj, indent=1)
    if len(text) > max_bytes:  # json.dumps writes ASCII: characters are bytes
        text = dumps_config(obj)
    if len(text) > max_bytes:
        raise ValueError(
            f"the {what} is {len(text)} bytes of JSON, more than the {max_bytes} that "
            "loading reads (a bound against hostile files); nothing was written"
        )
    return text.encode("ascii")


def loads_config(text, max_bytes=MAX_CONFIG_BYTES, *, safe_mode=True, allowed_modules=()):
    """Parse config JSON (bounded) and check it with :func:`check_safe`.

    Args:
        text: str or UTF-8 bytes.
        max_bytes: refuse longer input.
        safe_mode: refuse lambdas and function entries (see the module docstring).
        allowed_modules: ``"module"`` values tolerated (e.g. when translating configs
            written by Keras, whose ``"module": "keras.layers"`` is only a label).

    Returns:
        The parsed structure (dicts, lists, str, int, float, bool, None).

    Raises:
        FormatError: for oversized or invalid JSON (duplicate keys, NaN), too deep
            nesting, or anything :func:`check_safe` refuses.

    Example:
        >>> loads_config('{"class_name": "Dense", "config": {"units": 4}}')["config"]
        {'units': 4}
    """
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > max_bytes:
        raise FormatError(f"config is {size} bytes, more than the bound of {max_bytes}")
    try:
        if isinstance(text, bytes | bytearray):
            text = bytes(text).decode("utf-8")
        config = strict_json_loads(text)
    except UnicodeDecodeError as err:
        raise FormatError(f"config is not valid UTF-8 ({err.reason})") from None
    except (ValueError, RecursionError) as err:
        raise FormatError(f"config is not valid JSON ({err})") from None
    check_safe(config, safe_mode=safe_mode, allowed_modules=allowed_modules)
    return config


def check_safe(config, safe_mode=True, *, allowed_modules=()):
    """Refuse a parsed config that names a module path or a callable.

    The rule is stated in this module's docstring; the model loader calls this on every
    config before resolving any class name through the registries.

    Args:
        config: a parsed JSON structure.
        safe_mode: when False, lambda and function entries are let through (they can
            then only be resolved through ``custom_objects``).
        allowed_modules: ``"module"`` values to tolerate.

    Raises:
        FormatError: naming the path of the first offending entry and why.

    Example:
        >>> check_safe({"class_name": "Dense"})
        >>> try:
        ...     check_safe({"class_name": "os.system"})
        ... except FormatError as err:
        ...     print(err)
        config['class_name']: class_name 'os.system' is not a plain identifier
    """
    allowed = frozenset(allowed_modules)
    for path, key, value in _walk(config):
        reason = _refusal(key, value, safe_mode, allowed)
        if reason is not None:
            raise FormatError(f"config{path}: {reason}")


def _walk(config):
    """Yield ``(path, key, value)`` for every value, iteratively, with a depth bound."""
    stack = [("", None, config, 0)]
    while stack:
        path, key, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FormatError(f"config{path}: nested deeper than {MAX_DEPTH} levels")
        yield path, key, value
        if isinstance(value, dict):
            for k, v in reversed(value.items()):
                stack.append((f"{path}[{k!r}]", k, v, depth + 1))
        elif isinstance(value, list | tuple):
            for i in reversed(range(len(value))):
                stack.append((f"{path}[{i}]", None, value[i], depth + 1))


def _refusal(key, value, safe_mode, allowed_modules):
    """Why ``key: value`` is refused, or None."""
    if isinstance(key, str) and key.startswith("__"):
        return f"key {key!r} is reserved (dunder names are never data)"
    if key == "module":
        if value is None or isinstance(value, str) and value in allowed_modules:
            return None
        return f"a config may not name a module ({value!r})"
    if key == "registered_name" and not (value is None or _is_identifier(value)):
        return f"registered_name {value!r} is not a plain identifier"
    if key == "class_name":
        if not _is_identifier(value):
            return f"class_name {value!r} is not a plain identifier"
        if value in _CALLABLE_CLASSES and safe_mode:
            return f"class_name {value!r} wraps a Python callable; refused in safe_mode"
        if value.startswith("__") and value not in _CALLABLE_CLASSES:
            return f"class_name {value!r} is reserved"
    if key in _CALLABLE_KEYS and value is not None and safe_mode:
        return f"key {key!r} holds a Python callable or code; refused in safe_mode"
    if isinstance(value, str) and key != "name" and _looks_like_code_path(value):
        return f"string {value!r} reads as a Python module path"
    return None


def _is_identifier(value):
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


def _looks_like_code_path(text):
    return bool(_DOTTED.fullmatch(text) or _ENTRY_POINT.fullmatch(text))


def _check_json_safe(obj):
    for path, _key, value in _walk(obj):
        if isinstance(value, dict) and not all(isinstance(k, str) for k in value):
            bad = next(k for k in value if not isinstance(k, str))
            raise TypeError(f"config{path}: key {bad!r} is not a string")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"config{path}: {value} is not valid JSON")
        if not isinstance(value, dict | list | tuple | str | int | float | type(None)):
            hint = " (convert numpy values with .item() or .tolist())"
            hint = hint if type(value).__module__ == "numpy" else ""
            raise TypeError(
                f"config{path}: {type(value).__name__} value {value!r:.60} is not JSON{hint}"
            )


def strict_json_loads(text):
    """``json.loads`` that refuses duplicate keys and the NaN/Infinity extensions.

    Raises:
        ValueError: for invalid JSON (``json.JSONDecodeError`` is a ``ValueError``).
        RecursionError: for absurdly deep nesting.
    """
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name):
    raise ValueError(f"{name} is not valid JSON")

"""Pure-Python helpers and the registry behind ``get``/``serialize``/``deserialize``."""

from lapenna.utils.naming import reset_names, to_snake_case, unique_name
from lapenna.utils.registry import Registry, deserialize, get_registry, register, serialize

__all__ = [
    "Registry",
    "register",
    "get_registry",
    "serialize",
    "deserialize",
    "unique_name",
    "reset_names",
    "to_snake_case",
]

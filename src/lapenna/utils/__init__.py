"""Pure-Python helpers and the registry behind ``get``/``serialize``/``deserialize``.

This level-0 package is also what a notebook reaches as ``keras.utils``: Keras's
``to_categorical``, ``pad_sequences``, ``get_file``... need arrays, datasets and models, so
they live in the level-6 room ``keras_utils``, and the root package hands them to
:func:`bind_keras_names` once everything is imported. Then ``lapenna.utils.to_categorical``
and ``from lapenna.utils import to_categorical, pad_sequences`` both work, as in Keras.
Inside the library ``lapenna.utils`` means only the internals defined here (the
architecture test refuses a module that imports a Keras name from it).
"""

from lapenna.utils.naming import reset_names, to_snake_case, unique_name
from lapenna.utils.registry import Registry, deserialize, get_registry, register, serialize

_KERAS_NAMES = {}


def bind_keras_names(names):
    """Make ``names`` (``{name: object}``, the public ``keras.utils`` names of the room
    ``keras_utils``) attributes of this package; the root package calls it once."""
    _KERAS_NAMES.update(names)


def __getattr__(name):
    try:
        return _KERAS_NAMES[name]
    except KeyError:
        raise AttributeError(f"module 'lapenna.utils' has no attribute {name!r}") from None


def __dir__():
    return sorted(set(globals()) | set(_KERAS_NAMES))


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

"""One registry per family of configurable objects.

Each family (activations, initializers, regularizers, constraints, losses, metrics,
optimizers, schedules, layers) resolves strings and configs through its own ``Registry``.
Loading a saved model resolves class names only here, so a file can never name a module,
a function or anything else that was not registered on purpose.
"""

import inspect
import re

_REGISTRIES = {}


class Registry:
    """Maps names to classes (or functions) for one family.

    Args:
        family: the family's name, used in error messages (``"layers"``).
    """

    def __init__(self, family):
        self.family = family
        self._entries = {}
        self._canonical = {}

    def register(self, obj=None, *, name=None, aliases=()):
        """Register ``obj`` under its class name (and ``aliases``); usable as a decorator."""

        def add(target):
            key = name or target.__name__
            for alias in (key, *aliases):
                if alias in self._entries and self._entries[alias] is not target:
                    raise ValueError(f"{self.family}: {alias!r} is registered twice")
                self._entries[alias] = target
            self._canonical[target] = key
            return target

        return add(obj) if obj is not None else add

    def names(self):
        return sorted(self._entries)

    def classes(self):
        """Every registered object once, by canonical name."""
        return {name: obj for obj, name in self._canonical.items()}

    @staticmethod
    def _target(obj):
        """What is registered for ``obj``: itself (a class or function) or its class."""
        plain = isinstance(obj, type) or callable(obj) and not hasattr(obj, "get_config")
        return obj if plain else type(obj)

    def name_of(self, obj):
        target = self._target(obj)
        if target in self._canonical:
            return self._canonical[target]
        return type(obj).__name__ if not isinstance(obj, type) else obj.__name__

    def lookup(self, name, custom_objects=None):
        """Return the registered object called ``name``; a clear error when there is none."""
        if custom_objects and name in custom_objects:
            return custom_objects[name]
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(
                f"Unknown {self.family[:-1] if self.family.endswith('s') else self.family} "
                f"{name!r}: names must be plain identifiers registered in lapenna"
            )
        if name not in self._entries:
            close = [n for n in self._entries if n.lower() == name.lower()]
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"Unknown {self.family} entry {name!r}{hint} "
                f"(known: {', '.join(sorted(self._entries)[:40])})"
            )
        return self._entries[name]

    def get(self, identifier, custom_objects=None, instantiate=True):
        """Resolve a string, a config dict, an instance or a callable.

        Strings give a new instance for classes (``"glorot_uniform"``) or the function
        itself for functions (``"relu"``); ``None`` stays ``None``.
        """
        if identifier is None:
            return None
        if isinstance(identifier, str):
            obj = self.lookup(identifier, custom_objects)
            return obj() if instantiate and isinstance(obj, type) else obj
        if isinstance(identifier, dict):
            return self.deserialize(identifier, custom_objects)
        if isinstance(identifier, type) and instantiate:
            return identifier()
        if callable(identifier) or hasattr(identifier, "get_config"):
            return identifier
        raise ValueError(
            f"Could not interpret {self.family} identifier {identifier!r}: expected a string, "
            "a config dict, an instance or a callable"
        )

    def serialize(self, obj, strict=False):
        """``{"class_name", "config"}`` for an object (a name for a function).

        With ``strict``, an object whose class was never registered is refused: a config
        could not rebuild it.
        """
        if obj is None:
            return None
        if strict and not isinstance(obj, type) and self._target(obj) not in self._canonical:
            raise ValueError(
                f"{self.family}.serialize expects a registered {self.family.rstrip('s')}, got "
                f"{obj!r} (register "
                f"a custom one with @lapenna.utils.register({self.family!r}))"
            )
        if isinstance(obj, type) or not hasattr(obj, "get_config"):
            return self.name_of(obj)
        return {"class_name": self.name_of(obj), "config": obj.get_config()}

    def deserialize(self, config, custom_objects=None):
        if isinstance(config, str):
            return self.get(config, custom_objects)
        if not isinstance(config, dict) or "class_name" not in config:
            raise ValueError(
                f"A {self.family} config must be a dict with 'class_name' and 'config', "
                f"got {config!r}"
            )
        cls = self.lookup(config["class_name"], custom_objects)
        cfg = config.get("config", {}) or {}
        if not isinstance(cfg, dict):
            raise ValueError(f"{self.family} config for {config['class_name']!r} must be a dict")
        if hasattr(cls, "from_config"):
            takes = "custom_objects" in inspect.signature(cls.from_config).parameters
            if takes:
                return cls.from_config(dict(cfg), custom_objects=custom_objects)
            return cls.from_config(dict(cfg))
        if isinstance(cls, type):
            return cls(**cfg)
        return cls


class Family:
    """The ``get``/``serialize``/``deserialize`` of one family, configured in one place.

    Every family package (activations, initializers, regularizers, constraints, losses,
    metrics, optimizers) builds one and exposes its three methods, so they agree on what
    they accept: ``custom_objects`` everywhere, strictness by a flag.

    Args:
        family: the registry's name (``"losses"``).
        base: the family's base class, or None. With a base, instances pass through,
            subclasses are instantiated, and other objects are refused unless
            ``wrap_function`` takes them. Without one, any callable (or object with
            ``get_config``) is accepted as is and a class is instantiated.
        wrap_function: turns a plain function into a member (``LossFunctionWrapper``).
        strict: ``serialize`` refuses what is not registered (a config could not rebuild it).
        default: what ``get(None)`` and ``serialize(None)`` stand for (``linear``).
        from_name: ``(registered, name) -> member`` for strings, when a name needs more
            than a call with no arguments (metrics take the name as written).

    Example:
        >>> losses = Family("losses")
        >>> losses.get(None) is None
        True
    """

    def __init__(
        self, family, base=None, wrap_function=None, strict=False, default=None, from_name=None
    ):
        self.registry = get_registry(family)
        self.base, self.wrap_function, self.strict = base, wrap_function, strict
        self.default, self.from_name = default, from_name
        self.noun = {"losses": "loss"}.get(family, family.removesuffix("s"))

    def get(self, identifier, custom_objects=None):
        """A member for a name, a config dict, a class, an instance or a function."""
        if identifier is None:
            return self.default
        base = self.base
        if base is not None and isinstance(identifier, base):
            return identifier
        if base is not None and isinstance(identifier, type) and issubclass(identifier, base):
            return identifier()
        if isinstance(identifier, str) and self.from_name is not None:
            return self.from_name(self.registry.lookup(identifier, custom_objects), identifier)
        if base is None or isinstance(identifier, str | dict):
            return self.registry.get(identifier, custom_objects)
        if callable(identifier) and self.wrap_function is not None:
            return self.wrap_function(identifier)
        kinds = ["a name", "a config dict", f"{_article(base.__name__)} {base.__name__}"]
        kinds += ["a function"] if self.wrap_function is not None else []
        raise ValueError(
            f"Could not interpret {self.noun} identifier {identifier!r}: expected "
            f"{', '.join(kinds[:-1])} or {kinds[-1]}"
        )

    def serialize(self, obj):
        """``{"class_name", "config"}`` for an object, the registered name of a function."""
        if obj is None and self.default is not None:
            obj = self.default
        return self.registry.serialize(obj, strict=self.strict)

    def deserialize(self, config, custom_objects=None):
        """Rebuild a member from ``serialize``'s output (or a name)."""
        return self.registry.deserialize(config, custom_objects)


def _article(word):
    return "an" if word[:1].lower() in "aeiou" else "a"


def get_registry(family):
    """Return (creating on first use) the registry of ``family``."""
    if family not in _REGISTRIES:
        _REGISTRIES[family] = Registry(family)
    return _REGISTRIES[family]


def register(family, name=None, aliases=()):
    """Class/function decorator: ``@register("layers")``."""
    return get_registry(family).register(name=name, aliases=aliases)


def serialize(obj, family):
    return get_registry(family).serialize(obj)


def deserialize(config, family, custom_objects=None):
    return get_registry(family).deserialize(config, custom_objects)

"""Search spaces in the Keras Tuner style: ``hp.Int``, ``hp.Float``, ``hp.Choice``...

A ``HyperParameters`` object plays two parts. While a search space is being declared (by
hand, or by calling a user's ``build_model(hp)``), each ``hp.Int(...)`` call registers a
hyperparameter and returns its default. When a trial runs, the same calls return the
trial's values. Conditional hyperparameters live inside ``hp.conditional_scope(parent,
values)``: they exist only when the parent takes one of ``values``.

Random sampling follows Optuna's ``RandomSampler`` exactly (same distributions):

- ``Float``: uniform on ``[min, max]``; ``sampling="log"``: ``exp`` of a uniform on
  ``[log min, log max]``; with a ``step``: uniform over the grid ``min, min+step, ...``
  (with log sampling the step is a factor, ``min, min*step, ...``, and a log-uniform draw
  goes to the nearest grid value, as in Keras Tuner).
- ``Int``: a uniform on ``[min - step/2, max + step/2]`` rounded to the grid (every grid
  value equally likely); ``sampling="log"``: ``exp`` of a uniform on
  ``[log(min - 1/2), log(max + 1/2)]``, rounded (small values likelier).
- ``Choice``, ``Boolean``: every value equally likely. ``Fixed``: always its value.
"""

import contextlib
import math
import random

_KINDS = ("Int", "Float", "Choice", "Boolean", "Fixed")


class SearchSpaceError(ValueError):
    """An empty, inconsistent or badly declared search space."""


class Param:
    """One hyperparameter: its kind, range or values, default and condition."""

    def __init__(self, kind, name, **spec):
        self.kind = kind
        self.name = name
        self.spec = spec
        self.conditions = tuple(spec.pop("conditions", ()))  # ((parent, values), ...)

    def to_dict(self):
        return {
            "kind": self.kind,
            "name": self.name,
            **self.spec,
            "conditions": [[p, list(v)] for p, v in self.conditions],
        }

    @classmethod
    def from_dict(cls, entry):
        entry = dict(entry)
        conditions = tuple((p, tuple(v)) for p, v in entry.pop("conditions", []))
        return cls(entry.pop("kind"), entry.pop("name"), conditions=conditions, **entry)

    @property
    def default(self):
        return self.spec["default"]

    def is_active(self, values):
        return all(values.get(parent) in allowed for parent, allowed in self.conditions)

    def sample(self, rng):
        """A random value, with the distribution of Optuna's RandomSampler."""
        s = self.spec
        if self.kind == "Fixed":
            return s["value"]
        if self.kind in ("Choice", "Boolean"):
            values = s["values"] if self.kind == "Choice" else [False, True]
            return values[rng.randrange(len(values))]
        low, high, step, log = s["min_value"], s["max_value"], s["step"], s["sampling"] == "log"
        if self.kind == "Int":
            if log:
                x = math.exp(rng.uniform(math.log(low - 0.5), math.log(high + 0.5)))
                return min(max(int(round(x)), low), high)
            x = rng.uniform(low - 0.5 * step, high + 0.5 * step)
            return min(max(low + int(round((x - low) / step)) * step, low), high)
        if log:
            x = min(max(math.exp(rng.uniform(math.log(low), math.log(high))), low), high)
            if step is None:
                return x
            return min(self.grid(), key=lambda v: abs(math.log(v) - math.log(x)))
        if step is not None:
            count = int(math.floor((high - low) / step + 1e-9)) + 1
            x = rng.uniform(-0.5, count - 0.5)
            return min(low + min(max(int(round(x)), 0), count - 1) * step, high)
        return rng.uniform(low, high)

    def grid(self):
        """Every value a grid search tries, or a ``SearchSpaceError`` for a continuous one."""
        s = self.spec
        if self.kind == "Fixed":
            return [s["value"]]
        if self.kind == "Choice":
            return list(s["values"])
        if self.kind == "Boolean":
            return [False, True]
        low, high, step = s["min_value"], s["max_value"], s["step"]
        if step is None:
            raise SearchSpaceError(
                f"GridSearch needs a step for Float '{self.name}' ({low}..{high}), got none"
            )
        if s["sampling"] == "log":
            values, x = [], low
            while x <= high * (1 + 1e-9):
                values.append(x)
                x *= step
            return values
        count = int(math.floor((high - low) / step + 1e-9)) + 1
        return [low + i * step for i in range(count)]

    def clip(self, value):
        """``value`` moved into the range (and onto the integer grid for ``Int``)."""
        s = self.spec
        value = min(max(value, s["min_value"]), s["max_value"])
        if self.kind == "Int":
            step, low = s["step"], s["min_value"]
            value = low + int(round((value - low) / step)) * step
            value = min(max(value, low), s["max_value"])
        return value


class HyperParameters:
    """A search space and, during a trial, the values of its hyperparameters.

    Example:
        >>> hp = HyperParameters()
        >>> hp.Int("units", 16, 256, sampling="log")
        16
        >>> hp.Choice("optimizer", ["adam", "sgd"])
        'adam'
        >>> with hp.conditional_scope("optimizer", ["sgd"]):
        ...     hp.Float("momentum", 0.0, 0.99)
        0.0
        >>> [p.name for p in hp.space]
        ['units', 'optimizer', 'momentum']
    """

    def __init__(self, values=None):
        self._params = {}
        self._scopes = []
        self.values = dict(values or {})
        self.frozen = False  # a frozen space refuses names it does not hold

    # -- declaration ---------------------------------------------------------------------
    def Int(self, name, min_value, max_value, step=None, sampling="linear", default=None):  # noqa: N802
        _check_number(name, "Int", min_value, max_value, integer=True)
        if step is None:
            step = 1
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise SearchSpaceError(f"Int '{name}' expects a positive int step, got {step!r}")
        _check_sampling(name, "Int", sampling, min_value)
        if sampling == "log" and step != 1:
            raise SearchSpaceError(f"Int '{name}' with log sampling takes step 1, got {step!r}")
        default = min_value if default is None else default
        return self._register(
            "Int", name, min_value=min_value, max_value=max_value, step=step,
            sampling=sampling, default=default,
        )  # fmt: skip

    def Float(self, name, min_value, max_value, step=None, sampling="linear", default=None):  # noqa: N802
        _check_number(name, "Float", min_value, max_value, integer=False)
        if step is not None and not (isinstance(step, int | float) and step > 0):
            raise SearchSpaceError(f"Float '{name}' expects a positive step, got {step!r}")
        _check_sampling(name, "Float", sampling, min_value)
        if sampling == "log" and step is not None and step <= 1:
            raise SearchSpaceError(
                f"Float '{name}' with log sampling takes a step factor above 1, got {step!r}"
            )
        default = float(min_value) if default is None else default
        return self._register(
            "Float", name, min_value=float(min_value), max_value=float(max_value), step=step,
            sampling=sampling, default=default,
        )  # fmt: skip

    def Choice(self, name, values, default=None):  # noqa: N802
        if not isinstance(values, list | tuple) or not values:
            raise SearchSpaceError(f"Choice '{name}' expects a non-empty list, got {values!r}")
        if len(set(map(repr, values))) != len(values):
            raise SearchSpaceError(f"Choice '{name}' has repeated values: {list(values)!r}")
        for value in values:
            if not isinstance(value, int | float | str | bool):
                raise SearchSpaceError(
                    f"Choice '{name}' takes ints, floats, strings or bools, got {value!r}"
                )
        default = values[0] if default is None else default
        if default not in values:
            raise SearchSpaceError(f"Choice '{name}' default {default!r} is not in {values!r}")
        return self._register("Choice", name, values=list(values), default=default)

    def Boolean(self, name, default=False):  # noqa: N802
        return self._register("Boolean", name, default=bool(default))

    def Fixed(self, name, value):  # noqa: N802
        return self._register("Fixed", name, value=value, default=value)

    @contextlib.contextmanager
    def conditional_scope(self, parent_name, parent_values):
        """Hyperparameters declared inside exist only when ``parent_name`` is in
        ``parent_values``."""
        if parent_name not in self._params:
            raise SearchSpaceError(
                f"conditional_scope expects a declared parent, got '{parent_name}' "
                f"(declared: {sorted(self._params)})"
            )
        if not isinstance(parent_values, list | tuple):
            parent_values = [parent_values]
        self._scopes.append((parent_name, tuple(parent_values)))
        try:
            yield
        finally:
            self._scopes.pop()

    def _register(self, kind, name, **spec):
        if not isinstance(name, str) or not name:
            raise SearchSpaceError(f"a hyperparameter name must be a non-empty str, got {name!r}")
        param = Param(kind, name, conditions=tuple(self._scopes), **spec)
        if kind in ("Int", "Float") and not (
            spec["min_value"] <= spec["default"] <= spec["max_value"]
        ):
            raise SearchSpaceError(
                f"{kind} '{name}' default {spec['default']!r} is outside "
                f"[{spec['min_value']}, {spec['max_value']}]"
            )
        known = self._params.get(name)
        if known is None:
            if self.frozen:
                raise SearchSpaceError(
                    f"the model asked for hyperparameter '{name}', which is not in the "
                    f"search space {sorted(self._params)}"
                )
            self._params[name] = param
        elif known.to_dict() != param.to_dict():
            raise SearchSpaceError(
                f"hyperparameter '{name}' declared twice differently: "
                f"{known.to_dict()} then {param.to_dict()}"
            )
        return self.values.get(name, param.default)

    # -- reading ---------------------------------------------------------------------------
    @property
    def space(self):
        """The hyperparameters in declaration order."""
        return list(self._params.values())

    def get(self, name):
        if name in self.values:
            return self.values[name]
        if name in self._params:
            return self._params[name].default
        raise KeyError(f"no hyperparameter '{name}' (known: {sorted(self._params)})")

    def __getitem__(self, name):
        return self.get(name)

    def __contains__(self, name):
        return name in self._params

    def is_active(self, name):
        return self._params[name].is_active(self.values)

    def copy_with(self, values):
        """The same space holding ``values`` (and refusing undeclared names)."""
        hp = HyperParameters(values)
        hp._params = dict(self._params)
        hp.frozen = True
        return hp

    def get_config(self):
        return {"space": [p.to_dict() for p in self.space]}

    @classmethod
    def from_config(cls, config):
        hp = cls()
        for entry in config["space"]:
            param = Param.from_dict(entry)
            hp._params[param.name] = param
        return hp

    # -- sampling ----------------------------------------------------------------------------
    def check(self):
        """Raise ``SearchSpaceError`` for an empty space or a condition on an unknown parent."""
        if not self._params:
            raise SearchSpaceError("the search space is empty: declare at least one hyperparameter")
        seen = set()
        for param in self.space:
            for parent, _ in param.conditions:
                if parent not in seen:
                    raise SearchSpaceError(
                        f"'{param.name}' is conditional on '{parent}', which is not declared "
                        "before it"
                    )
            seen.add(param.name)

    def sample(self, rng):
        """Random values for the active hyperparameters (a dict), drawn from ``rng``."""
        values = {}
        for param in self.space:
            if param.is_active(values):
                values[param.name] = param.sample(rng)
        return values

    def grid(self):
        """Every combination of grid values of the active hyperparameters, in order."""
        points = [{}]
        for param in self.space:
            extended = []
            for values in points:
                if param.is_active(values):
                    extended += [{**values, param.name: v} for v in param.grid()]
                else:
                    extended.append(values)
            points = extended
        return points


def trial_rng(seed, number):
    """The random generator of trial ``number`` of a study seeded ``seed``: the same trial
    seeds give the same configurations in every run and after a resume."""
    return random.Random(f"lapenna.tuning:{seed}:{number}")


def _check_number(name, kind, low, high, integer):
    types = (int,) if integer else (int, float)
    for label, value in (("min_value", low), ("max_value", high)):
        if isinstance(value, bool) or not isinstance(value, types) or not math.isfinite(value):
            expected = "an int" if integer else "a finite number"
            raise SearchSpaceError(f"{kind} '{name}' expects {label} {expected}, got {value!r}")
    if low > high:
        raise SearchSpaceError(f"{kind} '{name}' has min_value {low} above max_value {high}")


def _check_sampling(name, kind, sampling, low):
    if sampling not in ("linear", "log"):
        raise SearchSpaceError(
            f"{kind} '{name}' sampling must be 'linear' or 'log', got {sampling!r}"
        )
    if sampling == "log" and low <= 0:
        raise SearchSpaceError(f"{kind} '{name}' with log sampling needs min_value > 0, got {low}")


def discover(build_model, max_calls=64):
    """The search space a ``build_model(hp)`` declares, conditional branches included.

    ``build_model`` is called with the defaults, then once for each value of every
    ``Choice`` and ``Boolean`` it declared, until no call declares anything new.
    """
    hp = HyperParameters()
    build_model(hp)
    tried, calls = set(), 1
    while True:
        pending = [
            (p.name, v)
            for p in hp.space
            if p.kind in ("Choice", "Boolean")
            for v in (p.spec["values"] if p.kind == "Choice" else [False, True])
            if (p.name, repr(v)) not in tried
        ]
        if not pending or calls >= max_calls:
            break
        for name, value in pending:
            tried.add((name, repr(value)))
            probe = HyperParameters({name: value})
            probe._params = hp._params  # shares the registry: new names land in hp
            build_model(probe)
            calls += 1
    hp.check()
    return hp


__all__ = ["HyperParameters", "Param", "SearchSpaceError", "discover", "trial_rng"]

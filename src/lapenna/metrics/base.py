"""The ``Metric`` base and the averaging metrics every other metric builds on.

Metrics accumulate over batches outside the graph: inputs are turned into plain arrays
(``Tensor.data``), the state lives in arrays of the metric's dtype, and ``result()``
returns a Python float. ``update_state`` adds a batch, ``reset_state`` starts over.
"""

from lapenna import backend as B
from lapenna.autograd import Tensor, no_grad
from lapenna.backend import xp
from lapenna.utils import register, to_snake_case

#: metric function forms by name, so a wrapped function can be saved in a config
FUNCTIONS = {}


def metric_function(*aliases):
    """Decorator recording a metric function form (and its aliases) for configs."""

    def add(fn):
        for name in (fn.__name__, *aliases):
            FUNCTIONS[name] = fn
        return fn

    return add


def to_array(x, dtype=None):
    """A plain array from a Tensor, an array, a list or a number (no graph)."""
    data = x.data if isinstance(x, Tensor) else B.as_array(x)
    return data if dtype is None else data.astype(dtype, copy=False)


def match_ranks(y_true, y_pred):
    """Keras's rule for ranks that differ by one through a trailing size-1 axis."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape[:-1])
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred.reshape(y_pred.shape[:-1])
    return y_true, y_pred


def label_kind(y_true, y_pred):
    """Keras's rule for ``"accuracy"`` and ``"crossentropy"`` from shapes: ``"binary"``
    when predictions have one column (or no class axis), ``"sparse"`` when labels lack
    the class axis (or it has size 1), otherwise ``"categorical"``."""
    if y_pred.ndim <= 1 or y_pred.shape[-1] == 1:
        return "binary"
    if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
        return "sparse"
    return "categorical"


class Metric:
    """Base class of metrics: state arrays, ``update_state``, ``result``, ``reset_state``.

    Subclasses create their state with ``add_state`` in ``__init__``, update it in place
    in ``update_state(y_true, y_pred, sample_weight=None)`` and compute ``result()``.

    Args:
        name: the name shown in training logs; defaults to the class name in snake case.
        dtype: the dtype of the state (floatx by default).

    Example:
        >>> import lapenna as lp
        >>> m = lp.metrics.Mean()
        >>> m.update_state([1.0, 2.0, 6.0])
        >>> m.result()
        3.0
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or to_snake_case(type(self).__name__)
        self.dtype = B.to_dtype(dtype).name
        self._states = {}

    def add_state(self, name, shape=(), initial=0.0):
        """Create a state array ``self.<name>`` that ``reset_state`` refills with ``initial``."""
        array = xp.full(shape, initial, dtype=self.dtype)
        self._states[name] = initial
        setattr(self, name, array)
        return array

    @property
    def variables(self):
        """The state arrays, in creation order."""
        return [getattr(self, name) for name in self._states]

    def reset_state(self):
        for name, initial in self._states.items():
            getattr(self, name)[...] = initial

    def get_state(self):
        """``{state name: array copy}``: what a backup saves to resume mid-epoch."""
        return {name: getattr(self, name).copy() for name in self._states}

    def set_state(self, state):
        """Restore :meth:`get_state`'s dict; every shape is checked before anything changes.

        Raises:
            ValueError: for a missing, unknown or misshapen state array.
        """
        if not isinstance(state, dict) or set(state) != set(self._states):
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(
                f"metric {self.name!r} expects states {sorted(self._states)}, got {got}"
            )
        for name, value in state.items():
            if xp.shape(value) != getattr(self, name).shape:
                raise ValueError(
                    f"metric {self.name!r} state {name!r} has shape "
                    f"{getattr(self, name).shape}, got {xp.shape(value)}"
                )
        for name, value in state.items():
            getattr(self, name)[...] = value

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError(f"{type(self).__name__} must define update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must define result")

    def __call__(self, *args, **kwargs):
        """Update with one batch and return the running result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def samplewise(values, sample_weight, reduce, dtype):
    """Per-sample weighted values and their weights, the way Keras reduces them.

    Values are reduced (``reduce``: mean or sum) over the axes the weights lack, weighted,
    then reduced to one value per sample. Returns ``(values, weights)``; ``weights`` is
    None when no sample weight was given.
    """
    values = to_array(values, dtype)
    if sample_weight is None:
        if values.ndim > 1:
            values = reduce(values, axis=tuple(range(1, values.ndim)))
        return values, None
    weight = to_array(sample_weight, dtype)
    values, weight = match_ranks(values, weight)
    if values.ndim > weight.ndim:
        values = reduce(values, axis=tuple(range(weight.ndim, values.ndim)))
    try:
        weight = xp.broadcast_to(weight, values.shape)
    except ValueError:
        raise ValueError(
            f"sample_weight of shape {weight.shape} does not match values of shape {values.shape}"
        ) from None
    values = values * weight
    if weight.ndim > 1:
        weight = reduce(weight, axis=tuple(range(1, weight.ndim)))
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, weight


@register("metrics", aliases=("mean",))
class Mean(Metric):
    """The (weighted) mean of the values given, one value per sample.

    Example:
        >>> import lapenna as lp
        >>> m = lp.metrics.Mean()
        >>> m.update_state([1.0, 3.0], sample_weight=[1.0, 3.0])
        >>> m.result()
        2.5
    """

    def __init__(self, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.add_state("total")
        self.add_state("count")

    def update_state(self, values, sample_weight=None):
        values, weight = samplewise(values, sample_weight, xp.mean, self.dtype)
        self.total += values.sum()
        if weight is not None:
            self.count += weight.sum()
        else:
            self.count += values.shape[0] if values.ndim else 1

    def result(self):
        return float(self.total / self.count) if self.count else 0.0


@register("metrics", aliases=("sum",))
class Sum(Metric):
    """The (weighted) sum of the values given.

    Example:
        >>> import lapenna as lp
        >>> m = lp.metrics.Sum()
        >>> m.update_state([1.0, 3.0])
        >>> m.result()
        4.0
    """

    def __init__(self, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.add_state("total")

    def update_state(self, values, sample_weight=None):
        values, _ = samplewise(values, sample_weight, xp.sum, self.dtype)
        self.total += values.sum()

    def result(self):
        return float(self.total)


@register("metrics")
class MeanMetricWrapper(Mean):
    """The mean over samples of ``fn(y_true, y_pred, **kwargs)``.

    ``fn`` receives plain arrays and may return an array or a Tensor (it runs under
    ``no_grad``, so a function written with ``lapenna.ops`` works too).

    Args:
        fn: the per-sample function, e.g. ``metrics.binary_accuracy``.
        name: defaults to the function's name.
        dtype: the state dtype.
        **kwargs: passed to ``fn``.

    Example:
        >>> import lapenna as lp
        >>> m = lp.metrics.MeanMetricWrapper(lp.metrics.binary_accuracy, threshold=0.7)
        >>> m.update_state([[1.0], [1.0]], [[0.6], [0.9]])
        >>> m.result()
        0.5
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if isinstance(fn, str):
            if fn not in FUNCTIONS:
                raise ValueError(f"Unknown metric function {fn!r} (known: {sorted(FUNCTIONS)})")
            fn = FUNCTIONS[fn]
        if not callable(fn):
            raise ValueError(f"MeanMetricWrapper expects a function, got {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)
        self.fn = fn
        self.fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        with no_grad():
            values = self.fn(to_array(y_true), to_array(y_pred), **self.fn_kwargs)
        super().update_state(to_array(values), sample_weight)

    def get_config(self):
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = self.fn.__name__
        return {**config, **self.fn_kwargs}


class MeanOfLabelKind(MeanMetricWrapper):
    """A ``MeanMetricWrapper`` whose function is chosen from the first batch's shapes:
    ``_FUNCTIONS[label_kind(y_true, y_pred)]``, one of ``"binary"``, ``"categorical"`` and
    ``"sparse"``. Subclasses set ``_FUNCTIONS`` and their default name."""

    _FUNCTIONS = {}

    def __init__(self, name=None, dtype=None):
        super().__init__(self._FUNCTIONS["binary"], name=name, dtype=dtype)
        self.kind = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.kind is None:
            self.kind = label_kind(to_array(y_true), to_array(y_pred))
            self.fn = self._FUNCTIONS[self.kind]
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

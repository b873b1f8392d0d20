"""The ``Loss`` base: per-sample losses from ``call``, then sample weights and a reduction.

A loss object is called as ``loss(y_true, y_pred, sample_weight=None)`` and returns a
scalar Tensor (or per-sample losses with ``reduction="none"``). Subclasses write
``call(y_true, y_pred)`` returning one loss per sample; most built-in losses are
``LossFunctionWrapper``s around a function form such as ``mean_squared_error``.
"""

from lapenna import backend as B
from lapenna.autograd import Tensor, as_tensor
from lapenna.utils import register, to_snake_case

REDUCTIONS = ("sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight")

#: function forms by name, so a wrapped function can be saved in a config and found again
FUNCTIONS = {}


def loss_function(*aliases):
    """Decorator recording a loss function form (and its aliases) for configs."""

    def add(fn):
        for name in (fn.__name__, *aliases):
            FUNCTIONS[name] = fn
        return fn

    return add


class Loss:
    """Base class of losses.

    Args:
        reduction: how per-sample losses become the result: ``"sum_over_batch_size"``
            (the sum divided by the number of per-sample losses; ``"mean"`` is an alias),
            ``"sum"``, ``"mean_with_sample_weight"`` (divided by the sum of the weights) or
            ``"none"`` (the per-sample losses themselves; ``None`` works too).
        name: a readable name; defaults to the class name in snake case.

    Example:
        >>> import lapenna as lp
        >>> class Quartic(lp.losses.Loss):
        ...     def call(self, y_true, y_pred):
        ...         return ((y_pred - y_true) ** 4).mean(axis=-1)
        >>> Quartic()([[0.0, 2.0]], [[1.0, 0.0]]).item()
        8.5
    """

    #: whether ``call`` receives integer labels unchanged (sparse losses) or cast to float
    integer_labels = False

    def __init__(self, reduction="sum_over_batch_size", name=None):
        self.reduction = _check_reduction(reduction, type(self).__name__)
        self.name = name or to_snake_case(type(self).__name__)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Return the reduced loss of a batch as a Tensor (a scalar unless ``"none"``)."""
        y_true, y_pred = convert(y_true, y_pred, self.integer_labels)
        losses = self.call(y_true, y_pred)
        mask = self.valid_mask(y_true, y_pred)
        return reduce_losses(losses, sample_weight, self.reduction, mask, self.name)

    def call(self, y_true, y_pred):
        """Return the loss of each sample (subclasses define it)."""
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    def valid_mask(self, y_true, y_pred):
        """Boolean array marking the per-sample losses that count, or None for all."""
        return None

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


@register("losses")
class LossFunctionWrapper(Loss):
    """Turn a function ``fn(y_true, y_pred, **kwargs) -> per-sample losses`` into a Loss.

    Args:
        fn: the function; for configs it must be one of lapenna's loss functions (a custom
            function works, but its config can only be loaded back if it is one of them).
        reduction: see ``Loss``.
        name: defaults to the function's name.
        **kwargs: passed to ``fn`` on every call.

    Example:
        >>> import lapenna as lp
        >>> loss = lp.losses.LossFunctionWrapper(lp.losses.huber, delta=0.5)
        >>> loss([[0.0]], [[2.0]]).item()
        0.875
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, **kwargs):
        if isinstance(fn, str):
            fn = _function(fn)
        if not callable(fn):
            raise ValueError(f"LossFunctionWrapper expects a function, got {fn!r}")
        super().__init__(reduction=reduction, name=name or getattr(fn, "__name__", None))
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = self.fn.__name__
        return {**config, **self.fn_kwargs}


def _function(name):
    if name not in FUNCTIONS:
        raise ValueError(f"Unknown loss function {name!r} (known: {', '.join(sorted(FUNCTIONS))})")
    return FUNCTIONS[name]


# -- inputs -----------------------------------------------------------------------------
def convert(y_true, y_pred, integer_labels=False):
    """Predictions as a float Tensor; labels as a Tensor of the same dtype (kept integer
    when ``integer_labels`` and they are integers)."""
    if isinstance(y_pred, Tensor):
        if not B.is_float_dtype(y_pred.dtype):
            y_pred = y_pred.astype(B.floatx())
    else:
        y_pred = Tensor(B.as_array(y_pred, B.floatx()))
    y_true = as_tensor(y_true)
    if not (integer_labels and y_true.dtype.kind in "iub"):
        y_true = y_true.astype(y_pred.dtype)
    return y_true, y_pred


def match_ranks(y_true, y_pred):
    """Keras's rule for ranks that differ by one with a trailing size-1 axis: a rank-1
    tensor gains that axis, otherwise the longer one loses it."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        if y_pred.ndim == 1:
            y_pred = y_pred.expand_dims(-1)
        else:
            y_true = y_true.squeeze(-1)
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        if y_true.ndim == 1:
            y_true = y_true.expand_dims(-1)
        else:
            y_pred = y_pred.squeeze(-1)
    return y_true, y_pred


def prepare(y_true, y_pred, name, hint=""):
    """Convert, match ranks and check that both shapes agree, naming the loss if not."""
    y_true, y_pred = match_ranks(*convert(y_true, y_pred))
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{name} expects y_true and y_pred of the same shape, got {y_true.shape} and "
            f"{y_pred.shape}{hint}"
        )
    return y_true, y_pred


# -- reduction --------------------------------------------------------------------------
def _check_reduction(reduction, owner):
    if reduction is None:
        return "none"
    if reduction not in REDUCTIONS:
        raise ValueError(f"{owner}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _broadcast_weight(weight, shape, name):
    """Align the weights' leading axes with the losses' (one weight per sample)."""
    if weight.ndim == len(shape) + 1 and weight.shape[-1] == 1:
        weight = weight.squeeze(-1)
    if weight.ndim < len(shape):
        weight = weight.reshape(weight.shape + (1,) * (len(shape) - weight.ndim))
    try:
        B.xp.broadcast_shapes(weight.shape, shape)
    except ValueError:
        raise ValueError(
            f"Loss '{name}': sample_weight of shape {weight.shape} does not match the "
            f"per-sample losses of shape {shape}"
        ) from None
    return weight


def reduce_losses(losses, sample_weight, reduction, mask=None, name="loss"):
    """Weight per-sample ``losses`` and reduce them as ``reduction`` says.

    ``mask`` (from losses that ignore a class) zeroes entries; the mean then runs over the
    entries that count.
    """
    weight = None
    if sample_weight is not None:
        weight = as_tensor(sample_weight).astype(losses.dtype)
        weight = _broadcast_weight(weight, losses.shape, name)
    if mask is not None:
        mask = mask.astype(losses.dtype)
        if reduction in ("sum_over_batch_size", "mean"):
            valid = mask.sum()
            mask = mask * (mask.size / valid if valid else 0.0)
        weight = Tensor(mask) if weight is None else weight * Tensor(mask)
    if weight is not None:
        losses = losses * weight
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        divisor = weight.broadcast_to(losses.shape).sum().data
        return total / divisor if divisor else total * 0.0
    return total / losses.size if losses.size else total

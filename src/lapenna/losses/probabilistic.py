"""Probabilistic losses: binary, categorical and sparse categorical cross-entropy,
Kullback-Leibler divergence and Poisson.

The cross-entropies run on the fused ops ``softmax_cross_entropy`` and
``binary_cross_entropy``, so ``from_logits=True`` is both the stable and the fast choice.
"""

from lapenna import ops
from lapenna.backend import xp
from lapenna.losses.base import LossFunctionWrapper, convert, loss_function, prepare
from lapenna.ops.losses import check_label_smoothing
from lapenna.utils import register

EPSILON = 1e-7
_SPARSE_HINT = "; for integer class labels use sparse_categorical_crossentropy"


@loss_function()
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy, averaged over ``axis``; labels smoothed towards 0.5."""
    y_true, y_pred = prepare(y_true, y_pred, "binary_crossentropy")
    loss = ops.binary_cross_entropy(y_true, y_pred, from_logits, label_smoothing)
    return loss.mean(axis=axis)


@loss_function()
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy between one-hot (or soft) labels and predictions along ``axis``."""
    y_true, y_pred = convert(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            "categorical_crossentropy expects one-hot y_true shaped like y_pred, got "
            f"{y_true.shape} and {y_pred.shape}{_SPARSE_HINT}"
        )
    return ops.softmax_cross_entropy(
        y_true, y_pred, axis=axis, from_logits=from_logits, label_smoothing=label_smoothing
    )


@loss_function()
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy with integer class labels; entries equal to ``ignore_class`` get 0."""
    y_true, y_pred = convert(y_true, y_pred, integer_labels=True)
    labels = y_true.data
    if ignore_class is not None:
        labels = xp.where(labels == ignore_class, 0, labels)
    loss = ops.softmax_cross_entropy(
        labels, y_pred, axis=axis, sparse=True, from_logits=from_logits
    )
    if ignore_class is not None:
        loss = ops.where(_valid(y_true.data, loss.shape, ignore_class), loss, 0.0)
    return loss


def _valid(labels, shape, ignore_class):
    return (labels != ignore_class).reshape(shape)


@loss_function("kld", "KLD", "kullback_leibler_divergence")
def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1]."""
    y_true, y_pred = prepare(y_true, y_pred, "kl_divergence")
    y_true = ops.clip(y_true, EPSILON, 1.0)
    y_pred = ops.clip(y_pred, EPSILON, 1.0)
    return (y_true * ops.log(y_true / y_pred)).sum(axis=-1)


@loss_function()
def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + 1e-7)) over the last axis."""
    y_true, y_pred = prepare(y_true, y_pred, "poisson")
    return (y_pred - y_true * ops.log(y_pred + EPSILON)).mean(axis=-1)


@register("losses", aliases=("binary_crossentropy", "bce"))
class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy for 0/1 targets (one or several independent labels).

    Args:
        from_logits: whether ``y_pred`` are logits (stable and faster) or probabilities.
        label_smoothing: in [0, 1]; targets move to ``(1 - s) * y + s / 2``.
        axis: the axis averaged over for each sample.
        reduction: see ``Loss``.
        name: defaults to ``"binary_crossentropy"``.

    Example:
        >>> import lapenna as lp
        >>> loss = lp.losses.BinaryCrossentropy()
        >>> round(loss([[1.0], [0.0]], [[0.9], [0.2]]).item(), 4)
        0.1643
    """

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
    ):
        super().__init__(
            binary_crossentropy,
            reduction=reduction,
            name=name,
            from_logits=bool(from_logits),
            label_smoothing=check_label_smoothing(label_smoothing, "BinaryCrossentropy"),
            axis=axis,
        )


@register("losses", aliases=("categorical_crossentropy", "cce"))
class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy between one-hot labels and class predictions.

    Args:
        from_logits: whether ``y_pred`` are logits (stable and faster) or probabilities.
        label_smoothing: in [0, 1]; targets move to ``(1 - s) * y + s / num_classes``.
        axis: the class axis.
        reduction: see ``Loss``.
        name: defaults to ``"categorical_crossentropy"``.

    Example:
        >>> import lapenna as lp
        >>> loss = lp.losses.CategoricalCrossentropy()
        >>> round(loss([[0.0, 1.0]], [[0.2, 0.8]]).item(), 4)
        0.2231
    """

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
    ):
        super().__init__(
            categorical_crossentropy,
            reduction=reduction,
            name=name,
            from_logits=bool(from_logits),
            label_smoothing=check_label_smoothing(label_smoothing, "CategoricalCrossentropy"),
            axis=axis,
        )


@register("losses", aliases=("sparse_categorical_crossentropy", "scce"))
class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy with integer class labels (``y_true`` one rank below ``y_pred``).

    Args:
        from_logits: whether ``y_pred`` are logits (stable and faster) or probabilities.
        ignore_class: a label value (e.g. -1 or 255 for "void" pixels) whose entries get
            no loss; ``"sum_over_batch_size"`` then averages over the other entries only.
        reduction: see ``Loss``.
        name: defaults to ``"sparse_categorical_crossentropy"``.

    Raises:
        ValueError: on call, for a label outside ``[0, num_classes)``.

    Example:
        >>> import lapenna as lp
        >>> loss = lp.losses.SparseCategoricalCrossentropy(from_logits=True)
        >>> round(loss([2], [[1.0, 2.0, 3.0]]).item(), 4)
        0.4076
    """

    integer_labels = True

    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        reduction="sum_over_batch_size",
        name="sparse_categorical_crossentropy",
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            reduction=reduction,
            name=name,
            from_logits=bool(from_logits),
            ignore_class=None if ignore_class is None else int(ignore_class),
        )

    def valid_mask(self, y_true, y_pred):
        ignore = self.fn_kwargs["ignore_class"]
        if ignore is None:
            return None
        return _valid(y_true.data, y_pred.shape[:-1], ignore)


@register("losses", aliases=("kl_divergence", "kld", "KLD", "kullback_leibler_divergence"))
class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))`` per sample.

    Kullback and Leibler, "On Information and Sufficiency", Annals of Mathematical
    Statistics, 1951.
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence"):
        super().__init__(kl_divergence, reduction=reduction, name=name)


@register("losses", aliases=("poisson",))
class Poisson(LossFunctionWrapper):
    """Poisson negative log-likelihood (up to a constant): ``mean(y_pred - y_true *
    log(y_pred))`` per sample."""

    def __init__(self, reduction="sum_over_batch_size", name="poisson"):
        super().__init__(poisson, reduction=reduction, name=name)

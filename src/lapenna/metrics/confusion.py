"""Metrics from confusion counts at thresholds: precision, recall and the area under the
ROC or precision-recall curve.

A prediction counts as positive at threshold ``t`` when it is strictly above ``t``. The
counts at every threshold come from one sort-free pass: ``searchsorted`` finds how many
thresholds lie below each prediction, weights are added into those bins, and a reversed
cumulative sum gives, for each threshold, the weight of everything above it.
"""

import math

from lapenna.backend import xp
from lapenna.metrics.base import Metric, match_ranks, to_array
from lapenna.utils import register

EPSILON = 1e-7


def _prepare(owner, y_true, y_pred, sample_weight, top_k=None, class_id=None):
    """Flat boolean labels, float predictions and weights of one batch."""
    y_true, y_pred = match_ranks(to_array(y_true), to_array(y_pred, owner.dtype))
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{type(owner).__name__} expects y_true and y_pred of the same shape, got "
            f"{y_true.shape} and {y_pred.shape}"
        )
    if y_pred.size and (y_pred.min() < 0 or y_pred.max() > 1):
        raise ValueError(
            f"{type(owner).__name__} expects predictions in [0, 1], got values in "
            f"[{y_pred.min()}, {y_pred.max()}] (apply a sigmoid or softmax first)"
        )
    weight = xp.ones((), owner.dtype) if sample_weight is None else to_array(sample_weight)
    weight = weight.reshape(weight.shape + (1,) * (y_pred.ndim - weight.ndim))
    weight = xp.broadcast_to(weight.astype(owner.dtype), y_pred.shape)
    if top_k is not None:
        y_pred = _keep_top_k(y_pred, top_k)
    if class_id is not None:
        y_true, y_pred, weight = y_true[..., class_id], y_pred[..., class_id], weight[..., class_id]
    return (y_true != 0).reshape(-1), y_pred.reshape(-1), weight.reshape(-1)


def _keep_top_k(scores, k):
    """Scores outside each row's ``k`` largest become -inf (ties broken by position)."""
    top = xp.argsort(-scores, axis=-1, kind="stable")[..., :k]
    keep = xp.zeros(scores.shape, dtype=bool)
    xp.put_along_axis(keep, top, True, axis=-1)
    return xp.where(keep, scores, -xp.inf).astype(scores.dtype)


def confusion_counts(labels, preds, weight, thresholds):
    """Weighted (tp, fp, tn, fn) at each of the ascending ``thresholds``."""
    below = xp.searchsorted(thresholds, preds, side="left")  # thresholds under each pred
    size = len(thresholds) + 1
    positives = xp.zeros(size, weight.dtype)
    negatives = xp.zeros(size, weight.dtype)
    xp.add.at(positives, below[labels], weight[labels])
    xp.add.at(negatives, below[~labels], weight[~labels])
    # everything in a bin above threshold j counts as predicted positive at j
    tp = xp.cumsum(positives[::-1])[::-1]
    fp = xp.cumsum(negatives[::-1])[::-1]
    return tp[1:], fp[1:], fp[0] - fp[1:], tp[0] - tp[1:]


def _divide(a, b):
    """a / b, with 0 where b is 0."""
    return xp.where(b > 0, a / xp.where(b > 0, b, 1), 0).astype(a.dtype)


def _check_thresholds(owner, thresholds):
    values = [thresholds] if isinstance(thresholds, int | float) else list(thresholds)
    for t in values:
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"{owner}: thresholds must be in [0, 1], got {t!r}")
    return values


class _ThresholdMetric(Metric):
    """Precision and recall: counts at user thresholds, optionally in the top-k or for
    one class."""

    _count_names = ()

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        owner = type(self).__name__
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1
        ):
            raise ValueError(f"{owner}: top_k must be a positive integer, got {top_k!r}")
        if class_id is not None and (not isinstance(class_id, int) or class_id < 0):
            raise ValueError(f"{owner}: class_id must be a non-negative integer, got {class_id!r}")
        self.thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        if thresholds is None:
            values = [0.5] if top_k is None else [-math.inf]  # with top_k: all top-k count
        else:
            values = _check_thresholds(owner, thresholds)
        self._single = thresholds is None or isinstance(thresholds, int | float)
        self._order = xp.argsort(values, kind="stable")
        self._sorted = xp.asarray(values, dtype=self.dtype)[self._order]
        for state in self._count_names:
            self.add_state(state, shape=(len(values),))

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels, preds, weight = _prepare(
            self, y_true, y_pred, sample_weight, self.top_k, self.class_id
        )
        counts = dict(
            zip(
                ("true_positives", "false_positives", "true_negatives", "false_negatives"),
                confusion_counts(labels, preds, weight, self._sorted),
            )
        )
        for state in self._count_names:
            getattr(self, state)[...] += counts[state]

    def _finish(self, values):
        out = xp.empty_like(values)
        out[self._order] = values
        return float(out[0]) if self._single else [float(v) for v in out]

    def get_config(self):
        return {
            **super().get_config(),
            "thresholds": self.thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


@register("metrics", aliases=("precision",))
class Precision(_ThresholdMetric):
    """Precision ``tp / (tp + fp)``: the fraction of predicted positives that are right.

    Args:
        thresholds: a float or a list of floats in [0, 1] (a list gives a list of
            results); predictions above a threshold count as positive. Default 0.5, or
            every top-k prediction when ``top_k`` is set.
        top_k: count only each sample's ``k`` highest predictions as positive.
        class_id: evaluate one class (the last axis indexes classes).
        name: defaults to ``"precision"``.
        dtype: the state dtype.

    Example:
        >>> import lapenna as lp
        >>> lp.metrics.Precision()([0, 1, 1, 1], [1, 0, 1, 1])
        0.6666666865348816
    """

    _count_names = ("true_positives", "false_positives")

    def result(self):
        tp, fp = self.true_positives, self.false_positives
        return self._finish(_divide(tp, tp + fp))


@register("metrics", aliases=("recall",))
class Recall(_ThresholdMetric):
    """Recall ``tp / (tp + fn)``: the fraction of actual positives found.

    Takes the same arguments as ``Precision``; the name defaults to ``"recall"``.

    Example:
        >>> import lapenna as lp
        >>> lp.metrics.Recall()([0, 1, 1, 1], [1, 0, 1, 1])
        0.6666666865348816
    """

    _count_names = ("true_positives", "false_negatives")

    def result(self):
        tp, fn = self.true_positives, self.false_negatives
        return self._finish(_divide(tp, tp + fn))


@register("metrics", aliases=("auc",))
class AUC(Metric):
    """Area under the ROC or precision-recall curve, from counts at fixed thresholds.

    The thresholds are ``num_thresholds`` points evenly spread over [0, 1] (the ends moved
    out by 1e-7 so that predictions of exactly 0 and 1 are caught). ``"interpolation"``
    sums trapezoids for ROC; for PR it interpolates precision between thresholds as in
    Davis and Goadrich, "The Relationship Between Precision-Recall and ROC Curves",
    ICML 2006. ``"minoring"``/``"majoring"`` use the lower/upper value of each interval.

    Args:
        num_thresholds: how many thresholds (more: closer to the exact area).
        curve: ``"ROC"`` or ``"PR"``.
        summation_method: ``"interpolation"``, ``"minoring"`` or ``"majoring"``.
        name: defaults to ``"auc"``.
        dtype: the state dtype.
        thresholds: explicit thresholds in [0, 1] instead of the even grid.
        from_logits: apply a sigmoid to the predictions first.

    Example:
        >>> import lapenna as lp
        >>> auc = lp.metrics.AUC(num_thresholds=3)
        >>> auc([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9])
        0.75
    """

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        from_logits=False,
    ):
        super().__init__(name=name, dtype=dtype)
        self.curve = str(curve).upper()
        if self.curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(
                "AUC: summation_method must be 'interpolation', 'minoring' or 'majoring', "
                f"got {summation_method!r}"
            )
        self.summation_method = summation_method
        self.from_logits = bool(from_logits)
        self.thresholds = (
            None if thresholds is None else sorted(_check_thresholds("AUC", thresholds))
        )
        if self.thresholds is None:
            if (
                isinstance(num_thresholds, bool)
                or not isinstance(num_thresholds, int)
                or num_thresholds < 2
            ):
                raise ValueError(
                    f"AUC: num_thresholds must be an integer > 1, got {num_thresholds!r}"
                )
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        else:
            inner = self.thresholds
        self.num_thresholds = len(inner) + 2
        self._sorted = xp.asarray([-EPSILON, *inner, 1.0 + EPSILON], dtype=self.dtype)
        for state in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            self.add_state(state, shape=(self.num_thresholds,))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = to_array(y_pred, self.dtype)
        if self.from_logits:
            y_pred = (1 / (1 + xp.exp(-y_pred))).astype(self.dtype)
        labels, preds, weight = _prepare(self, y_true, y_pred, sample_weight)
        tp, fp, tn, fn = confusion_counts(labels, preds, weight, self._sorted)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def result(self):
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr_auc()
        recall = _divide(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide(fp, fp + tn), recall
        else:
            x, y = recall, _divide(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = xp.minimum(y[:-1], y[1:])
        else:
            heights = xp.maximum(y[:-1], y[1:])
        # thresholds ascend, so x (a rate) descends: each width is x[i] - x[i + 1]
        return float(((x[:-1] - x[1:]) * heights).sum())

    def _interpolated_pr_auc(self):
        """Area under the PR curve with precision interpolated along the straight line in
        (tp, tp + fp) space between neighbouring thresholds (Davis and Goadrich)."""
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        predicted = tp + fp
        d_tp = tp[:-1] - tp[1:]
        d_predicted = predicted[:-1] - predicted[1:]
        slope = _divide(d_tp, xp.maximum(d_predicted, 0))
        intercept = tp[1:] - slope * predicted[1:]
        both = (predicted[:-1] > 0) & (predicted[1:] > 0)
        ratio = xp.where(both, _divide(predicted[:-1], xp.maximum(predicted[1:], 0)), 1)
        area = slope * (d_tp + intercept * xp.log(xp.where(ratio > 0, ratio, 1)))
        return float(_divide(area, xp.maximum(tp[1:] + fn[1:], 0)).sum())

    def get_config(self):
        return {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "thresholds": self.thresholds,
            "from_logits": self.from_logits,
        }

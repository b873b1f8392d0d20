"""Fused cross-entropy ops: per-example losses, stable from logits, Keras conventions.

From probabilities, values are clipped to ``[EPSILON, 1 - EPSILON]`` before the log, as
Keras does, so a confident wrong prediction costs ``-log(1e-7) ~= 16.1`` instead of
infinity (and gets no gradient there, exactly like Keras).
"""

from lapenna import backend as B
from lapenna.autograd import Tensor, as_tensor, capture
from lapenna.autograd import functions as F
from lapenna.backend import xp
from lapenna.ops.math import clip, log
from lapenna.ops.shape import take_along_axis

#: the clipping margin for probabilities (Keras's ``backend.epsilon()``)
EPSILON = 1e-7


def softmax_cross_entropy(
    labels, logits, axis=-1, sparse=False, from_logits=True, label_smoothing=0.0
):
    """Cross-entropy between labels and a categorical distribution, per example.

    From logits this is one fused primitive: ``-sum(labels * log_softmax(logits))``,
    finite for logits of any magnitude, with gradient ``softmax(logits) - labels``.

    Args:
        labels: one-hot (or soft) labels shaped like ``logits``; with ``sparse=True``,
            integer class ids shaped like ``logits`` without ``axis`` (a trailing size-1
            axis is accepted too).
        logits: unnormalized scores, or probabilities when ``from_logits=False``.
        axis: the class axis.
        sparse: whether ``labels`` are integer class ids.
        from_logits: whether ``logits`` are scores (True) or probabilities (False;
            they are renormalized to sum to one and clipped to [1e-7, 1 - 1e-7]).
        label_smoothing: ``s`` in [0, 1]: the target becomes ``(1 - s) * labels + s / C``.

    Returns:
        A Tensor shaped like ``logits`` without ``axis``.

    Raises:
        ValueError: for mismatched shapes, a bad smoothing value or a sparse label outside
            ``[0, C)`` (the message names the label and ``C``).

    Example:
        >>> import lapenna as lp
        >>> loss = lp.ops.softmax_cross_entropy([2], [[1.0, 2.0, 3.0]], sparse=True)
        >>> round(loss.item(), 4)
        0.4076
    """
    logits = _float_tensor(logits)
    axis = _class_axis(axis, logits.ndim, "softmax_cross_entropy")
    smoothing = check_label_smoothing(label_smoothing, "softmax_cross_entropy")
    classes = logits.shape[axis]
    if sparse:
        ids = _sparse_labels(labels, logits.shape, axis)
        if from_logits:
            return F.SparseSoftmaxCrossEntropy.apply(
                logits, labels=ids, axis=axis, smoothing=smoothing
            )
        log_probs = _clipped_log_probs(logits, axis)
        picked = take_along_axis(log_probs, Tensor(ids).expand_dims(axis), axis).squeeze(axis)
        if not smoothing:
            return -picked
        return -picked * (1.0 - smoothing) - log_probs.sum(axis=axis) * (smoothing / classes)
    labels = _dense_labels(labels, logits, "softmax_cross_entropy")
    if smoothing:
        labels = labels * (1.0 - smoothing) + smoothing / classes
    if from_logits:
        return F.SoftmaxCrossEntropy.apply(labels, logits, axis=axis)
    return -(labels * _clipped_log_probs(logits, axis)).sum(axis=axis)


def binary_cross_entropy(labels, outputs, from_logits=False, label_smoothing=0.0):
    """Elementwise binary cross-entropy ``-z*log(p) - (1-z)*log(1-p)``.

    From logits it is one primitive computing ``max(x, 0) - x*z + log(1 + exp(-|x|))``,
    which is finite for any ``x``; its gradient is ``sigmoid(x) - z``.

    Args:
        labels: targets in [0, 1], shaped like ``outputs``.
        outputs: probabilities (clipped to [1e-7, 1 - 1e-7]) or, with
            ``from_logits=True``, logits.
        from_logits: whether ``outputs`` are logits.
        label_smoothing: ``s`` in [0, 1]: targets become ``(1 - s) * z + s / 2``.

    Returns:
        A Tensor shaped like ``outputs`` (nothing is reduced).

    Example:
        >>> import lapenna as lp
        >>> loss = lp.ops.binary_cross_entropy([1.0, 0.0], [0.8, 0.2])
        >>> [round(v, 4) for v in loss.tolist()]
        [0.2231, 0.2231]
    """
    outputs = _float_tensor(outputs)
    smoothing = check_label_smoothing(label_smoothing, "binary_cross_entropy")
    labels = _dense_labels(labels, outputs, "binary_cross_entropy")
    if smoothing:
        labels = labels * (1.0 - smoothing) + 0.5 * smoothing
    if from_logits:
        return F.SigmoidCrossEntropy.apply(labels, outputs)
    probs = clip(outputs, EPSILON, 1.0 - EPSILON)
    return -(labels * log(probs) + (1.0 - labels) * log(1.0 - probs))


# -- helpers ----------------------------------------------------------------------------
def _float_tensor(x):
    x = as_tensor(x)
    return x if B.is_float_dtype(x.dtype) else x.astype(B.floatx())


def _class_axis(axis, ndim, op):
    if ndim == 0:
        raise ValueError(f"{op} expects predictions with a class axis, got a scalar")
    if not isinstance(axis, int) or not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis!r} is out of range for predictions of rank {ndim}")
    return axis % ndim


def check_label_smoothing(value, op):
    """``value`` as a float in [0, 1]; the one check of every label-smoothing argument."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {value!r}")
    return float(value)


def _dense_labels(labels, like, op):
    """Labels as a Tensor of the predictions' dtype and shape (a differentiable cast)."""
    labels = as_tensor(labels)
    if labels.shape != like.shape:
        raise ValueError(
            f"{op} expects labels shaped like the predictions {like.shape}, got shape "
            f"{labels.shape}"
        )
    return labels.astype(like.dtype)


def _sparse_labels(labels, shape, axis):
    """Integer class ids shaped like ``shape`` without ``axis``, checked to be in range."""
    ids = labels.data if isinstance(labels, Tensor) else B.as_array(labels)
    expected = shape[:axis] + shape[axis + 1 :]
    if ids.shape != expected and ids.shape == expected + (1,):
        ids = ids.reshape(expected)
    if ids.shape != expected:
        raise ValueError(
            f"softmax_cross_entropy (sparse) expects integer labels of shape {expected} for "
            f"predictions of shape {shape}, got shape {ids.shape}"
        )
    integral = ids.dtype.kind in "iub" or (ids.dtype.kind == "f" and xp.all(ids == xp.round(ids)))
    if not integral:
        raise ValueError(
            f"softmax_cross_entropy (sparse) expects integer class ids, got dtype {ids.dtype}"
        )
    # a check on the values: a step of a captured plan too, so every replay repeats it
    capture.host("check_labels", lambda i: _check_label_range(i, shape[axis]), [ids])
    return ids.astype(xp.intp, copy=False)


def _check_label_range(ids, classes):
    bad = (ids < 0) | (ids >= classes)
    if bad.any():
        raise ValueError(
            f"softmax_cross_entropy (sparse): label {ids[bad][0].item()!r} is out of range for "
            f"{classes} classes (labels must be in [0, {classes}))"
        )


def _clipped_log_probs(probs, axis):
    """log of probabilities renormalized along ``axis`` and clipped away from 0 and 1."""
    probs = probs / probs.sum(axis=axis, keepdims=True)
    return log(clip(probs, EPSILON, 1.0 - EPSILON))

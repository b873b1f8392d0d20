"""Reductions with numpy names; ``axis`` may be None, an int or a tuple, negatives allowed."""

from lapenna.autograd import Tensor, as_tensor, no_grad


def sum(x, axis=None, keepdims=False):  # noqa: A001 - numpy's name
    return as_tensor(x).sum(axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return as_tensor(x).mean(axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over axes; tied maxima share the gradient equally."""
    return as_tensor(x).max(axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return as_tensor(x).min(axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance (biased unless ``ddof=1``)."""
    return as_tensor(x).var(axis=axis, keepdims=keepdims, ddof=ddof)


def std(x, axis=None, keepdims=False, ddof=0):
    return as_tensor(x).std(axis=axis, keepdims=keepdims, ddof=ddof)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m = max(x) held constant."""
    x = as_tensor(x)
    with no_grad():
        m = x.max(axis=axis, keepdims=True)
    m = Tensor(m.data)
    out = (x - m).exp().sum(axis=axis, keepdims=True).log() + m
    return out if keepdims else out.squeeze(axis=tuple(range(x.ndim)) if axis is None else axis)


def argmax(x, axis=None):
    """Index of the maximum (an integer Tensor, no gradient)."""
    return as_tensor(x).argmax(axis=axis)


def argmin(x, axis=None):
    return as_tensor(x).argmin(axis=axis)

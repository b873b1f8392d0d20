"""Softmax and log-softmax along an axis."""

from lapenna.autograd import as_tensor
from lapenna.autograd import functions as F


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, with the max subtracted first for stability."""
    x = as_tensor(x)
    return F.Softmax.apply(x, axis=axis % x.ndim)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``; finite even for logits of magnitude 1e4."""
    x = as_tensor(x)
    return F.LogSoftmax.apply(x, axis=axis % x.ndim)

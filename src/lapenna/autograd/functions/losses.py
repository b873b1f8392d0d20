"""Fused loss primitives: softmax cross-entropy (dense and sparse labels) and sigmoid
cross-entropy, each computed from logits in one numerically stable pass.

Fusing matters for two reasons. Numerically, ``log(softmax(x))`` underflows to
``log(0) = -inf`` for logits of magnitude 1e4, while ``x - logsumexp(x)`` stays finite.
For speed, the gradient of the fused loss is the famous ``softmax(x) - labels``: one
subtraction instead of a backward pass through a softmax and a log.

Each backward has two paths. A plain backward (under ``no_grad``, the usual case) works on
the softmax saved by forward. When ``create_graph=True`` asks for a differentiable gradient,
it is rebuilt from ``Softmax``/``LogSoftmax``/``Sigmoid`` primitives applied to the saved
inputs, so second derivatives flow back to the logits. Both paths are the one formula in
each class's docstring; ``tests/test_fused_backward.py`` checks that they agree.
"""

from lapenna.autograd import capture, grad_mode
from lapenna.autograd.function import Function
from lapenna.autograd.functions.elementwise import Sigmoid
from lapenna.autograd.functions.softmax import LogSoftmax, Softmax
from lapenna.autograd.tensor import Tensor
from lapenna.backend import xp


def _log_softmax_and_softmax(x, axis):
    """Both from one exp: log_softmax = shifted - log(sum), softmax = exp(shifted) / sum."""
    logp = x - x.max(axis=axis, keepdims=True)
    probs = xp.exp(logp)
    total = probs.sum(axis=axis, keepdims=True)
    probs /= total
    logp -= xp.log(total)
    return logp, probs


class SoftmaxCrossEntropy(Function):
    """loss = -sum(labels * log_softmax(logits)) along ``axis`` (the axis is reduced).

    Gradients: d/dlogits = softmax(logits) * sum(labels) - labels (the familiar
    ``softmax - onehot`` when each row of labels sums to one); d/dlabels = -log_softmax.

    Params: ``axis`` (non-negative).
    """

    def forward(self, labels, logits):
        logp, probs = _log_softmax_and_softmax(logits, self.axis)
        self.save_for_backward(*self.parents, probs)
        return -(labels * logp).sum(axis=self.axis)

    def backward(self, grad):
        labels, logits, probs = self.saved_tensors
        g = grad.expand_dims(self.axis)
        graph = grad_mode.is_enabled()
        g_logits = g_labels = None
        if self.needs_grad[1]:
            probs = Softmax.apply(logits, axis=self.axis) if graph else Tensor(probs)
            g_logits = g * (probs * labels.sum(axis=self.axis, keepdims=True) - labels)
        if self.needs_grad[0]:
            # rarely needed (soft targets that are themselves learned): recompute log_softmax
            g_labels = -g * LogSoftmax.apply(logits, axis=self.axis)
        return g_labels, g_logits


class SparseSoftmaxCrossEntropy(Function):
    """loss = -log_softmax(logits)[label] along ``axis``, with optional label smoothing.

    With smoothing ``s`` over ``C`` classes the target is ``(1 - s) * onehot + s / C``, so
    loss = -(1 - s) * log_softmax[label] - (s / C) * sum(log_softmax), and the gradient is
    softmax(logits) - target. The integer labels are a parameter, not an input: they get
    no gradient.

    Params: ``labels`` (integer array shaped like the logits without ``axis``), ``axis``
    (non-negative), ``smoothing`` (float in [0, 1]).
    """

    def forward(self, logits):
        logp, probs = _log_softmax_and_softmax(logits, self.axis)
        self.save_for_backward(self.parents[0], probs)
        index = xp.expand_dims(self.labels, self.axis)
        loss = -xp.take_along_axis(logp, index, axis=self.axis).squeeze(self.axis)
        if self.smoothing:
            classes = logits.shape[self.axis]
            loss = (1.0 - self.smoothing) * loss - (self.smoothing / classes) * logp.sum(
                axis=self.axis
            )
        return loss

    def _target(self, like):
        target = xp.zeros_like(like)
        xp.put_along_axis(target, xp.expand_dims(self.labels, self.axis), 1.0, axis=self.axis)
        if self.smoothing:
            target *= 1.0 - self.smoothing
            target += self.smoothing / like.shape[self.axis]
        return target

    def backward(self, grad):
        logits, probs = self.saved_tensors
        g = grad.expand_dims(self.axis)
        if grad_mode.is_enabled():
            target = Tensor(self._target(probs))
            return g * (Softmax.apply(logits, axis=self.axis) - target)
        # the plain path stays in numpy and never builds the one-hot target (one step of a
        # captured plan: it reads the labels the replay sets)
        return Tensor(capture.host(type(self).__name__ + "Grad", self._plain_grad, [g.data, probs]))

    def _plain_grad(self, g, probs):
        """g * probs, minus g * (1 - s) at each label, minus g * s / C everywhere."""
        out = g * probs
        if self.smoothing:
            out -= g * (self.smoothing / probs.shape[self.axis])
        index = xp.expand_dims(self.labels, self.axis)
        picked = xp.take_along_axis(out, index, axis=self.axis)
        picked -= g * (1.0 - self.smoothing)
        xp.put_along_axis(out, index, picked, axis=self.axis)
        return out


class SigmoidCrossEntropy(Function):
    """Elementwise loss = max(x, 0) - x * z + log(1 + exp(-|x|)) for logits x, labels z.

    This equals -z * log(sigmoid(x)) - (1 - z) * log(1 - sigmoid(x)) but never takes the
    log of a rounded-to-zero probability nor the exp of a large positive number.
    Gradients: d/dx = sigmoid(x) - z; d/dz = -x.
    """

    def forward(self, labels, logits):
        self.save_for_backward(*self.parents)
        return (xp.maximum(logits, 0) - logits * labels + xp.log1p(xp.exp(-xp.abs(logits)))).astype(
            logits.dtype, copy=False
        )

    def backward(self, grad):
        labels, logits = self.saved_tensors
        g_labels = -grad * logits if self.needs_grad[0] else None
        g_logits = grad * (Sigmoid.apply(logits) - labels) if self.needs_grad[1] else None
        return g_labels, g_logits

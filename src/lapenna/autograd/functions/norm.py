"""The fused normalization primitive behind batch norm (training) and layer norm.

``y = (x - mean) / sqrt(var + eps) * gamma + beta`` where mean and biased variance are
taken over ``axes`` from ``x`` itself, so they depend on ``x`` and the gradient has the
well-known compact form (Ioffe and Szegedy, "Batch Normalization", ICML 2015)::

    xhat = (x - mean) * inv_std,  gg = g * gamma
    dx = inv_std * (gg - mean(gg) - xhat * mean(gg * xhat))      (means over axes)
    dgamma = g * xhat,  dbeta = g                                 (summed to their shapes)

This formula is the one backward, written twice: a first-order backward runs it as the
fused array kernel ``backend.normalize_backward`` (the fast path); under ``create_graph``
it is written with Tensor operations and statistics recomputed from ``x``, so second
derivatives are exact. ``tests/test_fused_backward.py`` checks that both give the same
gradients. Backward keeps only ``x`` (and gamma): xhat is recomputed.

The primitive owns its statistics: forward computes the mean and biased variance of ``x``
over ``axes`` (``backend.moments``) and reports them in the ``statistics`` dict the
caller passes, which batch norm folds into its moving averages.
"""

from lapenna import backend as B
from lapenna.autograd import capture, grad_mode
from lapenna.autograd.function import Function
from lapenna.autograd.tensor import Tensor


class Normalize(Function):
    """Inputs ``x[, gamma][, beta]`` (flags ``has_gamma``, ``has_beta``; affine parameters
    already shaped to broadcast against x). Parameters: ``axes`` (sorted tuple),
    ``epsilon``, and optionally ``statistics``, a dict that receives ``mean`` and ``var``
    of x over ``axes`` (size-1 axes kept)."""

    statistics = None

    has_gamma = False
    has_beta = False

    def forward(self, x, *affine):
        gamma = affine[0] if self.has_gamma else None
        beta = affine[-1] if self.has_beta else None
        self.mean, var = B.moments(x, self.axes)
        if self.statistics is not None:
            self.statistics.update(mean=self.mean, var=var)
        self.inv_std = 1 / B.xp.sqrt(var + x.dtype.type(self.epsilon))
        self.save_for_backward(*self.parents[: 1 + self.has_gamma])
        return B.normalize(x, self.mean, self.inv_std, gamma, beta)

    def _plain_backward(self, x, grad, mean, inv_std, gamma=None):
        want_gamma = self.has_gamma and self.needs_grad[1]
        want_beta = self.has_beta and self.needs_grad[-1]
        return B.normalize_backward(
            x,
            grad,
            mean,
            inv_std,
            gamma,
            self.axes,
            gamma_shape=gamma.shape if want_gamma else None,
            beta_shape=self.parents[-1].shape if want_beta else None,
        )

    def backward(self, grad):
        saved = self.saved_tensors
        x, gamma = saved[0], saved[1] if self.has_gamma else None
        if grad_mode.is_enabled():
            dx, dgamma, dbeta = self._backward_tensors(grad, x, gamma)
        else:
            inputs = [x.data, grad.data, self.mean, self.inv_std]
            if gamma is not None:
                inputs.append(gamma.data)
            # one step of a captured plan (see ``autograd.capture``)
            arrays = capture.host("NormalizeGrad", self._plain_backward, inputs)
            dx, dgamma, dbeta = (None if a is None else Tensor(a) for a in arrays)
        out = [dx if self.needs_grad[0] else None]
        if self.has_gamma:
            out.append(dgamma)
        if self.has_beta:
            out.append(dbeta)
        return tuple(out)

    def _backward_tensors(self, grad, x, gamma):
        axes = self.axes
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        inv_std = 1 / ((centered * centered).mean(axis=axes, keepdims=True) + self.epsilon).sqrt()
        xhat = centered * inv_std
        gg = grad if gamma is None else grad * gamma
        mean_gg = gg.mean(axis=axes, keepdims=True)
        mean_ggx = (gg * xhat).mean(axis=axes, keepdims=True)
        dx = (gg - mean_gg - xhat * mean_ggx) * inv_std
        return dx, grad * xhat, grad

"""Fused recurrences: SimpleRNN, LSTM and GRU over a whole sequence, forward and backward
through time side by side.

Every cell computes, at each step ``t``, a pre-activation ``z_t = x_t W + b + h_{t-1} R``.
The input half ``X W + b`` does not depend on the recurrence, so it is one GEMM over all
``batch * time`` rows at once; only ``h_{t-1} R`` (a ``(batch, units) x (units, gates)``
GEMM) runs inside the time loop. Backward through time walks the steps in reverse,
turning the output gradient into ``dZ_t`` (the gradient of every pre-activation) with
the gate activations saved by forward, and passes ``dZ_t R^T`` to the previous step. The
weight gradients are then three more GEMMs over all steps::

    dW = X^T dZ,    dR = H_prev^T dZ,    dX = dZ W^T,    db = sum(dZ)

Weights use Keras's layouts: ``kernel (features, gates * units)``, ``recurrent_kernel
(units, gates * units)``; LSTM gates ``i, f, c, o``; GRU gates ``z, r, h``.

A time mask (``mask[b, t] = 0`` for padding) keeps the previous state at masked steps:
``h_t = m h_new + (1 - m) h_{t-1}``. A recurrent dropout mask multiplies ``h_{t-1}`` only
where it enters the recurrent product, as Keras does. The arrays run time-major inside
(``(time, batch, ...)``) so that each step's slice is contiguous.

These primitives' backward is written on arrays, so they have no second derivative; the
generic ``layers.RNN`` loop over cells (built from ops) has one.
"""

from lapenna import backend as B
from lapenna.autograd.function import Function
from lapenna.autograd.tensor import Tensor
from lapenna.backend import xp

# activation name -> (f(z), f'(z) written with y = f(z))
_ACTIVATIONS = {
    "tanh": (xp.tanh, lambda y: 1 - y * y),
    "sigmoid": (lambda z: 1 / (1 + xp.exp(-z)), lambda y: y * (1 - y)),
    "relu": (lambda z: xp.maximum(z, 0), lambda y: (y > 0).astype(y.dtype)),
    "linear": (lambda z: z, lambda y: xp.ones_like(y)),
}
FUSED_ACTIVATIONS = frozenset(_ACTIVATIONS)


class _Recurrence(Function):
    """Shared bookkeeping. Inputs: ``x (batch, time, features)``, the initial states,
    ``kernel``, ``recurrent_kernel`` and (flag ``has_bias``) ``bias``. Parameters:
    ``activation``/``recurrent_activation`` (names in ``FUSED_ACTIVATIONS``), ``mask``
    (``(batch, time)`` array or None) and ``recurrent_mask`` (``(batch, units)`` or None)."""

    differentiable_backward = False
    n_states = 1
    has_bias = True
    mask = None
    recurrent_mask = None

    def _setup(self, x, kernel):
        batch, time, features = x.shape
        if kernel.shape[0] != features:
            raise ValueError(
                f"{type(self).__name__}: kernel expects {kernel.shape[0]} input features, "
                f"got inputs of shape {x.shape}"
            )
        self.x = x
        dtype = x.dtype
        # (time, batch, 1) so that it broadcasts over units; None when nothing is masked
        m = None if self.mask is None else xp.asarray(self.mask, dtype=dtype).T[:, :, None]
        self.m = m
        rd = self.recurrent_mask
        self.rd = None if rd is None else xp.asarray(rd, dtype=dtype)
        x_time_major = x.transpose(1, 0, 2).reshape(time * batch, features)
        return x_time_major, batch, time

    def _dropped(self, h):
        return h if self.rd is None else h * self.rd

    def _blend(self, t, new, old):
        if self.m is None:
            return new
        return self.m[t] * new + (1 - self.m[t]) * old

    def _split_grad(self, dnew, t):
        """The gradient of a blended state splits into the new value's and the old one's."""
        if self.m is None:
            return dnew, None
        return self.m[t] * dnew, (1 - self.m[t]) * dnew

    def _input_grads(self, dz_time_major, kernel, has_bias_in=True):
        """dX = dZ W^T (one GEMM), dW = X^T dZ (one GEMM), db = column sums."""
        time, batch, gates = dz_time_major.shape
        dz = dz_time_major.reshape(time * batch, gates)
        x = self.x
        xt = x.transpose(1, 0, 2).reshape(time * batch, x.shape[2])
        dx = None
        if self.needs_grad[0]:
            dx = B.matmul(dz, kernel.T).reshape(time, batch, -1).transpose(1, 0, 2)
        return dx, B.matmul(xt.T, dz), dz.sum(axis=0) if has_bias_in else None

    def _previous(self, states_seq, initial):
        """``h_{t-1}`` for every step: the initial state, then the sequence shifted by one."""
        return xp.concatenate([initial[None], states_seq[:-1]], axis=0)

    def release(self):
        super().release()
        for name in ("x", "m", "rd", "h0", "c0", "hs", "cs", "c_new", "gates", "h_new"):
            self.__dict__.pop(name, None)
        self.__dict__.pop("saved_gates", None)
        self.__dict__.pop("weights", None)

    def _pack(self, needs_bias_grads, dx, dstates, dkernel, drecurrent, dbias):
        out = [dx, *dstates, dkernel, drecurrent]
        if self.has_bias:
            out.append(dbias if needs_bias_grads else None)
        return tuple(None if g is None else Tensor(g) for g in out)


class SimpleRNNScan(_Recurrence):
    """``h_t = f(x_t W + b + h_{t-1} R)``. Inputs ``x, h0, kernel, recurrent_kernel[,
    bias]``; output: every hidden state, ``(batch, time, units)``."""

    def forward(self, x, h0, kernel, recurrent_kernel, *bias):
        xt, batch, time = self._setup(x, kernel)
        f, _ = _ACTIVATIONS[self.activation]
        xz = B.matmul(xt, kernel)
        if bias:
            xz += bias[0]
        xz = xz.reshape(time, batch, -1)
        hs = xp.empty_like(xz)
        h = h0
        for t in range(time):
            h_new = f(xz[t] + B.matmul(self._dropped(h), recurrent_kernel))
            h = self._blend(t, h_new, h)
            hs[t] = h
            xz[t] = h_new  # the pre-blend output is what backward needs; reuse the buffer
        self.h0, self.hs, self.h_new = h0, hs, xz
        self.weights = (kernel, recurrent_kernel)
        return hs.transpose(1, 0, 2).copy()

    def backward(self, grad):
        kernel, recurrent_kernel = self.weights
        _, df = _ACTIVATIONS[self.activation]
        g = grad.data.transpose(1, 0, 2)
        time = g.shape[0]
        dz = xp.empty_like(self.h_new)
        dh = xp.zeros_like(self.h0)
        for t in reversed(range(time)):
            dh = dh + g[t]
            dnew, dold = self._split_grad(dh, t)
            dz[t] = dnew * df(self.h_new[t])
            dh = self._dropped(B.matmul(dz[t], recurrent_kernel.T))
            if dold is not None:
                dh = dh + dold
        hp = self._dropped(self._previous(self.hs, self.h0))
        drec = B.matmul(hp.reshape(-1, hp.shape[-1]).T, dz.reshape(-1, dz.shape[-1]))
        dx, dkernel, dbias = self._input_grads(dz, kernel)
        return self._pack(True, dx, [dh], dkernel, drec, dbias)


class LSTMScan(_Recurrence):
    """Keras's LSTM, gates ``i, f, c, o``::

        i, f, o = sigma(z_i), sigma(z_f), sigma(z_o);  g = tanh(z_c)
        c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)

    Inputs ``x, h0, c0, kernel, recurrent_kernel[, bias]``; the output puts the hidden
    and the cell states side by side: ``(batch, time, 2 * units)``, ``[..., :units]`` is
    ``h`` and ``[..., units:]`` is ``c`` (so the final cell state can be returned)."""

    n_states = 2

    def forward(self, x, h0, c0, kernel, recurrent_kernel, *bias):
        xt, batch, time = self._setup(x, kernel)
        act, _ = _ACTIVATIONS[self.activation]
        ract, _ = _ACTIVATIONS[self.recurrent_activation]
        units = h0.shape[1]
        gates = B.matmul(xt, kernel)
        if bias:
            gates += bias[0]
        gates = gates.reshape(time, batch, 4 * units)
        hs = xp.empty((time, batch, units), dtype=x.dtype)
        cs, c_new = xp.empty_like(hs), xp.empty_like(hs)
        h, c = h0, c0
        for t in range(time):
            z = gates[t]
            z += B.matmul(self._dropped(h), recurrent_kernel)
            z[:, : 2 * units] = ract(z[:, : 2 * units])
            z[:, 2 * units : 3 * units] = act(z[:, 2 * units : 3 * units])
            z[:, 3 * units :] = ract(z[:, 3 * units :])
            i, f, g, o = (
                z[:, :units],
                z[:, units : 2 * units],
                z[:, 2 * units : 3 * units],
                z[:, 3 * units :],
            )
            c_new[t] = f * c + i * g
            h = self._blend(t, o * act(c_new[t]), h)
            c = self._blend(t, c_new[t], c)
            hs[t], cs[t] = h, c
        self.h0, self.c0, self.hs, self.cs, self.c_new, self.gates = h0, c0, hs, cs, c_new, gates
        self.weights = (kernel, recurrent_kernel)
        return xp.concatenate([hs, cs], axis=2).transpose(1, 0, 2).copy()

    def backward(self, grad):
        kernel, recurrent_kernel = self.weights
        act, dact = _ACTIVATIONS[self.activation]
        _, dract = _ACTIVATIONS[self.recurrent_activation]
        units = self.h0.shape[1]
        g_all = grad.data.transpose(1, 0, 2)
        time = g_all.shape[0]
        c_prev_seq = self._previous(self.cs, self.c0)
        dz = xp.empty_like(self.gates)
        dh, dc = xp.zeros_like(self.h0), xp.zeros_like(self.c0)
        for t in reversed(range(time)):
            dh = dh + g_all[t, :, :units]
            dc = dc + g_all[t, :, units:]
            dh_new, dh_old = self._split_grad(dh, t)
            dc_new, dc_old = self._split_grad(dc, t)
            z = self.gates[t]
            i, f, gg, o = (
                z[:, :units],
                z[:, units : 2 * units],
                z[:, 2 * units : 3 * units],
                z[:, 3 * units :],
            )
            tc = act(self.c_new[t])
            dc_tot = dc_new + dh_new * o * dact(tc)
            d = dz[t]
            d[:, :units] = dc_tot * gg * dract(i)
            d[:, units : 2 * units] = dc_tot * c_prev_seq[t] * dract(f)
            d[:, 2 * units : 3 * units] = dc_tot * i * dact(gg)
            d[:, 3 * units :] = dh_new * tc * dract(o)
            dh = self._dropped(B.matmul(d, recurrent_kernel.T))
            dc = dc_tot * f
            if dh_old is not None:
                dh, dc = dh + dh_old, dc + dc_old
        hp = self._dropped(self._previous(self.hs, self.h0))
        drec = B.matmul(hp.reshape(-1, units).T, dz.reshape(-1, 4 * units))
        dx, dkernel, dbias = self._input_grads(dz, kernel)
        return self._pack(True, dx, [dh, dc], dkernel, drec, dbias)


class GRUScan(_Recurrence):
    """Keras's GRU, gates ``z, r, h``, ``h_t = z h_{t-1} + (1 - z) hh``::

        reset_after=True  (bias (2, 3u): input and recurrent biases)
            hh = tanh(x W_h + b_h + r * (h_{t-1} R_h + b'_h))
        reset_after=False (bias (3u,))
            hh = tanh(x W_h + b_h + (r * h_{t-1}) R_h)

    Inputs ``x, h0, kernel, recurrent_kernel[, bias]``; output ``(batch, time, units)``.
    """

    reset_after = True

    def forward(self, x, h0, kernel, recurrent_kernel, *bias):
        xt, batch, time = self._setup(x, kernel)
        act, _ = _ACTIVATIONS[self.activation]
        ract, _ = _ACTIVATIONS[self.recurrent_activation]
        u = h0.shape[1]
        xz = B.matmul(xt, kernel)
        rbias = None
        if bias:
            xz += bias[0][0] if self.reset_after else bias[0]
            rbias = bias[0][1] if self.reset_after else None
        xz = xz.reshape(time, batch, 3 * u)
        hs = xp.empty((time, batch, u), dtype=x.dtype)
        # z, r, hh and (reset_after) the recurrent h-part before the reset, per step
        saved = xp.empty((time, batch, 4 * u), dtype=x.dtype)
        h = h0
        for t in range(time):
            hd = self._dropped(h)
            s = saved[t]
            if self.reset_after:
                rec = B.matmul(hd, recurrent_kernel)
                if rbias is not None:
                    rec += rbias
                s[:, : 2 * u] = ract(xz[t, :, : 2 * u] + rec[:, : 2 * u])
                s[:, 3 * u :] = rec[:, 2 * u :]
                s[:, 2 * u : 3 * u] = act(xz[t, :, 2 * u :] + s[:, u : 2 * u] * rec[:, 2 * u :])
            else:
                rec = B.matmul(hd, recurrent_kernel[:, : 2 * u])
                s[:, : 2 * u] = ract(xz[t, :, : 2 * u] + rec)
                rh = B.matmul(s[:, u : 2 * u] * hd, recurrent_kernel[:, 2 * u :])
                s[:, 2 * u : 3 * u] = act(xz[t, :, 2 * u :] + rh)
            z, hh = s[:, :u], s[:, 2 * u : 3 * u]
            h = self._blend(t, z * h + (1 - z) * hh, h)
            hs[t] = h
        self.h0, self.hs, self.saved_gates = h0, hs, saved
        self.weights = (kernel, recurrent_kernel)
        return hs.transpose(1, 0, 2).copy()

    def backward(self, grad):
        kernel, recurrent_kernel = self.weights
        _, dact = _ACTIVATIONS[self.activation]
        _, dract = _ACTIVATIONS[self.recurrent_activation]
        u = self.h0.shape[1]
        g_all = grad.data.transpose(1, 0, 2)
        time = g_all.shape[0]
        h_prev = self._previous(self.hs, self.h0)
        hd_prev = self._dropped(h_prev)
        dx_z = xp.empty((time, g_all.shape[1], 3 * u), dtype=g_all.dtype)  # input side
        drz = xp.empty_like(dx_z)  # recurrent side (reset_after: incl. h-part)
        rk_h = recurrent_kernel[:, 2 * u :]
        dh = xp.zeros_like(self.h0)
        for t in reversed(range(time)):
            dh = dh + g_all[t]
            dnew, dold = self._split_grad(dh, t)
            s = self.saved_gates[t]
            z, r, hh = s[:, :u], s[:, u : 2 * u], s[:, 2 * u : 3 * u]
            da_h = dnew * (1 - z) * dact(hh)
            da_z = dnew * (h_prev[t] - hh) * dract(z)
            dh = dnew * z
            if self.reset_after:
                rec_h = s[:, 3 * u :]
                da_r = da_h * rec_h * dract(r)
                drz[t, :, 2 * u :] = da_h * r
                drz[t, :, :u], drz[t, :, u : 2 * u] = da_z, da_r
                dhd = B.matmul(drz[t], recurrent_kernel.T)
            else:
                d_rh = B.matmul(da_h, rk_h.T)  # gradient of r * h_{t-1}
                da_r = d_rh * hd_prev[t] * dract(r)
                drz[t, :, :u], drz[t, :, u : 2 * u] = da_z, da_r
                drz[t, :, 2 * u :] = da_h  # kept for dR_h below
                dhd = B.matmul(drz[t, :, : 2 * u], recurrent_kernel[:, : 2 * u].T) + d_rh * r
            dx_z[t, :, :u], dx_z[t, :, u : 2 * u], dx_z[t, :, 2 * u :] = da_z, da_r, da_h
            dh = dh + self._dropped(dhd)
            if dold is not None:
                dh = dh + dold
        rows = time * g_all.shape[1]
        if self.reset_after:
            drec = B.matmul(hd_prev.reshape(rows, u).T, drz.reshape(rows, 3 * u))
        else:
            r_seq = self.saved_gates[:, :, u : 2 * u]
            drec = xp.concatenate(
                [
                    B.matmul(hd_prev.reshape(rows, u).T, drz[:, :, : 2 * u].reshape(rows, 2 * u)),
                    B.matmul(
                        (r_seq * hd_prev).reshape(rows, u).T, drz[:, :, 2 * u :].reshape(rows, u)
                    ),
                ],
                axis=1,
            )
        dx, dkernel, dbias_in = self._input_grads(dx_z, kernel)
        dbias = dbias_in
        if self.reset_after and self.has_bias:
            dbias = xp.stack([dbias_in, drz.reshape(rows, 3 * u).sum(axis=0)])
        return self._pack(True, dx, [dh], dkernel, drec, dbias)

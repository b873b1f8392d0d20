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
from lapenna.autograd import capture, grad_mode
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


# -- LSTM and GRU: gate-major and time-major, in place, blocks of samples on the workers --
#
# LSTM and GRU run per step a (batch, units) x (units, gates * units) GEMM and a dozen
# elementwise products on (batch, units) blocks, so the cost of each numpy call decides
# their speed. Their kernels therefore:
# - keep the gates gate-major and time-major, ``(gates, time, batch, units)``, and the
#   states time-major: each gate's (batch, units) block of a step is contiguous. A numpy
#   call on the column slice of a packed (batch, gates * units) row-major array walks 64
#   short rows and costs about three times as much; the recurrent product fills the gates
#   in this layout directly, as one stacked matmul ``h_{t-1} @ R_k`` over the gates k (the
#   LSTM's takes x_t and the bias in too: ``[x_t, h_{t-1}, 1] @ [W_k; R_k; b_k]``);
# - hand the output back as a batch-major view of the time-major states (no copy);
# - write every elementwise result with ``out=`` into the arrays that keep it (the saved
#   gates, the states) or into a few buffers made once per call: no allocation per step;
# - halve, once per call, the weight and bias columns of every sigmoid gate, so that
#   sigma(z) = (1 + tanh(z / 2)) / 2 is one tanh and two in-place products (the LSTM's
#   four gates share one tanh call), instead of the four calls of 1 / (1 + exp(-z));
# - save nothing for backward when no gradient is wanted (inference);
# - let each worker take a block of samples through all the steps (the rows of a batch
#   never meet): its GEMMs run single-threaded beside the other worker's elementwise work,
#   with no hand-over of BLAS threads at each step.
# Backward keeps the per-step work as small, and leaves the weight gradients to stacked
# GEMMs over all (time * batch) rows after the loop.

_MIN_ROWS = 16  # samples per block below which threads cost more than they save


def _rows_per_block(batch):
    blocks = min(B.workers(), batch // _MIN_ROWS)
    return batch if blocks <= 1 else -(-batch // blocks)


def _activate(name, z, out=None, halved=False):
    """``out = f(z)`` (in place when ``out`` is None). ``halved``: ``z`` is already half the
    pre-activation (the columns were halved), which is what the sigmoid's tanh wants."""
    out = z if out is None else out
    if name == "sigmoid":
        if not halved:
            xp.multiply(z, 0.5, out=out)
            z = out
        xp.tanh(z, out=out)
        out *= 0.5
        out += 0.5
    elif name == "tanh":
        xp.tanh(z, out=out)
    elif name == "relu":
        xp.maximum(z, 0, out=out)
    elif out is not z:  # linear
        out[...] = z
    return out


def _derivative(name, y, out):
    """``out = f'(z)`` written with ``y = f(z)``."""
    if name == "sigmoid":  # y (1 - y)
        xp.subtract(1, y, out=out)
        out *= y
    elif name == "tanh":  # 1 - y^2
        xp.multiply(y, y, out=out)
        xp.subtract(1, out, out=out)
    elif name == "relu":
        xp.greater(y, 0, out=out)
    else:
        out.fill(1)
    return out


def _blend(m, new, old):
    """``new = m new + (1 - m) old`` in place (``m``: the (rows, 1) time-mask column)."""
    new -= old
    new *= m
    new += old


def _per_gate(matrix, gates, order):
    """``(rows, gates * units)`` in Keras's packed layout -> ``(gates, rows, units)``, the
    gates in the kernel's inside ``order`` (a copy)."""
    rows = matrix.shape[0]
    return xp.ascontiguousarray(matrix.reshape(rows, gates, -1)[:, list(order)].transpose(1, 0, 2))


def _packed(per_gate, order):
    """The inverse of ``_per_gate``: ``(gates, rows, units)`` -> ``(rows, gates * units)``."""
    gates, rows, units = per_gate.shape
    out = xp.empty((rows, gates, units), dtype=per_gate.dtype)
    out[:, list(order)] = per_gate.transpose(1, 0, 2)
    return out.reshape(rows, gates * units)


def _stacked(a, b):
    """``a[k] @ b[k]`` for each gate k; a 2-D operand is shared by all gates."""
    if a.ndim == 2:
        a = xp.broadcast_to(a, (b.shape[0], *a.shape))
    if b.ndim == 2:
        b = xp.broadcast_to(b, (a.shape[0], *b.shape))
    return B.matmul(a, b)


class _GatedScan(_Recurrence):
    """What LSTM and GRU share: the per-gate weights with the sigmoid gates halved, the
    blocks of samples, the masks, whether backward will come, and the weight gradients
    after the loop."""

    order = ()  # the inside order of the gates, as Keras's gate numbers

    def _start(self, x, kernel):
        if kernel.shape[0] != x.shape[2]:
            raise ValueError(
                f"{type(self).__name__}: kernel expects {kernel.shape[0]} input features, "
                f"got inputs of shape {x.shape}"
            )
        # no backward will come (inference, no_grad): keep nothing for it. Decided once per
        # node, so that a captured step's replay keeps what its recorded backward reads
        if getattr(self, "saving", None) is None:
            self.saving = grad_mode.is_enabled() and any(p.requires_grad for p in self.parents)

    def _halves(self, dtype):
        """Per gate (inside order), as ``(gates, 1, 1)``: 0.5 where its activation is the
        sigmoid, else 1."""
        names = self._gate_activations()
        return xp.asarray([0.5 if n == "sigmoid" else 1.0 for n in names], dtype=dtype)[
            :, None, None
        ]

    def _projection(self, x, w, b):
        """``X W_k + b_k`` for every gate and step: ``(gates, time, batch, units)``."""
        batch, time, features = x.shape
        x2 = x.transpose(1, 0, 2).reshape(time * batch, features)
        acts = _stacked(x2, w).reshape(w.shape[0], time, batch, w.shape[2])
        if b is not None:
            acts += b[:, None, None, :]
        return acts

    def _blocks(self, fn, batch, mask, rd, dtype):
        """``fn(rows, m, rd)`` for each block of samples, on the workers; ``m`` is the
        block's time mask as (time, n, 1), ``rd`` its recurrent dropout mask."""

        def block(lo, hi):
            rows = slice(lo, hi)
            m = None if mask is None else xp.asarray(mask[rows].T, dtype=dtype)[:, :, None]
            fn(rows, m, None if rd is None else xp.asarray(rd[rows], dtype=dtype))

        B.map_chunks(block, batch, _rows_per_block(batch))

    def _mask_args(self):
        return [a for a in (self.mask, self.recurrent_mask) if a is not None]

    def _unpack_masks(self, arrays):
        arrays = list(arrays)
        mask = arrays.pop(0) if self.mask is not None else None
        return mask, arrays.pop(0) if self.recurrent_mask is not None else None

    def _weight_grads(self, x, h0, hs, dz, w, rd):
        """Per gate k: dX = sum_k dZ_k W_k^T, dW_k = X^T dZ_k, dR_k = H_prev^T dZ_k and
        db_k = sum(dZ_k), stacked GEMMs over all time * batch rows (``dz`` gate-major,
        ``hs`` the hidden states time-major). H_prev is h_0 then ``hs[:-1]``: h_0 meets
        step 0's rows, ``hs[:-1]`` the rows of steps 1 on."""
        batch, time, features = x.shape
        gates, rows, u = dz.shape[0], time * batch, h0.shape[1]
        d2 = dz.reshape(gates, rows, u)
        dx = None
        if self.needs_grad[0]:
            dx = _stacked(d2, w.transpose(0, 2, 1)).sum(axis=0)
            dx = dx.reshape(time, batch, features).transpose(1, 0, 2)
        x2 = x.transpose(1, 0, 2).reshape(rows, features)
        if rd is not None:  # what the recurrent product saw
            h0, hs = h0 * rd, hs * rd
        drec = _stacked(h0.T, dz[:, 0])
        if time > 1:
            drec += _stacked(hs[:-1].reshape(rows - batch, u).T, d2[:, batch:])
        return dx, _stacked(x2.T, d2), drec, d2.sum(axis=1)

    def release(self):
        super().release()
        for name in ("out", "acts", "tcs", "rh"):
            self.__dict__.pop(name, None)


class LSTMScan(_GatedScan):
    """Keras's LSTM, gates ``i, f, c, o``::

        i, f, o = sigma(z_i), sigma(z_f), sigma(z_o);  g = tanh(z_c)
        c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)

    Inputs ``x, h0, c0, kernel, recurrent_kernel[, bias]``; the output stacks the hidden
    and the cell states: ``(2, batch, time, units)``, ``[0]`` is ``h`` and ``[1]`` is
    ``c`` (so the final cell state can be returned).

    Inside, the gates run ``i, f, o, c`` (the cell gate moved last when the weights are cut
    per gate, once per call), so that the three sigmoid gates are one block: one call for
    the three."""

    n_states = 2
    order = (0, 1, 3, 2)

    def _gate_activations(self):
        return [self.recurrent_activation] * 3 + [self.activation]

    def forward(self, x, h0, c0, kernel, recurrent_kernel, *bias):
        self._start(x, kernel)
        batch, time, features = x.shape
        u = h0.shape[1]
        half = self._halves(x.dtype)
        # per gate k, [W_k; R_k; b_k] stacked: every gate of the LSTM is linear in x_t and
        # h_{t-1} together, so each step's pre-activations are one product [x_t, h_{t-1}, 1]
        # [W_k; R_k; b_k] written straight into the gates, with no projection of all steps
        # beforehand (whose stacked GEMMs cost more here than the longer step products) and
        # no addition per step
        parts = [_per_gate(kernel, 4, self.order), _per_gate(recurrent_kernel, 4, self.order)]
        if bias:
            parts.append(_per_gate(bias[0][None], 4, self.order))
        wrb = xp.concatenate(parts, axis=1) * half
        acts = xp.empty((4, time, batch, u), dtype=x.dtype)  # pre-activations, then gates
        states = xp.empty((2, time, batch, u), dtype=x.dtype)  # h and c of every step
        # tanh(c_t) of every step, kept when backward will come
        tcs = xp.empty((time, batch, u), dtype=x.dtype) if self.saving else None

        def block(rows, m, rd):
            self._forward_rows(
                x[rows], h0[rows], c0[rows], wrb, states[:, :, rows], acts[:, :, rows],
                None if tcs is None else tcs[:, rows], m, rd,
            )  # fmt: skip

        self._blocks(block, batch, self.mask, self.recurrent_mask, x.dtype)
        if self.saving:
            self.out, self.acts, self.tcs = states, acts, tcs
        return states.transpose(0, 2, 1, 3)

    def _forward_rows(self, x, h, c, wrb, states, acts, tcs, m, rd):
        """The steps of one block: ``acts`` turns from pre-activations into the gates."""
        time, n, u = states.shape[1:]
        features = x.shape[2]
        # [x_t, h_{t-1} (times the dropout mask), 1]
        xh = xp.ones((n, wrb.shape[1]), dtype=h.dtype)
        x_in, h_in = xh[:, :features], xh[:, features : features + u]
        ig = xp.empty((n, u), dtype=h.dtype)
        fused_tanh = self.recurrent_activation == "sigmoid" and self.activation == "tanh"
        for t in range(time):
            x_in[...] = x[:, t]
            if rd is None:
                h_in[...] = h
            else:
                xp.multiply(h, rd, out=h_in)
            z = acts[:, t]
            xp.matmul(xh, wrb, out=z)  # [x_t, h_{t-1}, 1] [W_k; R_k; b_k] for each gate
            if fused_tanh:  # the usual case: one tanh for the four gates
                xp.tanh(z, out=z)
                s = z[:3]
                s *= 0.5
                s += 0.5
            else:
                _activate(self.recurrent_activation, z[:3], halved=True)
                _activate(self.activation, z[3], halved=True)
            i, f, o, g = z
            h_t, c_t = states[0, t], states[1, t]
            xp.multiply(f, c, out=c_t)
            xp.multiply(i, g, out=ig)
            c_t += ig
            tc = ig if tcs is None else tcs[t]
            _activate(self.activation, c_t, out=tc)
            xp.multiply(o, tc, out=h_t)
            if m is not None:
                _blend(m[t], h_t, h)
                _blend(m[t], c_t, c)
            h, c = h_t, c_t

    def backward(self, grad):
        inputs = [grad.data, *(p.data for p in self.parents[:5])]
        inputs += [self.out, self.acts, self.tcs, *self._mask_args()]
        # one step of a captured plan (see ``autograd.capture``)
        arrays = capture.host("LSTMScanGrad", self._grads, inputs)
        dx, dh0, dc0, dkernel, drec, dbias = arrays if self.needs_grad[0] else (None, *arrays)
        return self._pack(True, dx, [dh0, dc0], dkernel, drec, dbias)

    def _grads(self, g, x, h0, c0, kernel, recurrent_kernel, states, acts, tcs, *masks):
        """The input, state, weight and bias gradients, on arrays."""
        mask, rd = self._unpack_masks(masks)
        w = _per_gate(kernel, 4, self.order)
        rt = _per_gate(recurrent_kernel, 4, self.order).transpose(0, 2, 1).copy()  # R_k^T
        dz = xp.empty_like(acts)  # the gradient of every (true, unhalved) pre-activation
        dh0, dc0 = xp.empty_like(h0), xp.empty_like(c0)
        g = g.transpose(0, 2, 1, 3)  # (2, time, batch, units), as the states inside

        def block(rows, m, rdb):
            self._backward_rows(
                g[:, :, rows], c0[rows], states[:, :, rows], acts[:, :, rows],
                tcs[:, rows], dz[:, :, rows], dh0[rows], dc0[rows], rt, m, rdb,
            )  # fmt: skip

        self._blocks(block, x.shape[0], mask, rd, x.dtype)
        dx, dw, dr, db = self._weight_grads(x, h0, states[0], dz, w, rd)
        grads = (
            dh0,
            dc0,
            _packed(dw, self.order),
            _packed(dr, self.order),
            _packed(db[:, None], self.order)[0],
        )
        return grads if dx is None else (dx, *grads)

    def _backward_rows(self, g, c0, states, acts, tcs, dz, dh, dc, rt, m, rd):
        """Backward through time for one block; ``dh``/``dc`` end as the initial states'
        gradients."""
        time, n, u = tcs.shape
        dh.fill(0)
        dc.fill(0)
        tmp, dc_tot = xp.empty((4, n, u), dtype=g.dtype), xp.empty((n, u), dtype=g.dtype)
        dh_old = dc_old = None
        for t in reversed(range(time)):
            dh += g[0, t]
            dc += g[1, t]
            if m is not None:  # a masked step passes the gradients through to t - 1
                dh_old, dc_old = dh * (1 - m[t]), dc * (1 - m[t])
                dh *= m[t]
                dc *= m[t]
            z, tc, d = acts[:, t], tcs[t], dz[:, t]
            i, f, o, gg = z
            c_prev = c0 if t == 0 else states[1, t - 1]
            # dL/dc_t in all: the cell's own gradient and the one through h_t = o tanh(c_t)
            _derivative(self.activation, tc, dc_tot)
            dc_tot *= o
            dc_tot *= dh
            dc_tot += dc
            # dL/d(i, f, o), then times sigma' for the three at once
            xp.multiply(dc_tot, gg, out=d[0])
            xp.multiply(dc_tot, c_prev, out=d[1])
            xp.multiply(dh, tc, out=d[2])
            d[:3] *= _derivative(self.recurrent_activation, z[:3], tmp[:3])
            # dL/dg
            dg = _derivative(self.activation, gg, d[3])
            dg *= dc_tot
            dg *= i
            # to t - 1: dh = sum_k dZ_k R_k^T (through the dropout mask), dc = dc_t f
            xp.matmul(d, rt, out=tmp)
            xp.sum(tmp, axis=0, out=dh)
            if rd is not None:
                dh *= rd
            xp.multiply(dc_tot, f, out=dc)
            if m is not None:
                dh += dh_old
                dc += dc_old


class GRUScan(_GatedScan):
    """Keras's GRU, gates ``z, r, h``, ``h_t = z h_{t-1} + (1 - z) hh``::

        reset_after=True  (bias (2, 3u): input and recurrent biases)
            hh = tanh(x W_h + b_h + r * (h_{t-1} R_h + b'_h))
        reset_after=False (bias (3u,))
            hh = tanh(x W_h + b_h + (r * h_{t-1}) R_h)

    Inputs ``x, h0, kernel, recurrent_kernel[, bias]``; output ``(batch, time, units)``.
    The recurrent biases of ``z`` and ``r`` only add to the input ones, so they join them
    in the input projection.
    """

    reset_after = True
    order = (0, 1, 2)

    def _gate_activations(self):
        # the h gate is never halved: reset_after's backward needs its recurrent part whole
        return [self.recurrent_activation] * 2 + [None]

    def forward(self, x, h0, kernel, recurrent_kernel, *bias):
        self._start(x, kernel)
        batch, time, _ = x.shape
        u = h0.shape[1]
        half = self._halves(x.dtype)
        w, r = (
            _per_gate(kernel, 3, self.order) * half,
            _per_gate(recurrent_kernel, 3, self.order) * half,
        )
        b_in = b_rec_h = None
        if bias:
            b = bias[0].reshape(-1, 3, u) * half[:, 0]  # (1 or 2, gates, units)
            b_in = b[0].copy()
            if self.reset_after:
                b_in[:2] += b[1, :2]
                b_rec_h = b[1, 2]
        acts = self._projection(x, w, b_in)
        out = xp.empty((time, batch, u), dtype=x.dtype)
        # reset_after: h_{t-1} R_h + b'_h; else r * h_{t-1} (kept for backward)
        rh = xp.empty((time, batch, u), dtype=x.dtype) if self.saving else None

        def block(rows, m, rd):
            self._forward_rows(
                h0[rows], r, b_rec_h, out[:, rows], acts[:, :, rows],
                None if rh is None else rh[:, rows], m, rd,
            )  # fmt: skip

        self._blocks(block, batch, self.mask, self.recurrent_mask, x.dtype)
        if self.saving:
            self.out, self.acts, self.rh = out, acts, rh
        return out.transpose(1, 0, 2)

    def _forward_rows(self, h, r, b_rec_h, out, acts, rh, m, rd):
        time, n, u = out.shape
        rec = xp.empty((3, n, u), dtype=h.dtype)
        hpart, spare = xp.empty((n, u), dtype=h.dtype), xp.empty((n, u), dtype=h.dtype)
        for t in range(time):
            s = acts[:, t]
            hd = h if rd is None else h * rd
            zr, hh = s[:2], s[2]
            keep = spare if rh is None else rh[t]
            if self.reset_after:
                xp.matmul(hd, r, out=rec)
                zr += rec[:2]
                _activate(self.recurrent_activation, zr, halved=True)
                if b_rec_h is None:
                    keep[...] = rec[2]
                else:
                    xp.add(rec[2], b_rec_h, out=keep)
                xp.multiply(zr[1], keep, out=hpart)  # r * (h R_h + b'_h)
            else:
                xp.matmul(hd, r[:2], out=rec[:2])
                zr += rec[:2]
                _activate(self.recurrent_activation, zr, halved=True)
                xp.multiply(zr[1], hd, out=keep)  # r * h
                xp.matmul(keep, r[2], out=hpart)
            hh += hpart
            _activate(self.activation, hh)
            # h_t = z h_{t-1} + (1 - z) hh = hh + z (h_{t-1} - hh)
            h_t = out[t]
            xp.subtract(h, hh, out=h_t)
            h_t *= zr[0]
            h_t += hh
            if m is not None:
                _blend(m[t], h_t, h)
            h = h_t

    def backward(self, grad):
        inputs = [grad.data, *(p.data for p in self.parents[:4])]
        inputs += [self.out, self.acts, self.rh, *self._mask_args()]
        # one step of a captured plan (see ``autograd.capture``)
        arrays = capture.host("GRUScanGrad", self._grads, inputs)
        dx, dh0, dkernel, drec, dbias = arrays if self.needs_grad[0] else (None, *arrays)
        return self._pack(self.has_bias, dx, [dh0], dkernel, drec, dbias)

    def _grads(self, g, x, h0, kernel, recurrent_kernel, out, acts, rh, *masks):
        """The input, state, weight and bias gradients, on arrays.

        Per step the gradients of the pre-activations are kept as the gates ``[dz, dr,
        dh_rec, dh_in]`` with reset_after (the h gate's recurrent side is ``r`` times its
        input side; the first three are what ``R`` sees), as ``[dz, dr, dh]`` without."""
        u = h0.shape[1]
        mask, rd = self._unpack_masks(masks)
        dz = xp.empty((4 if self.reset_after else 3, *acts.shape[1:]), dtype=acts.dtype)
        dh0 = xp.empty_like(h0)
        w = _per_gate(kernel, 3, self.order)
        rt = _per_gate(recurrent_kernel, 3, self.order).transpose(0, 2, 1).copy()  # R_k^T
        g = g.transpose(1, 0, 2)  # time-major, as everything inside

        def block(rows, m, rdb):
            self._backward_rows(
                g[:, rows], h0[rows], out[:, rows], acts[:, :, rows], rh[:, rows],
                dz[:, :, rows], dh0[rows], rt, m, rdb,
            )  # fmt: skip

        self._blocks(block, x.shape[0], mask, rd, x.dtype)
        if self.reset_after:
            # the input side: [dz, dr, dh_in] against W_z, W_r, W_h (a zero gate for dh_rec)
            w4 = xp.concatenate([w[:2], xp.zeros_like(w[:1]), w[2:]])
            dx, dw4, drec, sums = self._weight_grads(x, h0, out, dz, w4, rd)
            dw = dw4[[0, 1, 3]]
            drec = drec[:3]
            dbias = xp.stack([sums[[0, 1, 3]].reshape(-1), sums[:3].reshape(-1)])
        else:
            dx, dw, drec, sums = self._weight_grads(x, h0, out, dz, w, rd)
            # R_h saw r * h_{t-1}, not h_{t-1}
            rows = rh.shape[0] * rh.shape[1]
            drec[2] = B.matmul(rh.reshape(rows, u).T, dz[2].reshape(rows, u))
            dbias = sums.reshape(-1)
        grads = (dh0, _packed(dw, self.order), _packed(drec, self.order), dbias)
        return grads if dx is None else (dx, *grads)

    def _backward_rows(self, g, h0, out, acts, rh, dz, dh, rt, m, rd):
        time, n, u = out.shape
        dh.fill(0)
        tmp, back = xp.empty((3, n, u), dtype=g.dtype), xp.empty((n, u), dtype=g.dtype)
        h_in = 3 if self.reset_after else 2  # the h gate's input side
        dh_old = None
        for t in reversed(range(time)):
            dh += g[t]
            if m is not None:  # a masked step passes the gradient through to t - 1
                dh_old = dh * (1 - m[t])
                dh *= m[t]
            s, d = acts[:, t], dz[:, t]
            z, r, hh = s
            h_prev = h0 if t == 0 else out[t - 1]
            d_z, d_r, d_h = d[0], d[1], d[h_in]
            # dL/d(hh's pre-activation) = dh (1 - z) tanh'(hh)
            _derivative(self.activation, hh, d_h)
            xp.subtract(1, z, out=back)
            d_h *= back
            d_h *= dh
            # dL/dz = dh (h_{t-1} - hh), times sigma' below
            xp.subtract(h_prev, hh, out=d_z)
            d_z *= dh
            if self.reset_after:
                # dL/dr = d_h (h_{t-1} R_h + b'_h); the recurrent side of the h gate: d_h r
                xp.multiply(d_h, rh[t], out=d_r)
                xp.multiply(d_h, r, out=d[2])
                d[:2] *= _derivative(self.recurrent_activation, s[:2], tmp[:2])
                xp.matmul(d[:3], rt, out=tmp)
                xp.sum(tmp, axis=0, out=back)
            else:
                # the gradient of r * h_{t-1} is d_h R_h^T
                xp.matmul(d_h, rt[2], out=back)
                xp.multiply(back, h_prev if rd is None else h_prev * rd, out=d_r)
                back *= r  # dL/d(h_{t-1}) through r * h_{t-1}
                d[:2] *= _derivative(self.recurrent_activation, s[:2], tmp[:2])
                xp.matmul(d[:2], rt[:2], out=tmp[:2])
                back += tmp[0]
                back += tmp[1]
            if rd is not None:
                back *= rd
            # to t - 1: through h_t = z h_{t-1} + ... and through the recurrent product
            dh *= z
            dh += back
            if m is not None:
                dh += dh_old

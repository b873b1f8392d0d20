"""Recurrences over whole sequences: ``simple_rnn``, ``lstm``, ``gru``.

Each runs one fused primitive (``autograd/functions/recurrent.py``): the input projection
of every time step is one GEMM, only the recurrent product runs per step, and backward
through time reuses the saved gate activations. Weights use Keras's layouts.
"""

from lapenna import backend as B
from lapenna.autograd import Tensor, as_tensor
from lapenna.autograd.functions import recurrent as R

FUSED_ACTIVATIONS = R.FUSED_ACTIVATIONS


def _check(op, x, states, kernel, recurrent_kernel, gates, activations, mask, recurrent_mask):
    x = as_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"{op} expects inputs of shape (batch, time, features), got {x.shape}")
    if not B.is_float_dtype(x.dtype):
        raise TypeError(f"{op} expects floating-point inputs, got dtype {x.dtype}")
    kernel, recurrent_kernel = as_tensor(kernel, x), as_tensor(recurrent_kernel, x)
    units = recurrent_kernel.shape[0]
    if kernel.shape != (x.shape[2], gates * units) or recurrent_kernel.shape != (
        units,
        gates * units,
    ):
        raise ValueError(
            f"{op} expects kernel ({x.shape[2]}, {gates * units}) and recurrent_kernel "
            f"({units}, {gates * units}), got {kernel.shape} and {recurrent_kernel.shape}"
        )
    states = [as_tensor(s, x) for s in states]
    for s in states:
        if s.shape != (x.shape[0], units):
            raise ValueError(
                f"{op} expects initial states of shape ({x.shape[0]}, {units}), got {s.shape}"
            )
    for name in activations:
        if name not in FUSED_ACTIVATIONS:
            raise ValueError(
                f"{op}: activation must be one of {sorted(FUSED_ACTIVATIONS)}, got {name!r}"
            )
    if mask is not None:
        mask = B.as_array(mask.data if isinstance(mask, Tensor) else mask)
        if mask.shape != x.shape[:2]:
            raise ValueError(
                f"{op} expects a mask of shape {x.shape[:2]} (batch, time), got {mask.shape}"
            )
    if recurrent_mask is not None:
        recurrent_mask = B.as_array(
            recurrent_mask.data if isinstance(recurrent_mask, Tensor) else recurrent_mask
        )
        if recurrent_mask.shape != (x.shape[0], units):
            raise ValueError(
                f"{op} expects a recurrent dropout mask of shape ({x.shape[0]}, {units}), "
                f"got {recurrent_mask.shape}"
            )
    return x, states, kernel, recurrent_kernel, mask, recurrent_mask


def simple_rnn(
    x,
    initial_state,
    kernel,
    recurrent_kernel,
    bias=None,
    activation="tanh",
    mask=None,
    recurrent_mask=None,
):
    """Every hidden state of ``h_t = activation(x_t W + b + h_{t-1} R)``.

    Args:
        x: ``(batch, time, features)``.
        initial_state: ``h_0``, ``(batch, units)``.
        kernel: ``(features, units)``; recurrent_kernel ``(units, units)``; bias ``(units,)``.
        activation: ``"tanh"``, ``"sigmoid"``, ``"relu"`` or ``"linear"``.
        mask: optional ``(batch, time)`` of 0/1: at a 0 the state is carried unchanged.
        recurrent_mask: optional ``(batch, units)`` multiplying ``h_{t-1}`` in the
            recurrent product (recurrent dropout).

    Returns:
        ``(batch, time, units)``.
    """
    x, states, k, rk, mask, rmask = _check(
        "simple_rnn",
        x,
        [initial_state],
        kernel,
        recurrent_kernel,
        1,
        [activation],
        mask,
        recurrent_mask,
    )
    extra = [] if bias is None else [as_tensor(bias, x)]
    return R.SimpleRNNScan.apply(
        x,
        *states,
        k,
        rk,
        *extra,
        activation=activation,
        mask=mask,
        recurrent_mask=rmask,
        has_bias=bias is not None,
    )


def lstm(
    x,
    initial_state,
    kernel,
    recurrent_kernel,
    bias=None,
    activation="tanh",
    recurrent_activation="sigmoid",
    mask=None,
    recurrent_mask=None,
):
    """Every hidden and cell state of Keras's LSTM (gates ``i, f, c, o``).

    Args:
        x: ``(batch, time, features)``.
        initial_state: ``[h_0, c_0]``, each ``(batch, units)``.
        kernel: ``(features, 4 units)``; recurrent_kernel ``(units, 4 units)``; bias
            ``(4 units,)``.
        activation, recurrent_activation, mask, recurrent_mask: as in ``simple_rnn``.

    Returns:
        ``(hs, cs)``, each ``(batch, time, units)``.
    """
    x, states, k, rk, mask, rmask = _check(
        "lstm",
        x,
        list(initial_state),
        kernel,
        recurrent_kernel,
        4,
        [activation, recurrent_activation],
        mask,
        recurrent_mask,
    )
    if len(states) != 2:
        raise ValueError(f"lstm expects two initial states [h, c], got {len(states)}")
    extra = [] if bias is None else [as_tensor(bias, x)]
    both = R.LSTMScan.apply(
        x,
        *states,
        k,
        rk,
        *extra,
        activation=activation,
        recurrent_activation=recurrent_activation,
        mask=mask,
        recurrent_mask=rmask,
        has_bias=bias is not None,
    )
    return both[0], both[1]


def gru(
    x,
    initial_state,
    kernel,
    recurrent_kernel,
    bias=None,
    activation="tanh",
    recurrent_activation="sigmoid",
    reset_after=True,
    mask=None,
    recurrent_mask=None,
):
    """Every hidden state of Keras's GRU (gates ``z, r, h``).

    Args:
        x: ``(batch, time, features)``.
        initial_state: ``h_0``, ``(batch, units)``.
        kernel: ``(features, 3 units)``; recurrent_kernel ``(units, 3 units)``; bias
            ``(2, 3 units)`` when ``reset_after`` (input and recurrent biases), else
            ``(3 units,)``.
        reset_after: apply the reset gate after the recurrent product (Keras's default,
            cuDNN's form) or before it.
        activation, recurrent_activation, mask, recurrent_mask: as in ``simple_rnn``.

    Returns:
        ``(batch, time, units)``.
    """
    x, states, k, rk, mask, rmask = _check(
        "gru",
        x,
        [initial_state],
        kernel,
        recurrent_kernel,
        3,
        [activation, recurrent_activation],
        mask,
        recurrent_mask,
    )
    extra = []
    if bias is not None:
        bias = as_tensor(bias, x)
        want = (2, k.shape[1]) if reset_after else (k.shape[1],)
        if bias.shape != want:
            raise ValueError(f"gru expects a bias of shape {want}, got {bias.shape}")
        extra = [bias]
    return R.GRUScan.apply(
        x,
        *states,
        k,
        rk,
        *extra,
        activation=activation,
        recurrent_activation=recurrent_activation,
        reset_after=bool(reset_after),
        mask=mask,
        recurrent_mask=rmask,
        has_bias=bias is not None,
    )

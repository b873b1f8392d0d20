"""Recurrent layers: the generic ``RNN(cell)`` and Keras's ``SimpleRNN``, ``LSTM``, ``GRU``.

``RNN`` runs a cell over the time axis. For the built-in cells with activations the fused
kernels know (tanh, sigmoid, relu, linear) it calls one fused primitive per sequence
(``ops.simple_rnn``/``lstm``/``gru``: the input projection of all steps is one GEMM,
backward through time reuses the saved gates); otherwise it loops over time calling the
cell, which is built from ops and therefore has second derivatives.

Masks (from ``Embedding(mask_zero=True)`` or ``Masking``) flow in as ``(batch, time)``
booleans: at a masked step the states are carried unchanged and the output repeats the
previous one (zeros before the first valid step), exactly as Keras 3 does.
"""

from lapenna import activations, ops
from lapenna import backend as B
from lapenna.autograd import Tensor
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.rnn_cells import (
    GRUCell,
    LSTMCell,
    SimpleRNNCell,
    _initial_state,
    deserialize_cell,
)
from lapenna.ops.recurrent import FUSED_ACTIVATIONS
from lapenna.utils import get_registry, to_snake_case


def fold_initial_state(inputs, kwargs):
    """Initial states given to a call travel as extra inputs ``[sequences, *states]`` (Keras
    2's rule), so a graph model records them as edges: an encoder's final states can feed
    a decoder. Removes ``initial_state`` from ``kwargs``."""
    state = kwargs.pop("initial_state", None)
    if state is None:
        return inputs
    return [inputs, *(list(state) if isinstance(state, list | tuple) else [state])]


def unfold_initial_state(inputs, mask=None):
    """``(sequences, initial_state or None, sequence mask)`` from a call's inputs."""
    if isinstance(mask, list | tuple):
        mask = mask[0]
    if isinstance(inputs, list | tuple):
        return inputs[0], list(inputs[1:]) or None, mask
    return inputs, None, mask


def _first_shape(input_shape):
    return input_shape[0] if isinstance(input_shape, list) else input_shape


def _state_sizes(cell):
    return cell.state_size if isinstance(cell.state_size, list) else [cell.state_size]


def _sample(size):
    """One sample's shape for a state or output size: ``units`` or a tuple (conv cells)."""
    return tuple(size) if isinstance(size, tuple | list) else (size,)


@register_layer
class RNN(Layer):
    """Run a recurrent cell over the time axis (Keras's ``RNN``).

    Args:
        cell: a cell (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``, a user layer with
            ``state_size`` and ``call(inputs, states)`` returning ``(output, new_states)``),
            or a list of cells (stacked).
        return_sequences: return the output of every step, not only the last.
        return_state: also return the final states (a list ``[output, *states]``).
        go_backwards: process the sequence in reverse (the outputs stay in processing order).
        stateful: carry the final states of a batch into the next call as initial states
            (same batch size each call; ``reset_state()`` zeroes them). As in Keras 3, the
            carried states are not weights: files (``save``, ``save_weights``,
            checkpoints) leave them out, so a loaded model starts from zero states, while
            ``load_weights`` into a model keeps the states it carries.
        unroll: accepted for Keras compatibility; the loop is the same either way.
        zero_output_for_mask: output zeros at masked steps instead of repeating.

    Call arguments:
        inputs: ``(batch, time, features)``.
        initial_state: a list of ``(batch, state_size)`` tensors.
        mask: ``(batch, time)`` booleans; taken from the input when a layer made one.
        training: turns dropout on.

    Input shape:
        ``(batch, time, features)``.

    Output shape:
        ``(batch, time, units)`` with ``return_sequences``, else ``(batch, units)``; with
        ``return_state`` a list ``[output, state_1, ...]``.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.RNN(lp.layers.LSTMCell(4), return_sequences=True)
        >>> layer(lp.backend.xp.ones((2, 5, 3), dtype="float32")).shape
        (2, 5, 4)
    """

    supports_masking = True
    input_ndim = 3  # (batch, time, features); ConvLSTM2D takes (batch, time, h, w, c)

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.cell = deserialize_cell(cell)
        # a cell on images (ConvLSTM2DCell) runs over (batch, time, h, w, c)
        self.input_ndim = getattr(self.cell, "sequence_ndim", self.input_ndim)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.states = None

    def __call__(self, inputs, *args, **kwargs):
        return super().__call__(fold_initial_state(inputs, kwargs), *args, **kwargs)

    def build(self, input_shape):
        input_shape = _first_shape(input_shape)
        if len(input_shape) != self.input_ndim:
            raise ValueError(self._shape_error(input_shape))
        self.cell._maybe_build((input_shape[0], *input_shape[2:]))
        # Keras's weight paths, "lstm/lstm_cell/kernel": stable when a saved model is rebuilt
        for w in self.cell.weights:
            if not w.path.startswith(f"{self.name}/"):
                w.path = f"{self.name}/{w.path}"

    def reset_state(self):
        """Zero the carried states of a stateful layer."""
        if self.states is not None:
            self.states = [Tensor(B.xp.zeros_like(s.data)) for s in self.states]

    reset_states = reset_state  # the Keras 2 name, which Keras 3 keeps

    # -- the call, in steps --------------------------------------------------------------
    def call(self, inputs, mask=None, training=None):
        sequences, initial_state, mask = unfold_initial_state(inputs, mask)
        # 1. check and gather the initial states and the mask
        if sequences.ndim != self.input_ndim:
            raise ValueError(self._shape_error(sequences.shape))
        batch = sequences.shape[0]
        states = self._initial_states(batch, initial_state, sequences.dtype)
        mask = self._check_mask(mask, sequences.shape)
        # 2. the processing order
        if self.go_backwards:
            sequences = sequences[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        # 3. the recurrence: fused when the cell allows, else the cell step by step
        dtype = sequences.dtype
        if hasattr(self.cell, "draw_dropout_masks"):
            self.cell.draw_dropout_masks(batch, sequences.shape[2], dtype, training)
        try:
            fused = _fused(self.cell, sequences, states, mask)
            outputs, final = (
                fused if fused is not None else self._loop(sequences, states, mask, training)
            )
        finally:
            if hasattr(self.cell, "reset_dropout_masks"):
                self.cell.reset_dropout_masks()
        # 4. outputs at masked steps: the previous output (zeros before the first valid)
        if mask is not None:
            keep = mask if self.zero_output_for_mask else B.xp.maximum.accumulate(mask, axis=1)
            keep = keep.reshape(keep.shape + (1,) * (outputs.ndim - 2))
            outputs = outputs * Tensor(keep.astype(dtype))
        if self.stateful:
            self.states = [Tensor(s.data.copy()) for s in final]
        output = outputs if self.return_sequences else outputs[:, -1]
        return [output, *final] if self.return_state else output

    def _shape_error(self, shape):
        axes = "(batch, time, features)" if self.input_ndim == 3 else "(batch, time, h, w, c)"
        return (
            f"{type(self).__name__} '{self.name}' expects inputs of shape {axes}, got shape "
            f"{tuple(shape)}"
        )

    def _initial_states(self, batch, initial_state, dtype):
        sizes = _state_sizes(self.cell)
        if initial_state is None:
            if self.stateful and self.states is not None:
                if self.states[0].shape[0] != batch:
                    raise ValueError(
                        f"{type(self).__name__} '{self.name}' is stateful with batch size "
                        f"{self.states[0].shape[0]}, got a batch of {batch}"
                    )
                return list(self.states)
            return _initial_state(self.cell, batch, dtype)
        states = list(initial_state) if isinstance(initial_state, list | tuple) else [initial_state]
        if len(states) != len(sizes):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects {len(sizes)} initial states, "
                f"got {len(states)}"
            )
        out = []
        for s, size in zip(states, sizes):
            s = s if isinstance(s, Tensor) else Tensor(B.as_array(s, dtype))
            want = (batch, *_sample(size))
            if s.shape != want:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}' expects initial states of shape "
                    f"{want}, got {s.shape}"
                )
            out.append(s)
        return out

    def _check_mask(self, mask, shape):
        if mask is None:
            return None
        mask = B.as_array(mask.data if isinstance(mask, Tensor) else mask)
        if mask.shape != tuple(shape[:2]):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects a mask of shape "
                f"{tuple(shape[:2])} (batch, time), got {mask.shape}"
            )
        return mask.astype(bool)

    def _loop(self, sequences, states, mask, training):
        """The cell step by step (``ops`` only, so second derivatives work)."""
        outputs, prev = [], None
        for t in range(sequences.shape[1]):
            out, new_states = self.cell(sequences[:, t], states, training=training)
            new_states = list(new_states) if isinstance(new_states, list | tuple) else [new_states]
            if mask is not None:
                m = mask[:, t].reshape((-1,) + (1,) * (out.ndim - 1))
                m = Tensor(m.astype(sequences.dtype))
                prev = out * 0 if prev is None else prev
                out = m * out + (1 - m) * prev
                new_states = [m * n + (1 - m) * s for n, s in zip(new_states, states)]
            outputs.append(out)
            states, prev = new_states, out
        return ops.stack(outputs, axis=1), states

    # -- shapes, masks, config -----------------------------------------------------------
    def compute_output_shape(self, input_shape):
        input_shape = _first_shape(input_shape)
        batch, time = input_shape[0], input_shape[1]
        units = _sample(self.cell.output_size)
        out = (batch, time, *units) if self.return_sequences else (batch, *units)
        if not self.return_state:
            return out
        return [out, *[(batch, *_sample(s)) for s in _state_sizes(self.cell)]]

    def macs(self, input_shape, output_shape):
        """Per sample: ``time * (features + units) * gates * units`` (built-in cells)."""
        input_shape = _first_shape(input_shape)
        gates = getattr(self.cell, "gates", None)
        if gates is None or input_shape[1] is None:
            return 0
        units = self.cell.units
        return input_shape[1] * (input_shape[2] + units) * gates * units

    def compute_mask(self, inputs, mask=None):
        mask = unfold_initial_state(inputs, mask)[2]
        out = mask if self.return_sequences and mask is not None else None
        if isinstance(out, Tensor):
            out = out.data
        if self.return_state:
            return [out] + [None] * len(_state_sizes(self.cell))
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "cell": get_registry("layers").serialize(self.cell, strict=True),
            **self._loop_config(),
        }

    def _loop_config(self):
        return {
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cell"] = get_registry("layers").deserialize(config["cell"], custom_objects)
        return cls(**config)


def _fused(cell, x, states, mask):
    """The fused primitive for a built-in cell, or None when the cell needs the loop."""
    kind = type(cell)
    if kind not in (SimpleRNNCell, LSTMCell, GRUCell):
        return None
    names = [activations.serialize(cell.activation)]
    if kind is not SimpleRNNCell:
        names.append(activations.serialize(cell.recurrent_activation))
    if not all(n in FUSED_ACTIVATIONS for n in names):
        return None
    x_mask, h_mask = cell._dropout_masks or (None, None)
    if x_mask is not None:
        x = x * Tensor(x_mask[:, None, :])
    args = dict(bias=cell.bias, mask=mask, recurrent_mask=h_mask, activation=names[0])
    if kind is SimpleRNNCell:
        hs = ops.simple_rnn(x, states[0], cell.kernel, cell.recurrent_kernel, **args)
        return hs, [hs[:, -1]]
    if kind is LSTMCell:
        hs, cs = ops.lstm(
            x, states, cell.kernel, cell.recurrent_kernel, recurrent_activation=names[1], **args
        )
        return hs, [hs[:, -1], cs[:, -1]]
    hs = ops.gru(
        x,
        states[0],
        cell.kernel,
        cell.recurrent_kernel,
        recurrent_activation=names[1],
        reset_after=cell.reset_after,
        **args,
    )
    return hs, [hs[:, -1]]


class _KerasRecurrent(RNN):
    """The shared body of SimpleRNN, LSTM and GRU: a cell built from the layer's own
    arguments, a config that lists them flat (as Keras writes it)."""

    cell_class = None

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        seed=None,
        activity_regularizer=None,
        _cell_args=None,
        **kwargs,
    ):
        # Keras names the cell after its class ("lstm_cell"); its weights' paths start
        # with the layer's name, so the cell's own name need not be unique
        cell = self.cell_class(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            dtype=kwargs.get("dtype"),
            name=to_snake_case(self.cell_class.__name__),
            **(_cell_args or {}),
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )
        if activity_regularizer is not None:
            raise ValueError(f"{type(self).__name__} does not support activity_regularizer")

    @property
    def units(self):
        return self.cell.units

    def get_config(self):
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        return {**Layer.get_config(self), **cell_config, **self._loop_config()}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


@register_layer
class SimpleRNN(_KerasRecurrent):
    """A fully connected recurrent layer, ``h_t = tanh(x_t W + b + h_{t-1} R)``
    (Keras's ``SimpleRNN``). Weights: ``kernel (features, units)``, ``recurrent_kernel
    (units, units)``, ``bias (units,)``; SimpleRNN(32) on 8 inputs has 1,312.

    Args:
        units: the hidden size. Cell arguments (``activation``, initializers, regularizers,
            constraints, ``dropout``, ``recurrent_dropout``, ``seed``) as in
            ``SimpleRNNCell``; loop arguments as in ``RNN``.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.SimpleRNN(32)
        >>> layer(lp.backend.xp.ones((2, 5, 8), dtype="float32")).shape, layer.count_params()
        ((2, 32), 1312)
    """

    cell_class = SimpleRNNCell


@register_layer
class LSTM(_KerasRecurrent):
    """Long short-term memory (Keras's ``LSTM``; gates ``i, f, c, o``). Weights:
    ``kernel (features, 4 units)``, ``recurrent_kernel (units, 4 units)``, ``bias (4
    units,)`` with the forget part starting at 1 (``unit_forget_bias``); LSTM(32) on 8
    inputs has 5,248.

    Args:
        units: the hidden size. Cell arguments (``activation``, ``recurrent_activation``,
            ``unit_forget_bias``, initializers...) as in ``LSTMCell``; loop arguments as in
            ``RNN``. ``return_state`` returns ``[output, h, c]``.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.LSTM(32, return_state=True)
        >>> out, h, c = layer(lp.backend.xp.ones((2, 5, 8), dtype="float32"))
        >>> out.shape, c.shape, layer.count_params()
        ((2, 32), (2, 32), 5248)
    """

    cell_class = LSTMCell

    def __init__(self, units, recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        extra = {"recurrent_activation": recurrent_activation, "unit_forget_bias": unit_forget_bias}
        super().__init__(units, _cell_args=extra, **kwargs)


@register_layer
class GRU(_KerasRecurrent):
    """Gated recurrent unit (Keras's ``GRU``; gates ``z, r, h``). Weights: ``kernel
    (features, 3 units)``, ``recurrent_kernel (units, 3 units)``, ``bias (2, 3 units)``
    with ``reset_after=True`` (the default), ``(3 units,)`` without; GRU(32) on 8 inputs
    has 4,032 (3,936 with ``reset_after=False``).

    Args:
        units: the hidden size. Cell arguments (``reset_after``, ``activation``,
            ``recurrent_activation``...) as in ``GRUCell``; loop arguments as in ``RNN``.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.GRU(32, reset_after=False)
        >>> layer(lp.backend.xp.ones((2, 5, 8), dtype="float32")).shape, layer.count_params()
        ((2, 32), 3936)
    """

    cell_class = GRUCell

    def __init__(self, units, recurrent_activation="sigmoid", reset_after=True, **kwargs):
        extra = {"recurrent_activation": recurrent_activation, "reset_after": reset_after}
        super().__init__(units, _cell_args=extra, **kwargs)

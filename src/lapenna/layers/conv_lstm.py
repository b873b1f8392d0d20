"""``ConvLSTM2D``: an LSTM whose products are convolutions (Shi et al., "Convolutional LSTM
Network", NeurIPS 2015), for sequences of images ``(batch, time, height, width,
channels)``.

Every gate is ``conv(x_t, W) + conv(h_{t-1}, R) + b``: the input convolution uses the
layer's strides, padding and dilation, the recurrent one stride 1 and "same" padding, so
the state keeps the output's spatial size. Weights in Keras's layout: ``kernel (kh, kw,
channels, 4 filters)``, ``recurrent_kernel (kh, kw, filters, 4 filters)``, ``bias (4
filters,)``, gates ``i, f, c, o``.

The input convolution does not depend on the state and could run once over the ``time *
batch`` frames, as the dense LSTM's input projection does; here it runs per step, which
measured faster to train (the graph gives each step's slice of a whole-sequence result a
gradient the size of the whole sequence). Everything is written with ops (``conv2d``), so
the layer has second derivatives.

Dropout follows Keras 3: in training, ``dropout`` draws four masks of the input frame's
shape ``(batch, height, width, channels)``, one per gate, and ``recurrent_dropout`` four of
the state's shape; each gate's convolution sees its own masked copy, and the masks are drawn
once per call (the same for every time step), from the layer's ``seed`` or from the seeded
``noise`` stream (``lapenna.set_seed``).
"""

import math

from lapenna import backend as B
from lapenna import ops
from lapenna.autograd import Tensor
from lapenna.layers.base import register_layer
from lapenna.layers.rnn import _KerasRecurrent
from lapenna.layers.rnn_cells import LSTMCell

GATES = 4  # i, f, c, o


def _pair(value, name):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(f"ConvLSTM2D expects {name} as a positive int or two, got {value!r}")
    return pair


def _side_by_side(x, mask):
    """The four gates' dropped copies of ``x (..., c)`` side by side on the channel axis,
    ``(..., 4 c)``, from a ``(batch, h, w, 4, c)`` mask that broadcasts over leading axes
    (time). A convolution with ``groups=4`` then gives each gate its own copy, and the
    Keras kernel ``(kh, kw, c, 4 filters)`` is already the grouped kernel's layout."""
    y = ops.expand_dims(x, -2) * Tensor(mask)
    return y.reshape((*x.shape[:-1], GATES * x.shape[-1]))


@register_layer
class ConvLSTM2DCell(LSTMCell):
    """One step of the convolutional LSTM on ``(batch, height, width, channels)`` inputs.

    Args:
        filters: the state's channels.
        kernel_size, strides, padding (``"valid"``/``"same"``), dilation_rate: of the input
            convolution (the recurrent one is stride 1, "same"); strides and dilation
            cannot both exceed 1 (as in Keras).
        dropout, recurrent_dropout: fractions of the input frame and of the state dropped,
            one mask per gate, fixed for a sequence (Keras's semantics).
        Others: as in ``LSTMCell``.

    ``RNN(ConvLSTM2DCell(...))`` runs it over ``(batch, time, height, width, channels)``
    one step at a time and gives the same numbers as ``ConvLSTM2D``.
    """

    sequence_ndim = 5  # what RNN runs it over: (batch, time, height, width, channels)

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, **kwargs):
        super().__init__(filters, **kwargs)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f"ConvLSTM2D expects padding 'valid' or 'same', got {padding!r}")
        self.filters = filters
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.dilation_rate = _pair(dilation_rate, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "ConvLSTM2D cannot combine strides > 1 with dilation_rate > 1, got "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}"
            )
        self.padding = padding.lower()
        self._frame_shape = None  # (height, width, channels) of one input frame
        self._state_shape = None

    @property
    def state_size(self):
        return [self._state_shape, self._state_shape]

    @property
    def output_size(self):
        return self._state_shape

    def build(self, input_shape):
        _, height, width, channels = input_shape
        four = GATES * self.filters
        self.kernel = self.add_weight(
            "kernel",
            (*self.kernel_size, channels, four),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel",
            (*self.kernel_size, self.filters, four),
            self.recurrent_initializer,
            self.recurrent_regularizer,
            self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", (four,), self._bias_init(), self.bias_regularizer, self.bias_constraint
            )
        sizes = [
            self._out_size(n, k, s, d)
            for n, k, s, d in zip(
                (height, width), self.kernel_size, self.strides, self.dilation_rate
            )
        ]
        self._frame_shape = (height, width, channels)
        self._state_shape = (*sizes, self.filters)

    def _out_size(self, n, k, s, d):
        if self.padding == "same":
            return math.ceil(n / s)
        return (n - d * (k - 1) - 1) // s + 1

    # -- dropout: four masks per call, one per gate (Keras's DropoutRNNCell) --------------
    def draw_dropout_masks(self, batch, features, dtype, training):
        """Fix the masks for the next sequence: one per gate for the input frame and for the
        state, laid out ``(batch, h, w, 4, c)`` for the grouped convolutions, or None when
        off. ``features`` (the dense cells' width) is not used: the shapes are the frame's
        and the state's."""
        masks = [None, None]
        if training:
            for i, (rate, shape) in enumerate(
                [(self.dropout, self._frame_shape), (self.recurrent_dropout, self._state_shape)]
            ):
                if rate > 0:
                    drawn = B.dropout_mask((GATES, batch, *shape), rate, dtype, self.generator())
                    masks[i] = B.xp.ascontiguousarray(B.xp.moveaxis(drawn, 0, -2))
        self._dropout_masks = tuple(masks)
        return self._dropout_masks

    # -- the two convolutions -------------------------------------------------------------
    def input_convolution(self, frames, mask=None):
        """``conv(x, W) + b`` for frames ``(..., h, w, c)`` (any leading axes): one
        convolution with all ``4 filters`` over every frame; with a dropout mask, one
        grouped convolution of the gates' four dropped copies."""
        groups = 1
        if mask is not None:
            frames, groups = _side_by_side(frames, mask), GATES
        lead = frames.shape[:-3]
        z = ops.conv2d(
            frames.reshape((math.prod(lead), *frames.shape[-3:])),
            self.kernel,
            self.bias,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            groups=groups,
        )
        return z.reshape((*lead, *z.shape[1:]))

    def step(self, z_x, states, mask=None):
        """One step from the input convolution's share ``z_x``: adds ``conv(h_{t-1}, R)``
        (stride 1, "same"; grouped over the four dropped copies of ``h`` with a recurrent
        dropout mask) and applies the LSTM update."""
        h, c = states
        groups = 1
        if mask is not None:
            h, groups = _side_by_side(h, mask), GATES
        z = z_x + ops.conv2d(h, self.recurrent_kernel, padding="same", groups=groups)
        f = self.filters
        i = self.recurrent_activation(z[..., :f])
        forget = self.recurrent_activation(z[..., f : 2 * f])
        g = self.activation(z[..., 2 * f : 3 * f])
        o = self.recurrent_activation(z[..., 3 * f :])
        c = forget * c + i * g
        h = o * self.activation(c)
        return h, [h, c]

    def call(self, inputs, states, training=None):
        masks = self._dropout_masks
        if masks is None:  # a lone step draws fresh masks
            masks = self.draw_dropout_masks(inputs.shape[0], None, inputs.dtype, training)
            self._dropout_masks = None
        x_mask, h_mask = masks
        return self.step(self.input_convolution(inputs, x_mask), states, h_mask)

    def get_config(self):
        config = super().get_config()
        config.pop("units")
        return {
            **config,
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "dilation_rate": list(self.dilation_rate),
        }


@register_layer
class ConvLSTM2D(_KerasRecurrent):
    """A convolutional LSTM layer (Keras's ``ConvLSTM2D``, channels last).

    Args:
        filters, kernel_size, strides=1, padding="valid", dilation_rate=1: of the input
            convolution (strides and dilation cannot both exceed 1, as in Keras).
        dropout, recurrent_dropout: fractions of the input frames and of the state dropped
            in training, one mask per gate, drawn once per call (Keras's semantics);
            ``seed`` seeds them.
        Other cell arguments as in ``LSTMCell``; loop arguments (``return_sequences``,
        ``return_state``, ``go_backwards``, ``stateful``) as in ``RNN``.

    Input shape:
        ``(batch, time, height, width, channels)``.

    Output shape:
        ``(batch, [time,] height', width', filters)``.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True)
        >>> layer(lp.backend.xp.ones((2, 5, 8, 8, 1), dtype="float32")).shape
        (2, 5, 8, 8, 4)
    """

    cell_class = ConvLSTM2DCell
    input_ndim = 5

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        recurrent_activation="sigmoid",
        unit_forget_bias=True,
        **kwargs,
    ):
        if data_format not in (None, "channels_last"):
            raise ValueError(f"ConvLSTM2D is channels last, got data_format={data_format!r}")
        extra = {
            "kernel_size": kernel_size,
            "strides": strides,
            "padding": padding,
            "dilation_rate": dilation_rate,
            "recurrent_activation": recurrent_activation,
            "unit_forget_bias": unit_forget_bias,
        }
        super().__init__(filters, _cell_args=extra, **kwargs)
        # Keras's cell class is ConvLSTMCell: "conv_lstm2d/conv_lstm_cell/kernel"
        self.cell.name = "conv_lstm_cell"

    def _loop(self, sequences, states, mask, training):
        """Per step, the input convolution of that step's frames and the recurrent one
        (``RNN.call`` has drawn the dropout masks, the same for every step, and reversed the
        sequence for ``go_backwards``). One input convolution over all ``time * batch``
        frames does the same arithmetic, but measured 10-15% slower to train: each step's
        slice of it gets a gradient as large as the whole sequence in backward."""
        cell = self.cell
        x_mask, h_mask = cell._dropout_masks or (None, None)
        outputs, prev = [], None
        for t in range(sequences.shape[1]):
            z_x = cell.input_convolution(sequences[:, t], x_mask)
            out, new_states = cell.step(z_x, states, h_mask)
            if mask is not None:  # as RNN._loop: a masked step carries the states and output
                m = Tensor(mask[:, t].reshape((-1, 1, 1, 1)).astype(sequences.dtype))
                prev = out * 0 if prev is None else prev
                out = m * out + (1 - m) * prev
                new_states = [m * n + (1 - m) * s for n, s in zip(new_states, states)]
            outputs.append(out)
            states, prev = new_states, out
        return ops.stack(outputs, axis=1), states

    def macs(self, input_shape, output_shape):
        """Per sample: ``time * h' * w' * kh * kw * (channels + filters) * 4 filters``."""
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        if self.cell._state_shape is None or shape[1] is None:
            return 0
        h, w, f = self.cell._state_shape
        kh, kw = self.cell.kernel_size
        return shape[1] * h * w * kh * kw * (shape[-1] + f) * 4 * f

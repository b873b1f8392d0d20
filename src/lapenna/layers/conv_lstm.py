"""``ConvLSTM2D``: an LSTM whose products are convolutions (Shi et al., "Convolutional LSTM
Network", NeurIPS 2015), for sequences of images ``(batch, time, height, width,
channels)``.

Every gate is ``conv(x_t, W) + conv(h_{t-1}, R) + b``: the input convolution uses the
layer's strides and padding, the recurrent one stride 1 and "same" padding, so the state
keeps the output's spatial size. Weights in Keras's layout: ``kernel (kh, kw, channels, 4
filters)``, ``recurrent_kernel (kh, kw, filters, 4 filters)``, ``bias (4 filters,)``, gates
``i, f, c, o``. The cell runs step by step on ops (``conv2d``), so it has second
derivatives; dropout is not implemented for it.
"""

import math

from lapenna import ops
from lapenna.layers.base import register_layer
from lapenna.layers.rnn import _KerasRecurrent
from lapenna.layers.rnn_cells import LSTMCell


def _pair(value, name):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(f"ConvLSTM2D expects {name} as a positive int or two, got {value!r}")
    return pair


@register_layer
class ConvLSTM2DCell(LSTMCell):
    """One step of the convolutional LSTM on ``(batch, height, width, channels)`` inputs.

    Args:
        filters: the state's channels.
        kernel_size, strides, padding (``"valid"``/``"same"``), dilation_rate: of the input
            convolution (the recurrent one is stride 1, "same").
        Others: as in ``LSTMCell`` (``dropout`` and ``recurrent_dropout`` must be 0).
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, **kwargs):
        super().__init__(filters, **kwargs)
        if self.dropout or self.recurrent_dropout:
            raise ValueError("ConvLSTM2D does not implement dropout or recurrent_dropout yet")
        if padding not in ("valid", "same"):
            raise ValueError(f"ConvLSTM2D expects padding 'valid' or 'same', got {padding!r}")
        self.filters = filters
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.dilation_rate = _pair(dilation_rate, "dilation_rate")
        self.padding = padding
        self._state_shape = None

    @property
    def state_size(self):
        return [self._state_shape, self._state_shape]

    @property
    def output_size(self):
        return self._state_shape

    def build(self, input_shape):
        _, height, width, channels = input_shape
        four = 4 * self.filters
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
        self._state_shape = (*sizes, self.filters)

    def _out_size(self, n, k, s, d):
        if self.padding == "same":
            return math.ceil(n / s)
        return (n - d * (k - 1) - 1) // s + 1

    def draw_dropout_masks(self, batch, features, dtype, training):
        self._dropout_masks = (None, None)
        return self._dropout_masks

    def call(self, inputs, states, training=None):
        h, c = states
        z = ops.conv2d(
            inputs,
            self.kernel,
            self.bias,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
        )
        z = z + ops.conv2d(h, self.recurrent_kernel, padding="same")
        f = self.filters
        i = self.recurrent_activation(z[..., :f])
        forget = self.recurrent_activation(z[..., f : 2 * f])
        g = self.activation(z[..., 2 * f : 3 * f])
        o = self.recurrent_activation(z[..., 3 * f :])
        c = forget * c + i * g
        h = o * self.activation(c)
        return h, [h, c]

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
            convolution. Cell arguments as in ``LSTMCell``; loop arguments
            (``return_sequences``, ``return_state``, ``go_backwards``, ``stateful``) as in
            ``RNN``.

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

    def macs(self, input_shape, output_shape):
        """Per sample: ``time * h' * w' * kh * kw * (channels + filters) * 4 filters``."""
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        if self.cell._state_shape is None or shape[1] is None:
            return 0
        h, w, f = self.cell._state_shape
        kh, kw = self.cell.kernel_size
        return shape[1] * h * w * kh * kw * (shape[-1] + f) * 4 * f

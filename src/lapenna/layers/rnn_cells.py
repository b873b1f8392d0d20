"""Recurrent cells: one time step of SimpleRNN, LSTM and GRU, written with ops.

A cell maps ``(x_t, states) -> (output, new_states)``; ``layers.RNN`` runs it over time.
The weights follow Keras 3's names and layouts (``kernel (features, gates * units)``,
``recurrent_kernel (units, gates * units)``, ``bias``), so weights copied from Keras give
the same numbers. ``RNN`` runs the built-in cells through fused primitives when it can
(``ops.simple_rnn``/``lstm``/``gru``); calling a cell step by step, as here, is the
readable reference and the path with second derivatives.
"""

from lapenna import activations, ops
from lapenna import backend as B
from lapenna import constraints as constraints_module
from lapenna import initializers as initializers_module
from lapenna import regularizers as regularizers_module
from lapenna.autograd import Tensor
from lapenna.layers.base import register_layer
from lapenna.layers.seeding import SeededLayer, check_rate
from lapenna.utils import get_registry

_WEIGHT_ARGS = ("kernel", "recurrent", "bias")


class BaseRNNCell(SeededLayer):
    """Arguments and weights shared by the three Keras cells.

    Args:
        units: the size of the hidden state.
        activation: of the candidate state (default ``"tanh"``).
        recurrent_activation: of the gates (LSTM and GRU; default ``"sigmoid"``).
        use_bias: add biases.
        kernel_initializer, recurrent_initializer, bias_initializer: default Glorot
            uniform, orthogonal and zeros, as in Keras.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties.
        kernel_constraint, recurrent_constraint, bias_constraint: projections.
        dropout: fraction of the inputs dropped (one mask for every time step).
        recurrent_dropout: fraction of ``h_{t-1}`` dropped in the recurrent product.
        seed: for the dropout masks.
    """

    gates = 1

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
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"{type(self).__name__} expects a positive int for units, got {units!r}"
            )
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers_module.get(kernel_initializer)
        self.recurrent_initializer = initializers_module.get(recurrent_initializer)
        self.bias_initializer = initializers_module.get(bias_initializer)
        self.kernel_regularizer = regularizers_module.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers_module.get(recurrent_regularizer)
        self.bias_regularizer = regularizers_module.get(bias_regularizer)
        self.kernel_constraint = constraints_module.get(kernel_constraint)
        self.recurrent_constraint = constraints_module.get(recurrent_constraint)
        self.bias_constraint = constraints_module.get(bias_constraint)
        self.dropout = check_rate(type(self).__name__, dropout)
        self.recurrent_dropout = check_rate(type(self).__name__, recurrent_dropout)
        self._dropout_masks = None  # (input mask, recurrent mask) fixed for one sequence

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def build(self, input_shape):
        features = input_shape[-1]
        width = self.gates * self.units
        self.kernel = self.add_weight(
            "kernel",
            (features, width),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel",
            (self.units, width),
            self.recurrent_initializer,
            self.recurrent_regularizer,
            self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                self._bias_shape(),
                self._bias_init(),
                self.bias_regularizer,
                self.bias_constraint,
            )

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    # -- dropout masks: drawn once per sequence, as in Keras --------------------------------
    def draw_dropout_masks(self, batch, features, dtype, training):
        """Fix the input and recurrent dropout masks for the next sequence (None when off)."""
        masks = [None, None]
        if training:
            for i, (rate, width) in enumerate(
                [(self.dropout, features), (self.recurrent_dropout, self.units)]
            ):
                if rate > 0:
                    masks[i] = B.dropout_mask((batch, width), rate, dtype, self.generator())
        self._dropout_masks = tuple(masks)
        return self._dropout_masks

    def reset_dropout_masks(self):
        self._dropout_masks = None

    def _dropped(self, inputs, h, training):
        masks = self._dropout_masks
        if masks is None:
            masks = self.draw_dropout_masks(
                inputs.shape[0], inputs.shape[-1], inputs.dtype, training
            )
            self._dropout_masks = None  # a lone step draws fresh masks
        x_mask, h_mask = masks
        x = inputs if x_mask is None else inputs * Tensor(x_mask)
        hd = h if h_mask is None else h * Tensor(h_mask)
        return x, hd

    def get_initial_state(self, batch_size, dtype=None):
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        dtype = dtype or self.dtype
        return [Tensor(B.xp.zeros((batch_size, *_sample(s)), dtype=dtype)) for s in sizes]

    def get_config(self):
        config = {**super().get_config(), "units": self.units}
        config["activation"] = activations.serialize(self.activation)
        config["use_bias"] = self.use_bias
        for arg in _WEIGHT_ARGS:
            config[f"{arg}_initializer"] = initializers_module.serialize(
                getattr(self, f"{arg}_initializer")
            )
            config[f"{arg}_regularizer"] = regularizers_module.serialize(
                getattr(self, f"{arg}_regularizer")
            )
            config[f"{arg}_constraint"] = constraints_module.serialize(
                getattr(self, f"{arg}_constraint")
            )
        config["dropout"] = self.dropout
        config["recurrent_dropout"] = self.recurrent_dropout
        return config


@register_layer
class SimpleRNNCell(BaseRNNCell):
    """One step of the Elman network: ``h_t = activation(x_t W + b + h_{t-1} R)``.

    Args: see ``BaseRNNCell``.

    Example:
        >>> import lapenna as lp
        >>> cell = lp.layers.SimpleRNNCell(4)
        >>> xp = lp.backend.xp
        >>> out, states = cell(lp.tensor(xp.ones((2, 3))), [lp.tensor(xp.zeros((2, 4)))])
        >>> out.shape
        (2, 4)
    """

    def call(self, inputs, states, training=None):
        h = states[0] if isinstance(states, list | tuple) else states
        x, hd = self._dropped(inputs, h, training)
        z = ops.matmul(x, self.kernel) + ops.matmul(hd, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        out = self.activation(z)
        return out, [out]


@register_layer
class LSTMCell(BaseRNNCell):
    """One step of the LSTM (Hochreiter and Schmidhuber, "Long Short-Term Memory", 1997),
    Keras's gate order ``i, f, c, o``::

        i, f, o = sigma(z_i), sigma(z_f), sigma(z_o);  g = tanh(z_c)
        c_t = f c_{t-1} + i g;   h_t = o tanh(c_t)

    Args:
        recurrent_activation: the gates' activation (default ``"sigmoid"``).
        unit_forget_bias: start the forget gate's bias at 1 (Jozefowicz et al., 2015).
        Others: see ``BaseRNNCell``.
    """

    gates = 4

    def __init__(self, units, recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, base = self.units, self.bias_initializer

        def init(shape, dtype=None):
            bias = B.as_array(base((units,), dtype=dtype))
            rest = B.as_array(base((2 * units,), dtype=dtype))
            return B.xp.concatenate([bias, B.xp.ones((units,), dtype=bias.dtype), rest])

        return init

    def call(self, inputs, states, training=None):
        h, c = states
        x, hd = self._dropped(inputs, h, training)
        z = ops.matmul(x, self.kernel) + ops.matmul(hd, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        u = self.units
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u : 2 * u])
        g = self.activation(z[:, 2 * u : 3 * u])
        o = self.recurrent_activation(z[:, 3 * u :])
        c = f * c + i * g
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


@register_layer
class GRUCell(BaseRNNCell):
    """One step of the GRU (Cho et al., 2014), Keras's gate order ``z, r, h``::

        z, r = sigma(x W_z + h R_z + b), sigma(x W_r + h R_r + b)
        hh = tanh(x W_h + b_h + r * (h R_h + b'_h))      reset_after=True
        hh = tanh(x W_h + b_h + (r * h) R_h)              reset_after=False
        h_t = z h_{t-1} + (1 - z) hh

    Args:
        recurrent_activation: the gates' activation (default ``"sigmoid"``).
        reset_after: apply the reset gate after the recurrent product (Keras's default;
            the bias is then ``(2, 3 units)``: input and recurrent biases).
        Others: see ``BaseRNNCell``.
    """

    gates = 3

    def __init__(self, units, recurrent_activation="sigmoid", reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=None):
        h = states[0] if isinstance(states, list | tuple) else states
        x, hd = self._dropped(inputs, h, training)
        u = self.units
        xz = ops.matmul(x, self.kernel)
        bias_in = bias_rec = None
        if self.bias is not None:
            bias_in, bias_rec = (
                (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
            )
            xz = xz + bias_in
        if self.reset_after:
            rec = ops.matmul(hd, self.recurrent_kernel)
            if bias_rec is not None:
                rec = rec + bias_rec
            z = self.recurrent_activation(xz[:, :u] + rec[:, :u])
            r = self.recurrent_activation(xz[:, u : 2 * u] + rec[:, u : 2 * u])
            hh = self.activation(xz[:, 2 * u :] + r * rec[:, 2 * u :])
        else:
            rec = ops.matmul(hd, self.recurrent_kernel[:, : 2 * u])
            z = self.recurrent_activation(xz[:, :u] + rec[:, :u])
            r = self.recurrent_activation(xz[:, u : 2 * u] + rec[:, u:])
            hh = self.activation(
                xz[:, 2 * u :] + ops.matmul(r * hd, self.recurrent_kernel[:, 2 * u :])
            )
        h = z * h + (1 - z) * hh
        return h, [h]

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }


@register_layer
class StackedRNNCells(SeededLayer):
    """Cells run one after the other at each time step; the states are the cells' states
    concatenated in order, the output is the last cell's.

    Args:
        cells: a list of cells.
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        cells = [deserialize_cell(c) for c in cells]
        if not cells:
            raise ValueError("StackedRNNCells expects at least one cell")
        self.cells = cells

    @property
    def state_size(self):
        sizes = []
        for cell in self.cells:
            s = cell.state_size
            sizes.extend(s if isinstance(s, list) else [s])
        return sizes

    @property
    def output_size(self):
        return self.cells[-1].output_size

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            cell._maybe_build(shape)
            shape = (*shape[:-1], cell.output_size)

    def draw_dropout_masks(self, batch, features, dtype, training):
        for cell in self.cells:
            if hasattr(cell, "draw_dropout_masks"):
                cell.draw_dropout_masks(batch, features, dtype, training)
            features = cell.output_size

    def reset_dropout_masks(self):
        for cell in self.cells:
            if hasattr(cell, "reset_dropout_masks"):
                cell.reset_dropout_masks()

    def get_initial_state(self, batch_size, dtype=None):
        return [
            s for cell in self.cells for s in _initial_state(cell, batch_size, dtype or self.dtype)
        ]

    def call(self, inputs, states, training=None):
        new_states, i = [], 0
        for cell in self.cells:
            n = len(cell.state_size) if isinstance(cell.state_size, list) else 1
            inputs, cell_states = cell(inputs, list(states[i : i + n]), training=training)
            new_states.extend(cell_states)
            i += n
        return inputs, new_states

    def get_config(self):
        registry = get_registry("layers")
        return {**super().get_config(), "cells": [registry.serialize(c) for c in self.cells]}


def _initial_state(cell, batch_size, dtype):
    if hasattr(cell, "get_initial_state"):
        return cell.get_initial_state(batch_size, dtype)
    sizes = cell.state_size if isinstance(cell.state_size, list) else [cell.state_size]
    return [Tensor(B.xp.zeros((batch_size, *_sample(s)), dtype=dtype)) for s in sizes]


def _sample(size):
    """One sample's shape: ``units`` or a tuple (a convolutional cell's ``(h, w, filters)``)."""
    return tuple(size) if isinstance(size, tuple | list) else (size,)


def deserialize_cell(cell):
    """A cell object stays; a config dict (``{"class_name", "config"}``) is rebuilt through
    the layer registry; a list of cells becomes ``StackedRNNCells``."""
    if isinstance(cell, list | tuple):
        return StackedRNNCells(list(cell))
    if isinstance(cell, dict):
        return get_registry("layers").deserialize(cell)
    if not hasattr(cell, "state_size") or not callable(cell):
        raise TypeError(
            f"a recurrent cell needs a state_size and a call(inputs, states), got {cell!r}"
        )
    return cell

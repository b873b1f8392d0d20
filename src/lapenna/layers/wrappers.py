"""Wrappers: ``Bidirectional`` (a recurrent layer both ways) and ``TimeDistributed`` (a
layer applied to every time step)."""

import copy

from lapenna import ops
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.rnn import fold_initial_state, unfold_initial_state
from lapenna.utils import get_registry

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def prefix_weight_paths(layer, sublayers):
    """Keras's weight paths for a wrapper: its name, then the wrapped layer's path
    (``bidirectional/forward_lstm/lstm_cell/kernel``), so files group them under it."""
    for sub in sublayers:
        for w in sub.weights:
            if not w.path.startswith(f"{layer.name}/"):
                w.path = f"{layer.name}/{w.path}"


def _clone(layer, **changes):
    """A fresh layer from ``layer``'s config (no weights or state carried over)."""
    registry = get_registry("layers")
    config = copy.deepcopy(registry.serialize(layer, strict=True))
    config["config"].update(changes)
    return registry.deserialize(config)


@register_layer
class Bidirectional(Layer):
    """Run a recurrent layer forward and a copy of it backward over the sequence, and merge
    the two outputs (Schuster and Paliwal, "Bidirectional Recurrent Neural Networks", 1997).

    The backward copy has ``go_backwards=True``; with ``return_sequences`` its outputs are
    flipped back to the input's time order before merging, and both layers output zeros at
    masked steps (as in Keras). Weights: the forward layer's, then the backward layer's.

    Args:
        layer: a recurrent layer (``LSTM(16, return_sequences=True)``...).
        merge_mode: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"`` or None (a list
            of the two outputs).
        backward_layer: an optional layer for the backward direction.

    Call arguments:
        inputs, mask, training; ``initial_state``: the forward states then the backward.

    Output shape:
        ``(batch, [time,] 2 units)`` for concat, ``(batch, [time,] units)`` otherwise; with
        ``return_state``, the merged output then the forward and the backward states.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.Bidirectional(lp.layers.GRU(4, return_sequences=True))
        >>> layer(lp.backend.xp.ones((2, 5, 3), dtype="float32")).shape
        (2, 5, 8)
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"Bidirectional expects merge_mode in {MERGE_MODES}, got {merge_mode!r}"
            )
        registry = get_registry("layers")
        layer = registry.deserialize(layer) if isinstance(layer, dict) else layer
        if not hasattr(layer, "go_backwards") or not hasattr(layer, "return_sequences"):
            raise TypeError(f"Bidirectional expects a recurrent layer, got {type(layer).__name__}")
        self.forward_layer = _clone(layer, name=f"forward_{layer.name}")
        if backward_layer is None:
            self.backward_layer = _clone(
                layer, name=f"backward_{layer.name}", go_backwards=not layer.go_backwards
            )
        else:
            backward_layer = (
                registry.deserialize(backward_layer)
                if isinstance(backward_layer, dict)
                else backward_layer
            )
            self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        for sub in (self.forward_layer, self.backward_layer):
            sub.zero_output_for_mask = sub.return_sequences

    def __call__(self, inputs, *args, **kwargs):
        return super().__call__(fold_initial_state(inputs, kwargs), *args, **kwargs)

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)
        prefix_weight_paths(self, [self.forward_layer, self.backward_layer])

    def call(self, inputs, mask=None, training=None):
        inputs, initial_state, mask = unfold_initial_state(inputs, mask)
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(inputs, initial_state=forward_state, mask=mask, training=training)
        y_rev = self.backward_layer(
            inputs, initial_state=backward_state, mask=mask, training=training
        )
        states = []
        if self.return_state:
            states = [*y[1:], *y_rev[1:]]
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        merged = self._merge(y, y_rev)
        if self.merge_mode is None:
            return [*merged, *states] if states else merged
        return [merged, *states] if states else merged

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return ops.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) * 0.5
        if self.merge_mode == "mul":
            return y * y_rev
        return [y, y_rev]

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            states = list(shape[1:]) * 2
            shape = shape[0]
        shape = tuple(shape)
        if self.merge_mode == "concat":
            shape = (*shape[:-1], shape[-1] * 2)
        outs = [shape, shape] if self.merge_mode is None else [shape]
        if len(outs) == 1 and not states:
            return shape
        return [*outs, *states]

    def compute_mask(self, inputs, mask=None):
        mask = unfold_initial_state(inputs, mask)[2]
        out = mask if self.return_sequences else None
        outs = [out, out] if self.merge_mode is None else [out]
        if self.return_state:
            n = len(self.forward_layer.compute_output_shape((None, None, 1))) - 1
            return [*outs, *[None] * (2 * n)]
        return outs if len(outs) > 1 else out

    def reset_state(self):
        """Zero both directions' carried states (stateful layers)."""
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    reset_states = reset_state  # the Keras 2 name

    def get_config(self):
        registry = get_registry("layers")
        return {
            **super().get_config(),
            "layer": registry.serialize(self.forward_layer, strict=True),
            "merge_mode": self.merge_mode,
            "backward_layer": registry.serialize(self.backward_layer, strict=True),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        registry = get_registry("layers")
        config = dict(config)
        layer = registry.deserialize(config.pop("layer"), custom_objects)
        # the saved forward layer carries the "forward_" prefix; the wrapper adds it again
        layer.name = layer.name.removeprefix("forward_")
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = registry.deserialize(backward, custom_objects)
        return cls(layer, backward_layer=backward, **config)


@register_layer
class TimeDistributed(Layer):
    """Apply a layer to every time step: the batch and time axes are merged into one batch
    axis, the layer runs once on ``(batch * time, ...)``, and the result is split back.

    Args:
        layer: the layer applied at each step (``Dense(8)``, ``Conv2D(...)``...).

    Input shape:
        ``(batch, time, ...)``. Output shape: ``(batch, time, ...layer's output...)``.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.TimeDistributed(lp.layers.Dense(4))
        >>> layer(lp.backend.xp.ones((2, 5, 3), dtype="float32")).shape
        (2, 5, 4)
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = get_registry("layers").deserialize(layer) if isinstance(layer, dict) else layer
        if not isinstance(self.layer, Layer):
            raise TypeError(f"TimeDistributed expects a layer, got {type(layer).__name__}")

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(
                f"TimeDistributed '{self.name}' expects inputs of shape (batch, time, ...), "
                f"got shape {tuple(input_shape)}"
            )
        self.layer._maybe_build((None, *input_shape[2:]))
        prefix_weight_paths(self, [self.layer])

    def call(self, inputs, training=None):
        batch, time = inputs.shape[0], inputs.shape[1]
        flat = ops.reshape(inputs, (batch * time, *inputs.shape[2:]))
        out = self.layer(flat, training=training)
        return ops.reshape(out, (batch, time, *out.shape[1:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None, *input_shape[2:]))
        return (input_shape[0], input_shape[1], *inner[1:])

    def get_config(self):
        registry = get_registry("layers")
        return {**super().get_config(), "layer": registry.serialize(self.layer, strict=True)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = get_registry("layers").deserialize(config.pop("layer"), custom_objects)
        return cls(layer, **config)

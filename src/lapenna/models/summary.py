"""``summarize``: parameters, multiply-accumulates and memory, layer by layer.

The model is run once on zeros with a batch of one while every layer call is recorded;
each row is a direct child of the model, and a nested model or block reports the totals
of the calls inside it.
"""

import math

from lapenna import backend as B
from lapenna.autograd import Tensor, no_grad
from lapenna.layers.base import trace_calls
from lapenna.utils.tree import flatten

_SLOTS = {"SGD": 1, "RMSprop": 1, "Adam": 2, "AdamW": 2, "Nadam": 2, "Adagrad": 1, "Adadelta": 2}


class SummaryRow:
    """One row: ``name``, ``class_name``, ``output_shape``, ``params``, ``trainable_params``,
    ``macs`` (one sample's multiply-accumulates) and ``activation_bytes`` (one sample's
    output)."""

    def __init__(
        self, name, class_name, output_shape, params, trainable_params, macs, activation_bytes
    ):
        self.name = name
        self.class_name = class_name
        self.output_shape = output_shape
        self.params = params
        self.trainable_params = trainable_params
        self.macs = macs
        self.activation_bytes = activation_bytes

    def __repr__(self):
        return f"<SummaryRow {self.name} ({self.class_name}) {self.output_shape}>"


class Summary:
    """Rows and totals; ``training_memory(batch_size)`` estimates what training needs."""

    def __init__(self, model, rows, leaf_activation_bytes, itemsize):
        self.name = model.name
        self.rows = rows
        weights = model.weights
        trainable = {id(w) for w in model.trainable_weights}
        self.params = sum(w.size for w in weights)
        self.trainable_params = sum(w.size for w in weights if id(w) in trainable)
        self.non_trainable_params = self.params - self.trainable_params
        self.macs = sum(r.macs for r in rows)
        self.activation_bytes = sum(r.activation_bytes for r in rows)
        self._leaf_activation_bytes = leaf_activation_bytes
        self._itemsize = itemsize
        self._optimizer = getattr(model, "optimizer", None)

    def training_memory(self, batch_size=32, optimizer=None):
        """Estimated bytes to train with ``batch_size``: weights, gradients, optimizer
        slots and the activations kept for backward. Returns a dict with a ``total``."""
        optimizer = optimizer or self._optimizer
        name = type(optimizer).__name__ if optimizer is not None else "Adam"
        slots = _SLOTS.get(name, 2)
        if name == "SGD" and optimizer is not None and not getattr(optimizer, "momentum", 0):
            slots = 0
        parts = {
            "weights": self.params * self._itemsize,
            "gradients": self.trainable_params * self._itemsize,
            "optimizer_slots": slots * self.trainable_params * self._itemsize,
            "activations": batch_size * self._leaf_activation_bytes,
        }
        parts["total"] = sum(parts.values())
        return parts

    def format(self, batch_size=None, width=100):
        """The table as text (Keras's columns plus MACs and output memory)."""
        header = ("Layer (type)", "Output Shape", "Param #", "MACs", "Memory")
        cells = [header] + [
            (
                f"{r.name} ({r.class_name})",
                _shape_text(r.output_shape),
                f"{r.params:,}",
                _si(r.macs),
                _bytes(r.activation_bytes),
            )
            for r in self.rows
        ]
        widths = [max(len(c[i]) for c in cells) for i in range(5)]
        line = "  ".join("-" * w for w in widths)
        out = [f'Model: "{self.name}"', line]
        for i, c in enumerate(cells):
            out.append(
                "  ".join(
                    v.ljust(w) if j < 2 else v.rjust(w) for j, (v, w) in enumerate(zip(c, widths))
                )
            )
            if i == 0:
                out.append(line)
        out += [
            line,
            f"Total params: {self.params:,} ({_bytes(self.params * self._itemsize)})",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"MACs per sample: {_si(self.macs)} ({self.macs:,})",
            f"Output memory per sample: {_bytes(self.activation_bytes)}",
        ]
        if batch_size:
            mem = self.training_memory(batch_size)
            detail = ", ".join(f"{k} {_bytes(v)}" for k, v in mem.items() if k != "total")
            out.append(
                f"Estimated training memory at batch {batch_size}: "
                f"{_bytes(mem['total'])} ({detail})"
            )
            gpu = B.gpu_memory()
            if gpu is not None:
                out.append(
                    f"GPU memory: {_bytes(gpu['in_use'])} held by arrays now, "
                    f"{_bytes(gpu['free'])} free of {_bytes(gpu['total'])}"
                )
        return "\n".join(out)


def summarize(model, input_shape=None):
    """Trace ``model`` once and return its ``Summary``.

    Args:
        model: a built model (or give ``input_shape`` including the batch axis, which may
            be None).

    Example:
        >>> import lapenna as lp
        >>> model = lp.Sequential([lp.layers.Input((150, 100, 3)),
        ...                        lp.layers.Conv2D(200, 5, padding="same")])
        >>> s = lp.models.summarize(model)
        >>> s.params, s.macs, s.rows[0].activation_bytes
        (15200, 225000000, 12000000)
    """
    shape = input_shape if input_shape is not None else getattr(model, "_build_shape", None)
    if shape is None:
        raise ValueError(
            f"model {model.name!r} has no input shape yet: call it on data, build it with "
            "model.build(input_shape), or pass input_shape"
        )
    with no_grad(), trace_calls() as calls:
        model(_zeros(shape, model.dtype), training=False)
    itemsize = B.to_dtype(model.dtype).itemsize
    rows, leaf_bytes = [], 0
    for i, call in enumerate(calls):
        is_leaf = i + 1 == len(calls) or calls[i + 1]["depth"] <= call["depth"]
        if is_leaf:
            leaf_bytes += _output_bytes(call["output_shape"], itemsize)
        if call["depth"] != 1:
            continue
        layer = call["layer"]
        inner = [calls[i]]
        for later in calls[i + 1 :]:
            if later["depth"] <= 1:
                break
            inner.append(later)
        macs = sum(
            c["layer"].macs(_batchless(c["input_shape"]), _batchless(c["output_shape"]))
            for c in inner
        )
        trainable = {id(w) for w in layer.trainable_weights}
        rows.append(
            SummaryRow(
                layer.name,
                type(layer).__name__,
                _none_batch(call["output_shape"]),
                sum(w.size for w in layer.weights),
                sum(w.size for w in layer.weights if id(w) in trainable),
                macs,
                _output_bytes(call["output_shape"], itemsize),
            )
        )
    return Summary(model, rows, leaf_bytes, itemsize)


def _is_shape(s):
    return isinstance(s, tuple) and all(isinstance(d, int) or d is None for d in s)


def _zeros(shape, dtype):
    if _is_shape(tuple(shape)) and not any(isinstance(d, list | tuple) for d in shape):
        return Tensor(B.xp.zeros(tuple(1 if d is None else d for d in shape), dtype=dtype))
    if isinstance(shape, dict):
        return {k: _zeros(v, dtype) for k, v in shape.items()}
    return [_zeros(s, dtype) for s in shape]


def _leaves(shape):
    if _is_shape(shape):
        return [shape]
    if isinstance(shape, dict):
        return [leaf for v in shape.values() for leaf in _leaves(v)]
    return [leaf for v in shape for leaf in _leaves(v)]


def _output_bytes(shape, itemsize):
    return sum(math.prod(s[1:]) * itemsize for s in _leaves(shape))


def _batchless(shape):
    """Shapes with the batch axis set to 1, as ``Layer.macs`` expects one sample."""
    if _is_shape(shape):
        return (1, *shape[1:])
    if isinstance(shape, dict):
        return {k: _batchless(v) for k, v in shape.items()}
    return [_batchless(s) for s in shape]


def _none_batch(shape):
    if _is_shape(shape):
        return (None, *shape[1:])
    leaves = _leaves(shape)
    return [(None, *s[1:]) for s in leaves]


def _shape_text(shape):
    return str(shape) if _is_shape(shape) else ", ".join(str(s) for s in flatten(shape))


def _si(n):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(n)


def _bytes(n):
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"

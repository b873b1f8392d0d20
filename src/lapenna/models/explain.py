"""``explain``: a training step (or a forward pass) as the GEMMs and passes it runs.

The model runs one real step on a random batch while ``backend.trace`` records every
primitive the engine applies and, inside it, what the selected kernel does: an im2col
and a GEMM ``(M x K) . (K x N)`` with the role of each operand, a Winograd or banded
variant with its transformed shapes, a col2im, a pooling or normalization pass with the
bytes it moves. Each op is attributed to the layer whose call made it (a backward op to
the layer of the forward op it differentiates); the loss and the optimizer update get
rows of their own. The model is left as it was: weights, optimizer and random state are
restored afterwards.

With ``measure=True`` the step is repeated and each op keeps its fastest time; the
machine's ceilings (numpy's sgemm rate and the copy bandwidth, see
``backend.trace.measure_ceilings``), sampled between the steps so that they see the same
load, turn times into fractions of the roofline.
"""

import re
import time

from lapenna import backend as B
from lapenna import losses as losses_module
from lapenna import optimizers as optimizers_module
from lapenna.autograd import GradientTape, Tensor, no_grad
from lapenna.backend import trace
from lapenna.layers.base import trace_calls
from lapenna.models.explain_report import Explanation
from lapenna.utils.tree import flatten

# FLOPs per parameter of one update, counted from each optimizer's ``update_step`` (plain
# variants; SGD with momentum 4, Nesterov 7; weight decay adds 2)
_UPDATE_FLOPS = {
    "SGD": 2,
    "RMSprop": 9,
    "Adam": 12,
    "AdamW": 12,
    "Nadam": 16,
    "Adagrad": 7,
    "Adadelta": 16,
}
_SPARSE = ("SparseCategoricalCrossentropy",)


def explain(
    model,
    inputs=None,
    batch_size=32,
    training=True,
    loss=None,
    optimizer=None,
    measure=False,
    repeats=5,
    ceilings=None,
):
    """Run one step of ``model`` under the kernel recorder and return its ``Explanation``.

    Args:
        model: a model with one input, built or given its input shape by ``inputs``.
        inputs: one sample's shape (a tuple of ints, without the batch axis), or a batch
            (an array or Tensor, whose first axis is the batch). Default: the shape the
            model was built with.
        batch_size: the batch when ``inputs`` is a shape (default 32).
        training: explain a training step (forward, loss, backward, optimizer update);
            False explains an inference forward pass.
        loss: the loss of the step (a name or a Loss); default: the compiled loss, else
            sparse categorical cross-entropy on logits for ``(N, classes)`` outputs and
            mean squared error otherwise.
        optimizer: the optimizer of the step; default: a fresh copy of the compiled one,
            else plain SGD. The model's own optimizer is never stepped.
        measure: time each op (the fastest of ``repeats`` steps) and the whole step.
        repeats: steps timed when measuring.
        ceilings: ``{"sgemm_gflops": ..., "copy_gbs": ...}`` to use instead of measuring
            them (with ``measure``).

    Returns:
        An ``Explanation``: ``format()`` gives the table, ``to_dict()``/``to_json()`` the
        data, ``roofline()`` and ``time_chart()`` the figures.

    Raises:
        ValueError: for a shape that is not positive integers, a batch size or repeat
            count below 1, or a batch whose dtype is not numeric; nothing has run then.

    Example:
        >>> import lapenna as lp
        >>> model = lp.Sequential([lp.layers.Input((4,)), lp.layers.Dense(3)])
        >>> report = lp.models.explain(model, batch_size=2, training=False)
        >>> gemm = report.lines[0]["steps"][0]
        >>> gemm["a"], gemm["m"], gemm["k"], gemm["n"], gemm["flops"]
        ('X', 2, 4, 3, 48)
    """
    x = _batch(model, inputs, batch_size)
    if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
        raise ValueError(f"explain expects repeats >= 1, got {repeats!r}")
    if ceilings is not None and not {"sgemm_gflops", "copy_gbs"} <= set(ceilings):
        raise ValueError(f"ceilings needs 'sgemm_gflops' and 'copy_gbs', got {sorted(ceilings)}")
    if not model.built:
        with no_grad():
            model(Tensor(x[:1]), training=False)
    step = _Step(model, x, training, loss, optimizer)
    saved = [w.data.copy() for w in model.weights]
    rng = B.get_rng_state()
    try:
        ops, calls = step.recorded()
        seconds = None
        if measure:
            # after a warm-up, plain steps, recorded steps and the ceilings alternate (so
            # that a change in the machine's load touches all three); each keeps its best
            step.run()
            seconds, sampled = float("inf"), []
            for _ in range(repeats):
                seconds = min(seconds, _seconds(step.run))
                again, _ = step.recorded()
                _keep_fastest(ops, again)
                if ceilings is None:
                    sampled.append(trace.measure_ceilings(repeats=1))
            if ceilings is None:
                ceilings = {k: max(c[k] for c in sampled) for k in sampled[0]}
    finally:
        for w, value in zip(model.weights, saved):
            w.data[...] = value
        B.set_rng_state(rng)
    ops = _attribute(ops, calls)
    return Explanation(
        model=model,
        batch_shape=tuple(x.shape),
        training=training,
        loss=step.loss_name(),
        optimizer=type(step.optimizer).__name__ if training else None,
        ops=ops,
        step_seconds=seconds,
        ceilings=dict(ceilings) if measure else None,
    )


def _batch(model, inputs, batch_size):
    """The random batch to explain, checked before anything runs."""
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"explain expects batch_size >= 1, got {batch_size!r}")
    if inputs is None:
        built = getattr(model, "_build_shape", None)
        if built is None or not all(isinstance(d, int) for d in tuple(built)[1:]):
            raise ValueError(
                f"model {model.name!r} has no input shape yet: pass explain(input_shape) "
                "as one sample's shape, e.g. (28, 28, 1), or a batch"
            )
        inputs = tuple(built)[1:]
    if isinstance(inputs, Tensor):
        inputs = inputs.data
    if isinstance(inputs, list | tuple):
        if not inputs or not all(isinstance(d, int) and not isinstance(d, bool) for d in inputs):
            raise ValueError(
                f"explain expects one sample's shape as positive integers, e.g. (28, 28, 1), "
                f"got {inputs!r}"
            )
        if min(inputs) < 1:
            raise ValueError(f"explain expects a shape of positive integers, got {inputs!r}")
        rng = B.make_generator(0)
        shape = (batch_size, *inputs)
        return rng.standard_normal(shape).astype(B.to_dtype(model.dtype))
    array = B.as_array(inputs)
    if array.ndim < 1 or array.shape[0] < 1 or array.dtype.kind not in "biuf":
        raise ValueError(
            f"explain expects a batch with at least one sample of numbers, got shape "
            f"{array.shape} and dtype {array.dtype}"
        )
    return array.astype(B.to_dtype(model.dtype)) if array.dtype.kind == "f" else array


class _Step:
    """One training step (or forward pass) of the model on ``x``, with random targets."""

    def __init__(self, model, x, training, loss, optimizer):
        self.model, self.x, self.training = model, Tensor(x), training
        self.loss = self.optimizer = None
        if not training:
            return
        compiled = getattr(model, "compiled_loss", None)
        with no_grad():
            outputs = model(self.x, training=False)
        if loss is None and compiled is not None:
            self.loss = compiled
            fns = compiled.losses
        else:
            if len(flatten(outputs)) != 1:
                raise ValueError(
                    f"explain: model {model.name!r} has several outputs; compile it with "
                    "their losses first"
                )
            self.loss = losses_module.get(loss) if loss is not None else _default_loss(outputs)
            fns = [self.loss]
        self.targets = [_target(o, fn, i) for i, (o, fn) in enumerate(zip(flatten(outputs), fns))]
        self.optimizer = _fresh_optimizer(optimizer, getattr(model, "optimizer", None))

    def run(self):
        model = self.model
        if not self.training:
            with no_grad():
                model(self.x, training=False)
            return
        with GradientTape() as tape:
            y_pred = model(self.x, training=True)
            previous = trace.enter("loss")
            value = self._loss(y_pred)
            trace.leave(previous)
        rec = trace.active()
        if rec is not None:
            rec.phase = "backward"
        variables = model.trainable_weights
        if not variables:
            return  # nothing to train: no backward runs
        grads = tape.gradient(value, variables)
        if rec is None:
            self.optimizer.apply_gradients(zip(grads, variables))
            return
        rec.phase, rec.scope = "update", "optimizer"
        before = len(rec.ops)
        start = time.perf_counter()
        self.optimizer.apply_gradients(zip(grads, variables))
        seconds = time.perf_counter() - start
        inner = sum(op["seconds"] or 0 for op in rec.ops[before:])
        _record_update(rec, self.optimizer, variables, seconds - inner)

    def loss_name(self):
        if self.loss is None:
            return None
        fns = getattr(self.loss, "losses", [self.loss])
        return ", ".join(type(fn).__name__ for fn in fns if fn is not None)

    def _loss(self, y_pred):
        if isinstance(self.loss, losses_module.Loss):
            return self.loss(self.targets[0], y_pred)
        targets = self.targets if len(self.targets) > 1 else self.targets[0]
        return self.loss(targets, y_pred, None, self.model.losses)[0]

    def recorded(self):
        with trace_calls() as calls, trace.Recorder() as rec:
            self.run()
        return rec.ops, calls


def _default_loss(outputs):
    if outputs.ndim == 2 and outputs.shape[-1] > 1:
        return losses_module.SparseCategoricalCrossentropy(from_logits=True)
    return losses_module.MeanSquaredError()


def _target(output, fn, seed):
    """Random targets a loss accepts: class indices, one-hot rows or values in [0, 1)."""
    rng = B.make_generator(seed + 1)
    shape = output.shape
    if type(fn).__name__ in _SPARSE:
        return rng.integers(0, shape[-1], shape[:-1])
    if len(shape) == 2 and shape[-1] > 1:
        return B.xp.eye(shape[-1], dtype=output.dtype)[rng.integers(0, shape[-1], shape[0])]
    return rng.random(shape).astype(output.dtype)


def _fresh_optimizer(optimizer, compiled):
    if optimizer is None:
        if compiled is None:
            return optimizers_module.SGD()
        return type(compiled).from_config(compiled.get_config())
    optimizer = optimizers_module.get(optimizer)
    return type(optimizer).from_config(optimizer.get_config())


def _record_update(rec, optimizer, variables, seconds):
    """The update as one memory-bound op: each parameter, gradient and slot array read,
    parameters and slots written."""
    count = sum(v.size for v in variables if v.trainable)
    itemsize = variables[0].data.itemsize if variables else 4
    slots = optimizer.slots_per_variable()
    name = type(optimizer).__name__
    per = _UPDATE_FLOPS.get(name, 2)
    if name == "SGD" and getattr(optimizer, "momentum", 0):
        per = 7 if optimizer.nesterov else 4
    if getattr(optimizer, "weight_decay", None):
        per += 2
    op = rec.new_op("apply_gradients", seconds)
    op["steps"].append(
        {
            "kind": "pass",
            "name": f"{name} update",
            "detail": f"{count} parameters, {slots} slot(s) each",
            "flops": per * count,
            "bytes": (3 + 2 * slots) * count * itemsize,
        }
    )


def _seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _keep_fastest(ops, again):
    """Each op keeps its fastest time over repeated recordings of the same step."""
    if [o["op"] for o in ops] != [o["op"] for o in again]:
        return
    for op, other in zip(ops, again):
        if op["seconds"] is not None and other["seconds"] is not None:
            op["seconds"] = min(op["seconds"], other["seconds"])


# roles of a matrix product in a layer with weights: A @ B -> C is X @ W -> Y
_MATMUL_ROLES = {"A": "X", "B": "W", "C": "Y", "dA": "dX", "dB": "dW", "dC": "dY"}
# in a transposed convolution the input plays the part of a convolution's output gradient
_TRANSPOSED_ROLES = {"X": "dY", "dY": "X", "Y": "dX", "dX": "Y", "dcols": "cols"}


def _attribute(ops, calls):
    """Name each op's layer (the call it ran in, and the model's direct child holding it)
    and give operands the roles they play in that layer."""
    rows = _row_of_call(calls)
    weight_shapes = {}
    for op in ops:
        scope = op.pop("scope")
        if isinstance(scope, int):
            layer = calls[scope]["layer"]
            op["layer"] = layer.name
            op["row"] = calls[rows[scope]]["layer"].name if rows[scope] is not None else "model"
            op["row_class"] = (
                type(calls[rows[scope]]["layer"]).__name__ if rows[scope] is not None else ""
            )
            weight_shapes.setdefault(scope, {tuple(w.shape) for w in layer.trainable_weights})
        else:
            op["layer"] = op["row"] = scope or "model"
            op["row_class"] = ""
        op["_scope"] = scope
    transposed = {
        o["_scope"] for o in ops if o["op"] == "ConvTranspose" and o["phase"] == "forward"
    }
    with_weights = {
        o["_scope"]
        for o in ops
        if o["op"] == "MatMul"
        and o["phase"] == "forward"
        and tuple(o["inputs"][1]) in weight_shapes.get(o["_scope"], ())
    }
    for op in ops:
        scope = op.pop("_scope")
        mapping = None
        if scope in transposed and op["op"] in ("Conv", "ConvTranspose", "ConvKernelGrad"):
            mapping = _TRANSPOSED_ROLES
        elif scope in with_weights and op["op"] == "MatMul":
            mapping = _MATMUL_ROLES
        if mapping:
            for s in op["steps"]:
                for key in ("a", "b", "c", "detail"):
                    if key in s:
                        s[key] = _rename(s[key], mapping)
                if s["kind"] == "gemm":
                    s["name"] = f"{s['a']} @ {s['b']}"
    return ops


def _rename(role, mapping):
    return re.sub(r"[A-Za-z_]+", lambda m: mapping.get(m.group(0), m.group(0)), role)


def _row_of_call(calls):
    """For each layer call, the index of its depth-1 ancestor (a row of ``summary``)."""
    rows, current = [], None
    for i, call in enumerate(calls):
        if call["depth"] == 0:
            current = None
        elif call["depth"] == 1:
            current = i
        rows.append(current)
    return rows

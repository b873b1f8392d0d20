"""``function``: a step function that is recorded once and then replayed as a plan.

    @lp.function
    def train_step(x, y):
        with lp.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        return loss

The first two calls with a given signature (the shapes and dtypes of the array arguments,
the values of the others) run eagerly and are recorded; when the two recordings agree,
later calls replay the plan (``autograd.capture``), giving the same numbers bit for bit
without building a graph. When they do not, the function stays eager for that signature
and ``reasons`` says why.
"""

from lapenna import backend as B
from lapenna.autograd import capture
from lapenna.autograd.tensor import Tensor


class CapturedFunction:
    """A callable that replays a recorded plan of ``fn`` (see the module docstring).

    Attributes:
        fn: the function.
        plans: signature -> the ``Plan`` in use (only signatures that replay).
        reasons: signature -> why it stays eager.
    """

    def __init__(self, fn):
        self.fn = fn
        self.plans = {}
        self.reasons = {}
        self._first = {}  # signature -> the first recording, until the second arrives
        self._results = {}  # signature -> how to rebuild the result from slots

    def __call__(self, *args):
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        key = _signature(arrays)
        plan = self.plans.get(key)
        if plan is not None and capture.can_record():
            try:
                return _rebuild(self._results[key], plan.run(_only_arrays(arrays)))
            except Exception:
                # a plan does not repeat the checks of the ops (a label out of range): the
                # eager call raises the clear error; should it succeed instead, the plan is
                # dropped (state that the replay changed before failing stays changed)
                result = self.fn(*args)
                del self.plans[key]
                self.reasons[key] = "a replay failed where the eager call did not"
                return result
        if key in self.reasons or key is None or not capture.can_record():
            return self.fn(*args)
        return self._record(key, args, arrays)

    def _record(self, key, args, arrays):
        result, plan = capture.record(self.fn, args, arrays)
        layout = _layout(result, plan)
        first = self._first.pop(key, None)
        if layout is None:
            self.reasons[key] = "it returns something other than Tensors, arrays and None"
        elif first is None:
            self._first[key] = plan
        else:
            reason = capture.compare(first, plan)
            if reason is None:
                plan.finish()
                self.plans[key], self._results[key] = plan, layout
            else:
                self.reasons[key] = reason
        return result

    def stays_eager(self):
        """Whether some signature could not be captured (``reasons`` says why)."""
        return bool(self.reasons)


def function(fn):
    """Capture ``fn``: record its kernels on the first calls and replay them afterwards.

    Args:
        fn: a step function whose arguments are arrays or Tensors (and plain values) and
            which returns Tensors, arrays, None, or tuples, lists and dicts of them.

    Returns:
        A ``CapturedFunction`` that is called like ``fn``.

    Example:
        >>> import lapenna as lp
        >>> w = lp.Variable(lp.backend.xp.ones(3, dtype="float32"))
        >>> @lp.function
        ... def step(x):
        ...     with lp.GradientTape() as tape:
        ...         loss = lp.ops.sum(w * x)
        ...     w.assign_sub(tape.gradient(loss, w) * 0.5)
        ...     return loss
        >>> x = lp.backend.xp.ones(3, dtype="float32")
        >>> [float(step(x).data) for _ in range(4)]
        [3.0, 1.5, 0.0, -1.5]
        >>> len(step.plans)
        1
    """
    return CapturedFunction(fn)


def _signature(arrays):
    key = []
    for a in arrays:
        if isinstance(a, B.xp.ndarray):
            key.append(("array", a.shape, a.dtype.str))
        elif a is None or isinstance(a, int | float | str | bool):
            key.append(("value", type(a).__name__, a))
        else:
            return None  # an argument the plan cannot bind: stay eager
    return tuple(key)


def _only_arrays(arrays):
    return [a for a in arrays if isinstance(a, B.xp.ndarray)]


def _layout(result, plan):
    """The result's structure with each array replaced by its slot, or None."""
    if result is None:
        return ("none",)
    if isinstance(result, Tensor | B.xp.ndarray):
        slot = plan.slot_of(result.data if isinstance(result, Tensor) else result)
        if slot is None:
            return None
        return ("tensor" if isinstance(result, Tensor) else "array", slot)
    if isinstance(result, tuple | list):
        items = [_layout(r, plan) for r in result]
        return None if None in items else (type(result).__name__, items)
    if isinstance(result, dict):
        items = {k: _layout(v, plan) for k, v in result.items()}
        return None if None in items.values() else ("dict", items)
    return None


def _rebuild(layout, values):
    kind = layout[0]
    if kind == "none":
        return None
    if kind == "tensor":
        return Tensor(values[layout[1]])
    if kind == "array":
        return values[layout[1]]
    if kind == "dict":
        return {k: _rebuild(v, values) for k, v in layout[1].items()}
    items = [_rebuild(v, values) for v in layout[1]]
    return tuple(items) if kind == "tuple" else items

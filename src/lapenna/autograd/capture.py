"""Captured steps: record a function's kernels once, replay them without building a graph.

A training step whose shapes do not change runs the same kernels in the same order every
time: the forward primitives, the primitives that the backward walk applies, and the
optimizer update. ``function(fn)`` records them on the first call into a ``Plan``, a list
of steps ``(kernel, inputs, outputs)`` over numbered slots of arrays::

    slot 0  x                       (an argument of the call)
    slot 1  W                       (a constant: a weight, updated in place)
    slot 2  = MatMul(0, 1)          forward
    slot 3  = ReluGrad(9; positive=2)
    ...     = SGD.apply_gradients(14, 15)

and replays it on later calls: each kernel is called on the arrays of its input slots and
fills its output slots. No Tensor or Function object is made, no topological sort runs,
and the numbers are the same bit for bit, because the same kernels run on the same arrays
in the same order.

What a plan sees (and so what a captured function may do):

- every primitive (``Function.apply``): its forward is the kernel; arrays passed as
  parameters (``ReluGrad``'s ``positive``) are inputs too, and arrays the forward keeps on
  the node for its backward are outputs;
- ``host(name, kernel, arrays)``: work on arrays outside the graph that must run again on
  each replay: the optimizer update, ``Variable.assign`` (moving statistics), random
  draws (dropout masks);
- everything else is a constant. A step that computes an array another way (a raw numpy
  expression on its inputs, ``x.data -= ...``), takes a Python branch on a value, or
  changes shape cannot be replayed. Capture therefore records twice: the first two calls
  run eagerly and are both recorded; the plan is used only when the two recordings agree
  (same steps, same parameters, every constant either the same array or equal in value,
  every argument read by a kernel). Otherwise the function stays eager, and ``reason``
  says why.
"""

import numbers

from lapenna import backend as B
from lapenna.autograd import engine
from lapenna.autograd.tensor import Tensor
from lapenna.backend import trace

_state = {"plan": None}

# attributes of a Function node that are bookkeeping, not parameters of its kernel
_BOOKKEEPING = {"parents", "saved", "needs_grad", "freed", "_output", "trace_scope"}


def recording():
    """Whether a plan is being recorded now."""
    return _state["plan"] is not None


class Plan:
    """Slots of arrays and the steps that fill them.

    Attributes:
        values: one entry per slot: constants hold their array, the others hold what the
            last run put there.
        arguments: the slots of the call's array arguments, in order.
        steps: ``(name, kernel, inputs, outputs)``: ``kernel(*values[inputs])`` returns
            one array per output slot.
        signature: per step, its name, slots and plain parameters (compared between two
            recordings).
        constants: the slots no step fills and no argument binds.
    """

    def __init__(self):
        self.values = []
        self.arguments = []
        self.steps = []
        self.signature = []
        self._slot_of = {}  # id(array) -> slot, while recording
        self._produced = set()

    # -- recording ----------------------------------------------------------------------
    def slot(self, array):
        """The slot of ``array``; an array no step made becomes a constant."""
        slot = self._slot_of.get(id(array))
        if slot is None:
            slot = self._new_slot(array)
        return slot

    def _new_slot(self, array):
        self.values.append(array)
        self._slot_of[id(array)] = len(self.values) - 1
        return len(self.values) - 1

    def bind_argument(self, array):
        self.arguments.append(self._new_slot(array))

    def add_step(self, name, kernel, inputs, outputs, params=()):
        ins = tuple(self.slot(a) for a in inputs)
        outs = tuple(self._new_slot(a) for a in outputs)
        self._produced.update(outs)
        self.steps.append((name, kernel, ins, outs))
        self.signature.append((name, ins, outs, params))

    def slot_of(self, array):
        return self._slot_of.get(id(array))

    @property
    def constants(self):
        bound = set(self.arguments) | self._produced
        return [s for s in range(len(self.values)) if s not in bound]

    def finish(self):
        """Forget the recording's intermediate arrays; keep the constants."""
        keep = set(self.constants)
        self.values = [v if s in keep else None for s, v in enumerate(self.values)]
        self._slot_of = {}

    # -- replaying ----------------------------------------------------------------------
    def run(self, arrays):
        """Replay every step on the call's arrays; returns the list of slot values."""
        values = list(self.values)
        for slot, array in zip(self.arguments, arrays):
            values[slot] = array
        for _name, kernel, inputs, outputs in self.steps:
            results = kernel(*[values[i] for i in inputs])
            for slot, array in zip(outputs, results):
                values[slot] = array
        return values

    def __str__(self):
        lines = [f"Plan: {len(self.steps)} steps over {len(self.values)} slots"]
        lines += [f"  {outs} = {name}{ins}" for name, _, ins, outs in self.steps]
        return "\n".join(lines)


# -- hooks called by the engine, the optimizers and the ops -------------------------------
def record_primitive(node, arrays, data, before):
    """After ``data = node.forward(*arrays)`` ran while recording: add it as a step.
    ``before`` is ``node_arrays(node)`` taken before the forward (its array parameters)."""
    plan = _state["plan"]
    # array parameters are inputs (constants when no step made them, so that the two
    # recordings compare them); arrays that appear during the forward are outputs
    attr_in = [(p, a) for p, a in before if p[0] in ("attr", "tuple")]
    inputs = [*arrays, *(a for _, a in attr_in)]
    for a in inputs:  # slots first: what the forward saves of its inputs is no output
        plan.slot(a)
    given = {id(a) for _, a in before}
    attr_out = [
        (p, a)
        for p, a in node_arrays(node)
        if id(a) not in given and a is not data and plan.slot_of(a) is None
    ]
    plan.add_step(
        type(node).__name__,
        _primitive_kernel(node, len(arrays), [p for p, _ in attr_in], [p for p, _ in attr_out]),
        inputs,
        [data, *(a for _, a in attr_out)],
        _plain_params(node),
    )


def host(name, kernel, arrays=(), params=()):
    """Run ``kernel(*arrays)`` (work on arrays outside the graph) and, while recording,
    add it as a step. Its outputs are its result when that is an array, or the arrays in
    the tuple it returns (None entries stay None). Primitives that the kernel applies are
    part of it, not steps of their own."""
    plan = _state["plan"]
    if plan is None:
        return kernel(*arrays)
    _state["plan"] = None
    try:
        result = kernel(*arrays)
    finally:
        _state["plan"] = plan
    plan.add_step(name, _host_kernel(kernel, result), arrays, _arrays_of(result), params)
    return result


def _arrays_of(result):
    items = result if isinstance(result, tuple) else (result,)
    return [a for a in items if _is_array(a)]


def _host_kernel(kernel, recorded):
    """``kernel`` returning the arrays of its result as a tuple (see ``host``)."""
    if _is_array(recorded):
        return lambda *arrays: (kernel(*arrays),)
    if isinstance(recorded, tuple):
        return lambda *arrays: tuple(_arrays_of(kernel(*arrays)))
    return lambda *arrays: (kernel(*arrays), ())[1]


def node_arrays(node):
    """``(path, array)`` for each array a node holds: in an attribute (``("attr", name)``),
    in its ``saved`` tuple (``("saved", i)``, an array or a Tensor's data) or in a dict
    attribute (``("dict", name, key)``, e.g. batch statistics handed back to the op)."""
    found = []
    for name, value in vars(node).items():
        if name in ("parents", "_output"):
            continue
        if isinstance(value, B.xp.ndarray):
            found.append((("attr", name), value))
        elif name == "saved" and isinstance(value, tuple):
            for i, item in enumerate(value):
                array = item.data if isinstance(item, Tensor) else item
                if isinstance(array, B.xp.ndarray):
                    found.append((("saved", i), array))
        elif isinstance(value, tuple):  # e.g. a fancy index: grids and the indices
            found += [(("tuple", name, i), v) for i, v in enumerate(value) if _is_array(v)]
        elif isinstance(value, dict):
            found += [(("dict", name, k), v) for k, v in value.items() if _is_array(v)]
    return found


def _is_array(value):
    return isinstance(value, B.xp.ndarray)


def _get(node, path):
    if path[0] == "attr":
        return getattr(node, path[1])
    if path[0] in ("dict", "tuple"):
        return getattr(node, path[1])[path[2]]
    item = node.saved[path[1]]
    return item.data if isinstance(item, Tensor) else item


def _set(node, path, array):
    """Put ``array`` where ``path`` says (an attribute or an item of a tuple attribute)."""
    if path[0] == "attr":
        setattr(node, path[1], array)
    else:
        items = list(getattr(node, path[1]))
        items[path[2]] = array
        setattr(node, path[1], tuple(items))


def _primitive_kernel(node, n_inputs, attr_in, attr_out):
    """A primitive as a plan kernel: set its array parameters, run its forward, return its
    output and the arrays it kept for backward. (A forward may save ``self.parents``: the
    recording's Tensors are put back, so that what it saves has the same layout.) The node
    then lets go of what it kept: the plan's slots hold it for as long as it is needed, and
    a node holding arrays past the step would keep memory that the next step allocates."""
    parents = node.parents
    dicts = [path[1] for path in attr_out if path[0] == "dict"]

    def kernel(*arrays):
        node.parents = parents
        for path, array in zip(attr_in, arrays[n_inputs:]):
            _set(node, path, array)
        out = node.forward(*arrays[:n_inputs])
        out = out if isinstance(out, B.xp.ndarray) else B.as_array(out)  # as Tensor() does
        results = (out, *(_get(node, path) for path in attr_out))
        node.saved = ()
        for path in attr_out:
            if path[0] == "attr":
                setattr(node, path[1], None)
        for name in dicts:
            getattr(node, name).clear()
        return results

    return kernel


def _plain_params(node):
    params = []
    for name, value in sorted(vars(node).items()):
        if name in _BOOKKEEPING or isinstance(value, B.xp.ndarray | Tensor):
            continue
        params.append((name, _plain(value)))
    return tuple(params)


def _plain(value):
    if value is None or isinstance(value, numbers.Number | str | bool):
        return value
    if isinstance(value, tuple | list):
        return tuple(_plain(v) for v in value)
    return type(value).__name__


def compare(first, second):
    """Why two recordings of one function cannot be replayed as one plan, or None."""
    if len(first.signature) != len(second.signature):
        n, m = len(first.signature), len(second.signature)
        return f"the two recorded calls ran {n} and {m} kernels"
    for i, (a, b) in enumerate(zip(first.signature, second.signature)):
        if a != b:
            return f"kernel {i} ({a[0]}) differs between two calls: {a} vs {b}"
    if first.arguments != second.arguments:
        return "the arguments were bound differently"
    read = {i for _, _, ins, _ in second.steps for i in ins}
    for k, slot in enumerate(second.arguments):
        if slot not in read:
            return f"argument {k} is not read by any kernel (converted outside the graph?)"
    for slot in second.constants:
        old, new = first.values[slot], second.values[slot]
        if old is new:
            continue
        same = old.shape == new.shape and old.dtype == new.dtype
        if not (same and B.xp.array_equal(old, new, equal_nan=True)):
            user = next((name for name, _, ins, _ in second.steps if slot in ins), "?")
            return (
                f"a constant of shape {new.shape} read by {user} changed between two calls: "
                "it is computed outside the recorded kernels (a raw array expression or an "
                "unrecorded draw)"
            )
    return None


class _Recording:
    def __init__(self, plan):
        self.plan = plan

    def __enter__(self):
        _state["plan"] = self.plan
        return self.plan

    def __exit__(self, *exc):
        _state["plan"] = None
        return False


def record(fn, args, arrays):
    """Call ``fn(*args)`` eagerly while recording, ``arrays`` being the arrays of ``args``
    (a Tensor's data); returns ``(result, plan)``."""
    plan = Plan()
    for a in arrays:
        if isinstance(a, B.xp.ndarray):
            plan.bind_argument(a)
    with _Recording(plan):
        result = fn(*args)
    return result, plan


def can_record():
    """Whether recording (or replaying) can happen now: not inside another recording, not
    under the kernel recorder of ``model.explain``, which must see the graph, and not while
    a leaf hook is registered (data parallelism all-reduces gradients from the engine's
    hooks, which a replay would skip)."""
    return _state["plan"] is None and not trace.recording() and not engine.leaf_hooks_registered()

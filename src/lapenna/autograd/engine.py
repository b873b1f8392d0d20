"""The backward engine: an iterative walk of the graph in reverse topological order.

This is the one place where broadcasting is undone: every gradient a ``Function`` returns
is summed to the shape of the input it belongs to before it is accumulated.
"""

from lapenna import backend as B
from lapenna.autograd import grad_mode
from lapenna.autograd.tensor import Tensor
from lapenna.backend import trace


def _topological_order(roots):
    """Nodes reachable from ``roots``, each after every node that consumes its output."""
    order, visited = [], set()
    stack = [(t, False) for t in roots if t.node is not None]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        for i, parent in enumerate(t.node.parents):
            if t.node.needs_grad[i] and parent.node is not None and id(parent) not in visited:
                stack.append((parent, False))
    order.reverse()
    return order


def sum_to_shape(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving ``shape``."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, d in enumerate(shape) if d == 1 and grad.shape[i + lead] != 1
    )
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    return out.reshape(shape) if out.shape != shape else out


_leaf_hooks = {}


class _HookHandle:
    def __init__(self, key):
        self.key = key

    def remove(self):
        """Stop calling the hook."""
        _leaf_hooks.pop(self.key, None)


def leaf_hooks_registered():
    """Whether any leaf hook is registered. A captured step (``autograd.capture``) replays
    without this engine, so while a hook is registered steps run eagerly and hooks fire."""
    return bool(_leaf_hooks)


def register_leaf_hook(hook):
    """Call ``hook(leaf, gradient)`` in every backward pass as soon as a leaf's gradient
    is final: every node that uses the leaf has been differentiated, so nothing more will
    be added to it. Returns a handle whose ``remove()`` unregisters the hook.

    This is how gradients can be sent elsewhere (an all-reduce) while backward still
    runs on earlier layers. The hook must not change the gradient.

    Example:
        >>> import lapenna as lp
        >>> from lapenna.autograd import engine
        >>> w = lp.tensor([1.0, 2.0], requires_grad=True)
        >>> handle = engine.register_leaf_hook(lambda leaf, g: print(g.data))
        >>> (w * w).sum().backward()
        [2. 4.]
        >>> handle.remove()
    """
    if not callable(hook):
        raise TypeError(f"register_leaf_hook expects a callable, got {type(hook).__name__}")
    key = object()
    _leaf_hooks[key] = hook
    return _HookHandle(key)


def _leaf_uses(order):
    """How many nodes of ``order`` take each leaf (by id) as an input that needs grad."""
    uses = {}
    for t in order:
        for parent, needs in zip(t.node.parents, t.node.needs_grad):
            if needs and parent.node is None:
                uses[id(parent)] = uses.get(id(parent), 0) + 1
    return uses


def _leaf_done(node, uses, results):
    for parent, needs in zip(node.parents, node.needs_grad):
        if needs and parent.node is None:
            uses[id(parent)] -= 1
            if uses[id(parent)] == 0 and id(parent) in results:
                for hook in list(_leaf_hooks.values()):
                    hook(parent, results[id(parent)])


def _check_root(root, grad):
    if not isinstance(root, Tensor):
        raise TypeError(f"backward expects Tensors, got {type(root).__name__}")
    if not root.requires_grad:
        raise RuntimeError(
            "element 0 of the outputs does not require grad and has no graph: did you compute "
            "it under no_grad, or from tensors created without requires_grad=True?"
        )
    if grad is None:
        if root.size != 1:
            raise RuntimeError(
                f"backward on a non-scalar output of shape {root.shape} needs grad_outputs "
                "(the gradient of some scalar with respect to it)"
            )
        return Tensor(B.xp.ones(root.shape, dtype=root.dtype))
    grad = grad if isinstance(grad, Tensor) else Tensor(B.cast_like(grad, root.dtype))
    if grad.shape != root.shape:
        raise ValueError(f"grad_outputs has shape {grad.shape}, but the output has {root.shape}")
    return grad


def run_backward(roots, grads, retain_graph=None, create_graph=False, inputs=None):
    """Propagate ``grads`` from ``roots``; return a dict ``id(tensor) -> gradient``.

    With ``inputs`` the gradients of exactly those tensors are returned; without, every
    leaf that requires grad gets its gradient. The walk never recurses.
    """
    if retain_graph is None:
        retain_graph = create_graph
    grads = [None] * len(roots) if grads is None else list(grads)
    if len(grads) != len(roots):
        raise ValueError(f"got {len(grads)} grad_outputs for {len(roots)} outputs")
    pending = {}
    for root, g in zip(roots, grads):
        g = _check_root(root, g)
        pending[id(root)] = pending[id(root)] + g if id(root) in pending else g
    wanted = None if inputs is None else {id(t) for t in inputs}
    results = {}
    previous = grad_mode.set_enabled(create_graph)
    try:
        for t in [r for r in roots if r.node is None]:
            results[id(t)] = pending[id(t)]
        order = _topological_order(roots)
        uses = _leaf_uses(order) if _leaf_hooks else None
        for t in order:
            g = pending.pop(id(t), None)
            if wanted is not None and id(t) in wanted:
                results[id(t)] = g
            if g is None:
                if uses is not None:
                    _leaf_done(t.node, uses, results)
                continue
            node = t.node
            if node.freed:
                node.saved_tensors  # noqa: B018 - raises the clear freed-graph error
            if create_graph and not node.differentiable_backward:
                raise RuntimeError(f"{type(node).__name__} does not support higher-order gradients")
            trace.resume(node)  # what the backward runs belongs to the node's layer
            input_grads = node.backward(g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for parent, needs, pg in zip(node.parents, node.needs_grad, input_grads):
                if not needs or pg is None:
                    continue
                pg = sum_to_shape(pg, parent.shape)
                if pg.dtype != parent.dtype:
                    pg = pg.astype(parent.dtype)
                key = id(parent)
                if parent.node is None:
                    results[key] = results[key] + pg if key in results else pg
                else:
                    pending[key] = pending[key] + pg if key in pending else pg
            if uses is not None:
                _leaf_done(node, uses, results)
            if not retain_graph:
                node.release()
    finally:
        grad_mode.set_enabled(previous)
    return results


def backward(roots, grads=None, retain_graph=None, create_graph=False):
    """``Tensor.backward``: accumulate gradients into the ``.grad`` of every leaf."""
    leaves = {}
    stack, seen = list(roots), set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.node is None:
            leaves[id(t)] = t
        else:
            stack.extend(p for p, n in zip(t.node.parents, t.node.needs_grad) if n)
    results = run_backward(roots, grads, retain_graph, create_graph)
    for key, g in results.items():
        leaf = leaves.get(key)
        if leaf is None or not leaf.requires_grad:
            continue
        g = g if create_graph else g.detach()
        leaf.grad = g if leaf.grad is None else leaf.grad + g


def grad(
    outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None, allow_unused=False
):
    """Return the gradients of ``outputs`` with respect to ``inputs`` as a list of Tensors.

    Args:
        outputs: a Tensor or a sequence of Tensors.
        inputs: a Tensor or a sequence of Tensors that the outputs depend on.
        grad_outputs: the gradients of some scalar with respect to ``outputs``; may be
            omitted for scalar outputs.
        create_graph: record the backward pass, so the result can be differentiated again.
        retain_graph: keep the graph for another backward (default ``create_graph``).
        allow_unused: return ``None`` for inputs the outputs do not depend on, instead of
            raising.

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor(3.0, requires_grad=True)
        >>> (dx,) = lp.grad(x * x, x, create_graph=True)
        >>> lp.grad(dx, x)[0].item()
        2.0
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is not None and isinstance(grad_outputs, Tensor | B.xp.ndarray):
        grad_outputs = [grad_outputs]
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(
                f"input {i} of grad() does not require grad: create it with "
                "requires_grad=True (or watch it on a GradientTape)"
            )
    results = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs)
    out = []
    for i, t in enumerate(inputs):
        g = results.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"input {i} of grad() was not used to compute the outputs; pass "
                "allow_unused=True to get None for it"
            )
        out.append(g if g is None or create_graph else g.detach())
    return out

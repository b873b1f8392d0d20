"""``GradientTape``: the TensorFlow way of asking for gradients.

Operations are always recorded when a tensor requires grad, so the tape's job is small:
``watch`` makes a constant tensor require grad for the tape's lifetime, trainable
Variables are watched automatically, and ``gradient`` asks the engine. A tape whose
``gradient`` is called while another tape is still recording builds a differentiable
gradient, which is how nested tapes give second derivatives.
"""

from lapenna.autograd import engine
from lapenna.autograd.tensor import Tensor

_active = []


class GradientTape:
    """Record operations for automatic differentiation.

    Args:
        persistent: allow ``gradient`` to be called more than once.
        watch_accessed_variables: kept for Keras compatibility; trainable Variables always
            require grad, so they are always watched.

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor(3.0)
        >>> with lp.GradientTape() as outer:
        ...     outer.watch(x)
        ...     with lp.GradientTape() as inner:
        ...         inner.watch(x)
        ...         y = x * x
        ...     dy_dx = inner.gradient(y, x)
        >>> outer.gradient(dy_dx, x).item()
        2.0
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = persistent
        self._watched = []
        self._used = False
        self._recording = False

    def __enter__(self):
        _active.append(self)
        self._recording = True
        return self

    def __exit__(self, *exc):
        self._recording = False
        _active.remove(self)
        for t, previous in reversed(self._watched):
            t.requires_grad = previous
        return False

    def watch(self, tensor):
        """Make ``tensor`` (or each tensor of a list) tracked by this tape."""
        for t in tensor if isinstance(tensor, list | tuple) else [tensor]:
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch expects Tensors, got {type(t).__name__}")
            if not t.requires_grad:
                self._watched.append((t, False))
                t.requires_grad = True

    def gradient(self, target, sources, output_gradients=None):
        """Return d(target)/d(sources), shaped like ``sources`` (a Tensor, list or dict).

        Sources that the target does not depend on get ``None``, as in TensorFlow.
        """
        if self._used and not self.persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only compute one gradient; create it with "
                "persistent=True to call gradient() more than once"
            )
        self._used = True
        if isinstance(sources, dict):
            keys, flat = list(sources), list(sources.values())
        else:
            keys, flat = None, [sources] if isinstance(sources, Tensor) else list(sources)
        targets = list(target) if isinstance(target, list | tuple) else [target]
        if output_gradients is not None and not isinstance(output_gradients, list | tuple):
            output_gradients = [output_gradients]
        nested = any(tape is not self and tape._recording for tape in _active)
        watched = {id(t) for t, _ in self._watched}
        live = [s for s in flat if isinstance(s, Tensor) and (s.requires_grad or id(s) in watched)]
        live_targets = [t for t in targets if isinstance(t, Tensor) and t.requires_grad]
        grads = {}
        if live and live_targets:
            if output_gradients is not None:
                output_gradients = [
                    g
                    for t, g in zip(targets, output_gradients)
                    if any(t is lt for lt in live_targets)
                ]
            results = engine.run_backward(
                live_targets,
                output_gradients,
                retain_graph=self.persistent or nested,
                create_graph=nested,
                inputs=live,
            )
            grads = {key: g if nested else g.detach() for key, g in results.items()}
        out = [grads.get(id(s)) for s in flat]
        if keys is not None:
            return dict(zip(keys, out))
        return out[0] if isinstance(sources, Tensor) else out

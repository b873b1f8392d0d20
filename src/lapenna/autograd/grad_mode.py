"""Whether operations record the graph: ``no_grad`` and ``enable_grad``."""

import functools

_enabled = True


def is_enabled():
    return _enabled


def set_enabled(flag):
    global _enabled
    previous = _enabled
    _enabled = bool(flag)
    return previous


class _GradMode:
    flag = True

    def __enter__(self):
        self._previous = set_enabled(self.flag)
        return self

    def __exit__(self, *exc):
        set_enabled(self._previous)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):  # noqa: N801 - the name users know
    """Context manager (and decorator) in which operations record no graph.

    Example:
        >>> import lapenna as lp
        >>> w = lp.tensor([1.0, 2.0], requires_grad=True)
        >>> with lp.no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """

    flag = False


class enable_grad(_GradMode):  # noqa: N801
    """Context manager that turns graph recording back on inside ``no_grad``."""

    flag = True

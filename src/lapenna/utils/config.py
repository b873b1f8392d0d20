"""``Configurable``: the one base of objects whose config is their constructor.

Initializers, regularizers, constraints and learning-rate schedules share it: a subclass
stores its constructor arguments and returns them from ``get_config``; ``from_config``
calls the constructor with them, and ``repr`` shows them.

Example:
    >>> class Scale(Configurable):
    ...     def __init__(self, factor=2.0):
    ...         self.factor = factor
    ...     def get_config(self):
    ...         return {"factor": self.factor}
    >>> Scale.from_config(Scale(3.0).get_config())
    Scale(factor=3.0)
"""


class Configurable:
    """A base whose ``get_config`` returns JSON-safe constructor arguments."""

    def get_config(self):
        """Return the constructor arguments as a JSON-safe dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Rebuild an object from ``get_config``'s dict."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

"""``InputSpec``: what a built layer accepts, checked before any array math."""


class InputSpec:
    """Constraints on a layer's input: rank and the size of given axes.

    Args:
        ndim: the exact rank, or None.
        min_ndim: the smallest rank, or None.
        axes: ``{axis: size}`` for axes whose size is fixed once the layer is built.
    """

    def __init__(self, ndim=None, min_ndim=None, axes=None):
        self.ndim = ndim
        self.min_ndim = min_ndim
        self.axes = dict(axes or {})

    def check(self, layer, shape):
        """Raise ``ValueError`` naming ``layer`` when ``shape`` does not fit."""
        shape = tuple(shape)
        who = f"{type(layer).__name__} '{layer.name}'"
        if self.ndim is not None and len(shape) != self.ndim:
            raise ValueError(f"{who} expects inputs of rank {self.ndim}, got shape {shape}")
        if self.min_ndim is not None and len(shape) < self.min_ndim:
            raise ValueError(
                f"{who} expects inputs of rank at least {self.min_ndim}, got shape {shape}"
            )
        for axis, size in self.axes.items():
            if size is None or -len(shape) > axis or axis >= len(shape):
                continue
            got = shape[axis]
            if got is not None and got != size:
                where = "last axis" if axis == -1 else f"axis {axis}"
                raise ValueError(f"{who} expects inputs whose {where} is {size}, got shape {shape}")

    def __repr__(self):
        return f"InputSpec(ndim={self.ndim}, min_ndim={self.min_ndim}, axes={self.axes})"

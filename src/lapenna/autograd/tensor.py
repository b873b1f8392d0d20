"""``Tensor``: an array, its gradient, and the node that made it."""

from lapenna import backend as B
from lapenna.backend import xp


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Args:
        data: an array (or anything ``lp.tensor`` accepts; prefer ``lp.tensor``).
        requires_grad: record operations on this tensor so gradients can flow to it.

    Attributes:
        data: the underlying array.
        grad: the accumulated gradient (a Tensor) after ``backward``; ``None`` before.
        node: the ``Function`` that produced this tensor, ``None`` for leaves.

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad.numpy().tolist()
        [2.0, 4.0, 6.0]
    """

    __array_ufunc__ = None  # numpy defers `array + tensor` to Tensor.__radd__
    __hash__ = object.__hash__

    def __init__(self, data, requires_grad=False, _node=None, name=None):
        self.data = data if isinstance(data, xp.ndarray) else B.as_array(data)
        if self.data.dtype.kind in "USOV":
            raise TypeError(
                f"Tensor expects numbers, got an array of dtype {self.data.dtype}"
                + (" (strings)" if self.data.dtype.kind in "US" else "")
            )
        self.node = _node
        self.grad = None
        self.name = name
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    # -- properties ---------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag and not B.is_float_dtype(self.data.dtype):
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}"
            )
        self._requires_grad = bool(flag)

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def is_leaf(self):
        return self.node is None

    @property
    def T(self):  # noqa: N802 - numpy's name
        return self.transpose()

    def numpy(self):
        """Return the values as a numpy array: the underlying array itself on the CPU
        (shared, not copied), a copy on the host when the tensor lives on a GPU."""
        return B.to_host(self.data)

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        data = B.to_host(self.data)
        return data if dtype is None else data.astype(dtype)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = xp.array2string(self.data, separator=", ", prefix="tensor(")
        return f"tensor({body}, dtype={self.dtype}{grad})"

    # -- graph --------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires it.

        Args:
            grad: the gradient of some scalar with respect to ``self``; optional for scalars.
            retain_graph: keep saved values so backward can run again (default:
                ``create_graph``).
            create_graph: record the backward pass so the gradients are differentiable.
        """
        from_engine.backward([self], None if grad is None else [grad], retain_graph, create_graph)

    def detach(self):
        """Return a new leaf Tensor sharing the data, cut from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, flag=True):
        self.requires_grad = flag
        return self

    def zero_grad(self):
        self.grad = None

    # -- arithmetic ---------------------------------------------------------------------
    def __add__(self, other):
        return F.Add.apply(self, other)

    def __radd__(self, other):
        return F.Add.apply(other, self)

    def __sub__(self, other):
        return F.Subtract.apply(self, other)

    def __rsub__(self, other):
        return F.Subtract.apply(other, self)

    def __mul__(self, other):
        return F.Multiply.apply(self, other)

    def __rmul__(self, other):
        return F.Multiply.apply(other, self)

    def __truediv__(self, other):
        return F.Divide.apply(self, other)

    def __rtruediv__(self, other):
        return F.Divide.apply(other, self)

    def __pow__(self, other):
        return F.Power.apply(self, other)

    def __rpow__(self, other):
        return F.Power.apply(other, self)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __neg__(self):
        return F.Negative.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return F.Abs.apply(self)

    # -- comparisons (no gradient) ------------------------------------------------------
    def _compare(self, other, fn):
        other = other.data if isinstance(other, Tensor) else B.cast_like(other, self.dtype)
        return Tensor(fn(self.data, other))

    def __lt__(self, other):
        return self._compare(other, xp.less)

    def __le__(self, other):
        return self._compare(other, xp.less_equal)

    def __gt__(self, other):
        return self._compare(other, xp.greater)

    def __ge__(self, other):
        return self._compare(other, xp.greater_equal)

    def __eq__(self, other):
        return self._compare(other, xp.equal)

    def __ne__(self, other):
        return self._compare(other, xp.not_equal)

    # -- indexing -----------------------------------------------------------------------
    def __getitem__(self, index):
        return F.GetItem.apply(self, index=_normalize_index(index))

    def __setitem__(self, index, value):
        raise TypeError(
            "Tensors are immutable in the graph; build a new tensor with lp.ops.where or "
            "update a Variable with assign()"
        )

    # -- methods (numpy names) ----------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return F.Sum.apply(self, axis=_axes(axis, self.ndim), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        axes = _axes(axis, self.ndim)
        count = 1
        for a in axes:
            count *= self.shape[a]
        return F.Sum.apply(self, axis=axes, keepdims=keepdims) / B.cast_like(count, self.dtype)

    def max(self, axis=None, keepdims=False):
        return F.Max.apply(self, axis=_axes(axis, self.ndim), keepdims=keepdims, sign=1)

    def min(self, axis=None, keepdims=False):
        return F.Max.apply(self, axis=_axes(axis, self.ndim), keepdims=keepdims, sign=-1)

    def var(self, axis=None, keepdims=False, ddof=0):
        axes = _axes(axis, self.ndim)
        centered = self - self.mean(axis=axes, keepdims=True)
        count = 1
        for a in axes:
            count *= self.shape[a]
        return (centered * centered).sum(axis=axes, keepdims=keepdims) / B.cast_like(
            max(count - ddof, 0), self.dtype
        )

    def std(self, axis=None, keepdims=False, ddof=0):
        return self.var(axis=axis, keepdims=keepdims, ddof=ddof).sqrt()

    def argmax(self, axis=None):
        return Tensor(xp.argmax(self.data, axis=axis))

    def argmin(self, axis=None):
        return Tensor(xp.argmin(self.data, axis=axis))

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
        return F.Reshape.apply(self, shape=tuple(shape))

    def flatten(self):
        return self.reshape(-1)

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], tuple | list) else axes
        axes = tuple(reversed(range(self.ndim))) if not axes else tuple(a % self.ndim for a in axes)
        return F.Transpose.apply(self, axes=axes)

    def swapaxes(self, a, b):
        axes = list(range(self.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return F.Transpose.apply(self, axes=tuple(axes))

    def broadcast_to(self, shape):
        shape = tuple(shape)
        return self if shape == self.shape else F.BroadcastTo.apply(self, shape=shape)

    def expand_dims(self, axis):
        shape = list(self.shape)
        shape.insert(axis if axis >= 0 else len(shape) + axis + 1, 1)
        return self.reshape(tuple(shape))

    def squeeze(self, axis=None):
        if axis is None:
            return self.reshape(tuple(d for d in self.shape if d != 1))
        axes = _axes(axis, self.ndim)
        for a in axes:
            if self.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} has size {self.shape[a]}, expected 1")
        return self.reshape(tuple(d for i, d in enumerate(self.shape) if i not in axes))

    def astype(self, dtype):
        dtype = B.to_dtype(dtype)
        return self if dtype == self.dtype else F.Cast.apply(self, dtype=dtype)

    def matmul(self, other):
        return F.matmul(self, other)

    def exp(self):
        return F.Exp.apply(self)

    def log(self):
        return F.Log.apply(self)

    def sqrt(self):
        return F.Sqrt.apply(self)

    def abs(self):
        return F.Abs.apply(self)

    def sign(self):
        return F.Sign.apply(self)

    def tanh(self):
        return F.Tanh.apply(self)

    def sigmoid(self):
        return F.Sigmoid.apply(self)

    def relu(self):
        return F.Relu.apply(self)

    def clip(self, low, high):
        return F.Clip.apply(self, low=low, high=high)


def _axes(axis, ndim):
    """Normalize ``axis`` (None, int or sequence; negatives allowed) to a sorted tuple."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of bounds for a tensor of rank {ndim}")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


def _normalize_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return xp.asarray(index)
    if isinstance(index, tuple):
        return tuple(_normalize_index(i) for i in index)
    return index


def as_tensor(value, like=None):
    """Wrap ``value`` in a Tensor; plain numbers adopt the dtype of ``like`` when it is float."""
    if isinstance(value, Tensor):
        return value
    if like is not None:
        return Tensor(B.cast_like(value, like.dtype))
    return Tensor(B.as_array(value))


def tensor(data, dtype=None, requires_grad=False):
    """Create a Tensor from a list, number, array or Tensor.

    Python floats become floatx (float32 unless changed), Python ints int64; numpy arrays
    keep their dtype unless ``dtype`` is given.

    Example:
        >>> import lapenna as lp
        >>> lp.tensor([[1.0, 2.0]]).shape
        (1, 2)
    """
    if isinstance(data, Tensor):
        data = data.data
    return Tensor(B.as_array(data, dtype), requires_grad=requires_grad)


from lapenna.autograd import engine as from_engine  # noqa: E402 - cycle: engine uses Tensor
from lapenna.autograd import functions as F  # noqa: E402

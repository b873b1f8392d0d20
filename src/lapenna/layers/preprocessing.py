"""Preprocessing layers: Rescaling and Normalization (with ``adapt``).

Putting preprocessing inside the model means a saved model takes raw inputs (pixels in
[0, 255], unscaled features) and applies exactly the preprocessing it was trained with.
Integer inputs (``uint8`` images) are cast to the layer's float dtype first. The image
layers Resizing and CenterCrop are in ``image_preprocessing``.
"""

import math
import warnings

from lapenna import backend as B
from lapenna import ops
from lapenna.autograd import Tensor, no_grad, tensor
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.input_spec import InputSpec

_EPSILON = 1e-7  # the floor on standard deviations, as in Keras


def _constant(value, dtype):
    """A Python number stays (it adopts the other operand's dtype); a list becomes a Tensor."""
    return value if isinstance(value, float) else tensor(value, dtype=dtype)


def _numbers(layer, name, value):
    """A finite number or a non-empty list of them, returned as a float or list of floats."""
    values = list(value) if isinstance(value, list | tuple) else [value]
    if not values or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    ):
        raise ValueError(f"{layer} expects {name} as a number or a list of numbers, got {value!r}")
    return [float(v) for v in values] if isinstance(value, list | tuple) else float(value)


@register_layer
class Rescaling(Layer):
    """Multiply by ``scale`` and add ``offset``: ``Rescaling(1 / 255)`` maps pixels to [0, 1],
    ``Rescaling(1 / 127.5, offset=-1)`` to [-1, 1].

    Args:
        scale: a number, or a list with one value per channel (last axis).
        offset: a number, or a list with one value per channel.

    Input shape:
        any.

    Output shape:
        the input's, in the layer's float dtype.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.Rescaling(1 / 127.5, offset=-1.0)(lp.tensor([[0.0, 255.0]])).tolist()
        [[-1.0, 1.0]]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _numbers("Rescaling", "scale", scale)
        self.offset = _numbers("Rescaling", "offset", offset)

    def call(self, inputs):
        inputs = inputs.astype(self.dtype)
        return inputs * _constant(self.scale, self.dtype) + _constant(self.offset, self.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


@register_layer
class Normalization(Layer):
    """Standardize features: ``(x - mean) / sqrt(variance)``, per index of ``axis``.

    Give ``mean`` and ``variance``, or call :meth:`adapt` on training data to compute them;
    adapted statistics are non-trainable weights (``mean``, ``variance`` and ``count``, the
    number of values each statistic was computed from), so they are saved with the model.
    The standard deviation is floored at 1e-7, so constant features do not divide by zero.
    Before ``adapt`` the statistics are mean 0 and variance 1, so the layer passes inputs
    through unchanged, as in Keras (with a warning, once per layer).

    Args:
        axis: the axis or axes that keep a separate mean and variance per index (default
            -1: one per feature or channel); every other axis is averaged over. ``None``
            gives one scalar mean and variance.
        mean: the mean, a number or a list broadcastable to the kept axes; or None.
        variance: the variance, like ``mean``; given together with it.
        invert: apply the inverse, ``x * sqrt(variance) + mean`` (to undo a normalization
            of targets, say).

    Input shape:
        any, with the kept axes of known size.

    Output shape:
        the input's.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> data = np.array([[0.0, 10.0], [2.0, 30.0]], dtype="float32")
        >>> layer = lp.layers.Normalization()
        >>> layer.adapt(data)
        >>> layer(data).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        axes = () if axis is None else (axis,) if isinstance(axis, int) else axis
        if not isinstance(axes, list | tuple) or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in axes
        ):
            raise ValueError(
                f"Normalization expects axis None, an int or a tuple of ints, got {axis!r}"
            )
        if (mean is None) != (variance is None):
            raise ValueError(
                "Normalization expects mean and variance together (or neither, then call "
                f"adapt), got mean={mean!r} and variance={variance!r}"
            )
        self.axis = None if axis is None else axis if isinstance(axis, int) else tuple(axis)
        self._axes = tuple(axes)
        self.input_mean = None if mean is None else _nested(mean)
        self.input_variance = None if variance is None else _nested(variance)
        if variance is not None and B.xp.min(B.as_array(self.input_variance)) < 0:
            raise ValueError(f"Normalization expects a non-negative variance, got {variance!r}")
        self.invert = bool(invert)
        self._warn_unadapted = True  # once per layer

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self._axes):
            raise ValueError(
                f"Normalization '{self.name}' has axis {self.axis}, out of range for inputs of "
                f"shape {tuple(input_shape)}"
            )
        self._keep = tuple(sorted({a % ndim for a in self._axes}))
        if any(input_shape[a] is None for a in self._keep):
            raise ValueError(
                f"Normalization '{self.name}' needs the size of axis {self.axis} to be known, "
                f"got shape {tuple(input_shape)}"
            )
        self._reduce = tuple(a for a in range(ndim) if a not in self._keep)
        self._broadcast = tuple(input_shape[a] if a in self._keep else 1 for a in range(ndim))
        shape = tuple(input_shape[a] for a in self._keep)
        if self.input_mean is None:
            self.mean = self.add_weight("mean", shape, "zeros", trainable=False)
            self.variance = self.add_weight("variance", shape, "ones", trainable=False)
            self.count = self.add_weight("count", (), "zeros", trainable=False)
        else:
            self.mean = self._given(self.input_mean, "mean", shape)
            self.variance = self._given(self.input_variance, "variance", shape)
            self.count = None
        axes = {a - ndim: input_shape[a] for a in self._keep}  # negative: "last axis is 3"
        self.input_spec = InputSpec(ndim=ndim, axes=axes)
        self.built = True  # a direct build() call must not be followed by a second one

    def _given(self, value, name, shape):
        value = tensor(value, dtype=self.dtype)
        try:
            B.xp.broadcast_shapes(value.shape, shape)
        except ValueError:
            raise ValueError(
                f"Normalization '{self.name}' expects a {name} broadcastable to {shape}, got "
                f"one of shape {value.shape}"
            ) from None
        return ops.broadcast_to(value, shape)

    def call(self, inputs):
        if self.count is not None and self._warn_unadapted and float(self.count.data) == 0:
            self._warn_unadapted = False
            warnings.warn(
                f"Normalization '{self.name}' has no statistics yet (mean 0, variance 1): it "
                "passes inputs through unchanged, as Keras does; call adapt(data) first, or "
                "give mean and variance",
                stacklevel=2,
            )
        inputs = inputs.astype(self.dtype)
        mean = ops.reshape(self.mean, self._broadcast)
        std = ops.maximum(ops.sqrt(ops.reshape(self.variance, self._broadcast)), _EPSILON)
        return inputs * std + mean if self.invert else (inputs - mean) / std

    def adapt(self, data, batch_size=None, steps=None):
        """Compute the mean and variance of ``data`` over every axis but ``axis``.

        Batches are merged with the pairwise update of Chan et al. (1979), so the result
        equals numpy's mean and (biased) variance of all the data at once without holding it
        in memory, and stays accurate in float32.

        Args:
            data: a numpy array, a Tensor, or an iterable of arrays such as a batched
                ``lapenna.data.Dataset`` of features.
            batch_size: split an array into batches of this many samples (saves memory).
            steps: use at most this many batches of an iterable (needed for endless ones).

        Raises:
            ValueError: if the layer was given mean and variance, data is empty, or a
                dataset yields (features, labels) pairs.
        """
        if self.input_mean is not None:
            raise ValueError(
                f"Normalization '{self.name}' was given mean and variance; adapt would "
                "overwrite them"
            )
        count, mean, m2, shift = 0, None, None, None
        with no_grad():
            for batch in _batches(self, data, batch_size, steps):
                if not self.built:
                    self._maybe_build((None, *batch.shape[1:]))
                self.input_spec.check(self, batch.shape)
                if shift is None:
                    # centring on a first estimate keeps float32 sums accurate even when
                    # |mean| is much larger than the standard deviation
                    shift = ops.mean(batch, axis=self._reduce, keepdims=True)
                count, mean, m2 = self._merge(count, mean, m2, batch - shift)
        if mean is None:
            raise ValueError(f"Normalization '{self.name}'.adapt got no data")
        self.mean.assign(mean + ops.reshape(shift, self.mean.shape))
        self.variance.assign(m2 / float(count))
        self.count.assign(float(count))

    def _merge(self, count, mean, m2, batch):
        """Merge a batch into (count, mean, sum of squared deviations): Chan et al.'s
        pairwise update."""
        n = math.prod(batch.shape[a] for a in self._reduce)
        batch_mean = ops.mean(batch, axis=self._reduce)
        batch_m2 = ops.var(batch, axis=self._reduce) * float(n)
        if mean is None:
            return n, batch_mean, batch_m2
        total = count + n
        delta = batch_mean - mean
        mean = mean + delta * (n / total)
        return total, mean, m2 + batch_m2 + delta * delta * (count * n / total)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis,
            "mean": self.input_mean,
            "variance": self.input_variance,
            "invert": self.invert,
        }


def _nested(value):
    """A number, list or array as JSON-safe floats (a float or nested lists)."""
    array = B.as_array(value.data if isinstance(value, Tensor) else value, "float64")
    return array.tolist()


def _batches(layer, data, batch_size, steps):
    """Yield float Tensors of the layer's dtype from an array or an iterable of arrays."""
    if isinstance(data, Tensor | B.xp.ndarray | list | tuple | int | float):
        array = data.data if isinstance(data, Tensor) else B.as_array(data)
        if array.ndim == 0:
            array = array.reshape(1)
        size = batch_size or max(len(array), 1)
        for start in range(0, len(array), size):
            yield Tensor(array[start : start + size]).astype(layer.dtype)
        return
    for step, element in enumerate(data):
        if steps is not None and step >= steps:
            return
        if isinstance(element, tuple | list | dict):
            raise ValueError(
                f"Normalization '{layer.name}'.adapt expects batches of features, got a "
                f"{type(element).__name__} of {len(element)} items; map the dataset to its "
                "features first: ds.map(lambda x, y: x)"
            )
        array = element.data if isinstance(element, Tensor) else B.as_array(element)
        yield Tensor(array).astype(layer.dtype)

"""Activation layers with arguments of their own: ReLU, LeakyReLU, ELU, PReLU, Softmax.

Each wraps the function of the same name in ``lapenna.activations``; PReLU learns its
negative slope.
"""

import math

from lapenna import activations, ops
from lapenna import constraints as constraints_module
from lapenna import initializers as initializers_module
from lapenna import regularizers as regularizers_module
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.input_spec import InputSpec


def _check_number(layer, name, value, allow_none=False, allow_negative=False):
    if value is None and allow_none:
        return None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or (value < 0 and not allow_negative):
        kind = "a finite number" if allow_negative else "a number >= 0"
        raise ValueError(f"{layer} expects {name} to be {kind}, got {value!r}")
    return float(value)


@register_layer
class ReLU(Layer):
    """The rectified linear unit with Keras's options.

    ``max_value`` where x >= max_value, ``x`` where threshold <= x < max_value, and
    ``negative_slope * (x - threshold)`` below the threshold.

    Args:
        max_value: an upper bound (>= 0), or None for none.
        negative_slope: the slope below the threshold (>= 0).
        threshold: the value below which units are off.

    Input shape:
        any.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.ReLU(max_value=6.0)(lp.tensor([[-1.0, 3.0, 9.0]])).tolist()
        [[0.0, 3.0, 6.0]]
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _check_number("ReLU", "max_value", max_value, allow_none=True)
        self.negative_slope = _check_number("ReLU", "negative_slope", negative_slope)
        self.threshold = _check_number("ReLU", "threshold", threshold, allow_negative=True)

    def call(self, inputs):
        return activations.relu(
            inputs,
            negative_slope=self.negative_slope,
            max_value=self.max_value,
            threshold=self.threshold,
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


@register_layer
class LeakyReLU(Layer):
    """``x`` where x > 0, else ``negative_slope * x``.

    Reference: Maas et al., "Rectifier nonlinearities improve neural network acoustic
    models", ICML 2013.

    Args:
        negative_slope: the slope for negative inputs (>= 0); Keras's layer default 0.3.

    Input shape:
        any.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.LeakyReLU(0.5)(lp.tensor([[-2.0, 3.0]])).tolist()
        [[-1.0, 3.0]]
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = _check_number("LeakyReLU", "negative_slope", negative_slope)

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


@register_layer
class ELU(Layer):
    """The exponential linear unit: ``x`` where x > 0, else ``alpha * (exp(x) - 1)``.

    Reference: Clevert et al., "Fast and accurate deep network learning by exponential
    linear units (ELUs)", ICLR 2016.

    Args:
        alpha: the value the negative part saturates to, as ``-alpha`` (>= 0).

    Input shape:
        any.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> round(lp.layers.ELU()(lp.tensor([[-1.0]])).item(), 4)
        -0.6321
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _check_number("ELU", "alpha", alpha)

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@register_layer
class PReLU(Layer):
    """The parametric ReLU: ``x`` where x >= 0, else ``alpha * x`` with a learned ``alpha``.

    ``alpha`` has one entry per input feature (the shape of one sample) except along
    ``shared_axes``, where one slope serves the whole axis; for feature maps of shape
    ``(batch, height, width, channels)``, ``shared_axes=[1, 2]`` learns one slope per
    channel as in the paper. It starts at zero (a plain ReLU).

    Reference: He et al., "Delving deep into rectifiers: surpassing human-level performance
    on ImageNet classification", ICCV 2015.

    Args:
        alpha_initializer: the initializer of the slopes (default ``"zeros"``).
        alpha_regularizer: a penalty on the slopes added to ``layer.losses``.
        alpha_constraint: a projection applied to the slopes after each step.
        shared_axes: an axis or a list of axes (1 is the first non-batch axis) along which
            the slope is shared.

    Input shape:
        any, with a batch axis first.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.PReLU(shared_axes=[1, 2])
        >>> layer.build((None, 8, 8, 3))
        >>> layer.alpha.shape
        (1, 1, 3)
    """

    def __init__(
        self,
        alpha_initializer="zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers_module.get(alpha_initializer)
        self.alpha_regularizer = regularizers_module.get(alpha_regularizer)
        self.alpha_constraint = constraints_module.get(alpha_constraint)
        axes = [shared_axes] if isinstance(shared_axes, int) else shared_axes
        if axes is not None and (
            not isinstance(axes, list | tuple)
            or not all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in axes)
        ):
            raise ValueError(
                f"PReLU expects shared_axes None, an int >= 1 or a list of them, "
                f"got {shared_axes!r}"
            )
        self.shared_axes = None if axes is None else tuple(sorted(set(axes)))

    def build(self, input_shape):
        shared = self.shared_axes or ()
        if any(a >= len(input_shape) for a in shared):
            raise ValueError(
                f"PReLU '{self.name}' has shared_axes {list(shared)} beyond the input's axes, "
                f"got shape {tuple(input_shape)}"
            )
        shape = tuple(1 if i in shared else d for i, d in enumerate(input_shape) if i > 0)
        if any(d is None for d in shape):
            raise ValueError(
                f"PReLU '{self.name}' needs a known size on every axis it does not share, "
                f"got shape {tuple(input_shape)}"
            )
        self.alpha = self.add_weight(
            "alpha", shape, self.alpha_initializer, self.alpha_regularizer, self.alpha_constraint
        )
        axes = {i: d for i, d in enumerate(input_shape) if i > 0 and i not in shared}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)
        self.built = True  # a direct build() call must not be followed by a second one

    def call(self, inputs):
        # relu(x) - alpha * relu(-x) puts the whole negative part on alpha, so its gradient
        # with respect to alpha is min(x, 0), summed over the shared axes by broadcasting.
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers_module.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers_module.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints_module.serialize(self.alpha_constraint),
            "shared_axes": None if self.shared_axes is None else list(self.shared_axes),
        }


@register_layer
class Softmax(Layer):
    """Softmax along ``axis``: non-negative outputs that sum to one.

    Called with a boolean ``mask`` of the input's shape (or broadcastable to it), masked
    positions get probability 0 and the rest share the whole mass; a slice whose positions
    are all masked gives zeros rather than NaNs.

    Args:
        axis: an axis or a tuple of axes along which to normalize (default -1).

    Input shape:
        any.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.Softmax()(lp.tensor([[0.0, 0.0]])).tolist()
        [[0.5, 0.5]]
        >>> mask = lp.tensor([[True, False, True]])
        >>> lp.layers.Softmax()(lp.tensor([[0.0, 5.0, 0.0]]), mask=mask).tolist()
        [[0.5, 0.0, 0.5]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = (axis,) if isinstance(axis, int) else axis
        if (
            not isinstance(axes, list | tuple)
            or not axes
            or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes)
        ):
            raise ValueError(f"Softmax expects axis as an int or a tuple of ints, got {axis!r}")
        self.axis = axis if isinstance(axis, int) else tuple(axis)

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = ops.broadcast_to(mask, inputs.shape).astype("bool")
            # where() cuts masked logits out of the graph, unlike adding a large negative
            inputs = ops.where(mask, inputs, _lowest(inputs.dtype))
        if isinstance(self.axis, int):
            outputs = activations.softmax(inputs, axis=self.axis)
        else:
            outputs = ops.exp(inputs - ops.logsumexp(inputs, axis=self.axis, keepdims=True))
        if mask is not None:
            outputs = ops.where(mask, outputs, 0.0)
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        axis = self.axis if isinstance(self.axis, int) else list(self.axis)
        return {**super().get_config(), "axis": axis}


def _lowest(dtype):
    """A large negative logit: exp of it minus any real logit underflows to 0 in ``dtype``."""
    return -1e4 if str(dtype) == "float16" else -1e9

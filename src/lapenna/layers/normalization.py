"""Normalization layers: ``BatchNormalization``, ``LayerNormalization``,
``GroupNormalization``.

Each one standardises its input over some axes, ``(x - mean) / sqrt(variance + epsilon)``,
then applies a learned per-feature scale ``gamma`` and offset ``beta``. They differ in the
axes the statistics run over: the batch (and spatial positions) for batch normalization,
the features of one sample for layer normalization, groups of channels of one sample for
group normalization.
"""

from lapenna import constraints as constraints_module
from lapenna import initializers as initializers_module
from lapenna import ops
from lapenna import regularizers as regularizers_module
from lapenna.autograd import no_grad
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.conv_utils import positive_int
from lapenna.layers.input_spec import InputSpec


def _check_epsilon(epsilon, owner):
    if isinstance(epsilon, bool) or not isinstance(epsilon, int | float) or epsilon <= 0:
        raise ValueError(f"{owner} expects a positive epsilon, got {epsilon!r}")
    return float(epsilon)


def _check_axes(layer, axes, input_shape):
    """Axes made non-negative for ``input_shape``; each must exist, be known and not be the
    batch axis."""
    ndim = len(input_shape)
    who = f"{type(layer).__name__} '{layer.name}'"
    out = []
    for axis in axes:
        if not -ndim <= axis < ndim or axis % ndim == 0:
            raise ValueError(f"{who} cannot normalize over axis {axis}, got shape {input_shape}")
        if input_shape[axis] is None:
            raise ValueError(f"{who} needs a known size on axis {axis}, got shape {input_shape}")
        out.append(axis % ndim)
    return tuple(out)


class _ScaleOffset(Layer):
    """The ``gamma``/``beta`` arguments and weights the normalization layers share."""

    def __init__(
        self,
        epsilon,
        center,
        scale,
        beta_initializer,
        gamma_initializer,
        beta_regularizer,
        gamma_regularizer,
        beta_constraint,
        gamma_constraint,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.epsilon = _check_epsilon(epsilon, type(self).__name__)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers_module.get(beta_initializer)
        self.gamma_initializer = initializers_module.get(gamma_initializer)
        self.beta_regularizer = regularizers_module.get(beta_regularizer)
        self.gamma_regularizer = regularizers_module.get(gamma_regularizer)
        self.beta_constraint = constraints_module.get(beta_constraint)
        self.gamma_constraint = constraints_module.get(gamma_constraint)

    def _add_gamma_beta(self, shape):
        """Create ``gamma`` then ``beta`` (Keras's order); ``None`` when turned off."""
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(
                "gamma",
                shape,
                self.gamma_initializer,
                self.gamma_regularizer,
                self.gamma_constraint,
            )
        if self.center:
            self.beta = self.add_weight(
                "beta", shape, self.beta_initializer, self.beta_regularizer, self.beta_constraint
            )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers_module.serialize(self.beta_initializer),
            "gamma_initializer": initializers_module.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers_module.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers_module.serialize(self.gamma_regularizer),
            "beta_constraint": constraints_module.serialize(self.beta_constraint),
            "gamma_constraint": constraints_module.serialize(self.gamma_constraint),
        }


@register_layer
class BatchNormalization(_ScaleOffset):
    """Normalize each feature with statistics over the batch (Ioffe and Szegedy, "Batch
    Normalization", ICML 2015).

    In training (``training=True`` and the layer trainable) it normalizes with the mean and
    the biased variance (divided by n, as Keras does) of the current batch over every axis
    but ``axis``, and updates the moving statistics in place, outside the graph:
    ``moving = moving * momentum + batch_statistic * (1 - momentum)``. Otherwise, including
    when the layer is frozen (``trainable = False``, as in Keras, for fine-tuning), it
    normalizes with the moving statistics and changes nothing.

    Weights, in Keras's order: ``gamma`` and ``beta`` (trainable, when ``scale`` and
    ``center``), ``moving_mean`` and ``moving_variance`` (not trainable); one value per
    feature each.

    Args:
        axis: the feature axis (channels last: -1).
        momentum: weight of the old moving statistics in each update, in [0, 1].
        epsilon: added to the variance before the square root.
        center, scale: learn ``beta`` and ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
            moving_variance_initializer: initial values (zeros, ones, zeros, ones).
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: as for
            kernels.

    Input shape:
        any, with a known size on ``axis``. Output shape: the input's.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> layer = lp.layers.BatchNormalization(momentum=0.5)
        >>> x = np.array([[0.0, 10.0], [2.0, 30.0]], dtype="float32")
        >>> layer(x, training=True).numpy().round(3).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> layer.moving_mean.numpy().tolist(), layer.moving_variance.numpy().tolist()
        ([0.5, 10.0], [1.0, 50.5])
        >>> len(layer.trainable_weights), len(layer.non_trainable_weights)
        (2, 2)
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"BatchNormalization expects an int axis, got {axis!r}")
        if isinstance(momentum, bool) or not isinstance(momentum, int | float):
            raise ValueError(f"BatchNormalization expects momentum in [0, 1], got {momentum!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNormalization expects momentum in [0, 1], got {momentum!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.moving_mean_initializer = initializers_module.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers_module.get(moving_variance_initializer)

    def build(self, input_shape):
        (axis,) = _check_axes(self, (self.axis,), input_shape)
        features = (input_shape[axis],)
        self._add_gamma_beta(features)
        self.moving_mean = self.add_weight(
            "moving_mean", features, self.moving_mean_initializer, trainable=False
        )
        self.moving_variance = self.add_weight(
            "moving_variance", features, self.moving_variance_initializer, trainable=False
        )
        self.input_spec = InputSpec(ndim=len(input_shape), axes={axis: input_shape[axis]})

    def call(self, inputs, training=None):
        if not (training and self.trainable):
            return ops.batch_norm(
                inputs,
                self.gamma,
                self.beta,
                self.moving_mean,
                self.moving_variance,
                epsilon=self.epsilon,
                axis=self.axis,
                training=False,
            )
        outputs, mean, variance = ops.batch_norm(
            inputs, self.gamma, self.beta, epsilon=self.epsilon, axis=self.axis, training=True
        )
        with no_grad():
            keep, take = self.momentum, 1.0 - self.momentum
            self.moving_mean.assign(self.moving_mean * keep + mean * take)
            self.moving_variance.assign(self.moving_variance * keep + variance * take)
        return outputs

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "moving_mean_initializer": initializers_module.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers_module.serialize(
                self.moving_variance_initializer
            ),
        }


@register_layer
class LayerNormalization(_ScaleOffset):
    """Normalize each sample over its feature axes (Ba, Kiros and Hinton, "Layer
    Normalization", 2016); the same computation in training and inference.

    Args:
        axis: an int or a list of ints, the axes to normalize over (default the last);
            ``gamma`` and ``beta`` have the shape of those axes.
        epsilon: added to the variance before the square root.
        center, scale: learn ``beta`` and ``gamma``.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
            beta_constraint, gamma_constraint: as for kernels.

    Input shape:
        any. Output shape: the input's.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.LayerNormalization(epsilon=1e-6)
        >>> layer([[1.0, 3.0], [10.0, 50.0]]).numpy().round(3).tolist()
        [[-1.0, 1.0], [-1.0, 1.0]]
    """

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )
        axes = [axis] if isinstance(axis, int) and not isinstance(axis, bool) else axis
        if not isinstance(axes, list | tuple) or not axes:
            raise ValueError(f"LayerNormalization expects an int or a list of ints, got {axis!r}")
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise ValueError(f"LayerNormalization expects an int or a list of ints, got {axis!r}")
        self.axis = axis if isinstance(axis, int) else list(axis)

    def build(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        self._axes = tuple(sorted(_check_axes(self, axes, input_shape)))
        self._add_gamma_beta(tuple(input_shape[a] for a in self._axes))
        self.input_spec = InputSpec(
            ndim=len(input_shape), axes={a: input_shape[a] for a in self._axes}
        )

    def call(self, inputs):
        return ops.layer_norm(inputs, self.gamma, self.beta, axis=self._axes, epsilon=self.epsilon)

    @property
    def normalized_axes(self):
        """The axes normalised over, as non-negative ints (known once the layer is built)."""
        if not self.built:
            raise ValueError(f"LayerNormalization '{self.name}' is not built yet")
        return self._axes

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@register_layer
class GroupNormalization(_ScaleOffset):
    """Normalize each sample over groups of channels and all positions (Wu and He, "Group
    Normalization", ECCV 2018); independent of the batch size.

    ``groups=1`` normalizes over all channels and positions (layer normalization of a
    feature map); ``groups=channels`` normalizes each channel alone (instance
    normalization).

    Args:
        groups: the number of channel groups; it must divide the channel count.
        axis: the channel axis (default -1).
        epsilon: added to the variance before the square root.
        center, scale: learn per-channel ``beta`` and ``gamma``.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
            beta_constraint, gamma_constraint: as for kernels.

    Input shape:
        ``(batch, ..., channels)`` (rank at least 2). Output shape: the input's.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> layer = lp.layers.GroupNormalization(groups=2)
        >>> layer(np.random.default_rng(0).normal(size=(2, 4, 4, 6))).shape
        (2, 4, 4, 6)
        >>> layer.count_params()
        12
    """

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )
        self.groups = positive_int(groups, "groups", "GroupNormalization")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"GroupNormalization expects an int axis, got {axis!r}")
        self.axis = axis

    def build(self, input_shape):
        (axis,) = _check_axes(self, (self.axis,), input_shape)
        channels = input_shape[axis]
        if channels % self.groups:
            raise ValueError(
                f"GroupNormalization '{self.name}' expects a channel count divisible by "
                f"groups={self.groups}, got shape {tuple(input_shape)}"
            )
        self._add_gamma_beta((channels,))
        self.input_spec = InputSpec(ndim=len(input_shape), axes={axis: channels})

    def call(self, inputs):
        axis = self.axis % inputs.ndim
        shape = inputs.shape
        # split the channel axis into (groups, channels per group), then normalize over
        # every axis of one sample except the group axis
        grouped = ops.reshape(
            inputs, (*shape[:axis], self.groups, shape[axis] // self.groups, *shape[axis + 1 :])
        )
        reduce = tuple(a for a in range(1, grouped.ndim) if a != axis)
        normalized = ops.layer_norm(grouped, axis=reduce, epsilon=self.epsilon)
        outputs = ops.reshape(normalized, shape)
        broadcast = [shape[a] if a == axis else 1 for a in range(len(shape))]
        if self.gamma is not None:
            outputs = outputs * ops.reshape(self.gamma, broadcast)
        if self.beta is not None:
            outputs = outputs + ops.reshape(self.beta, broadcast)
        return outputs

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis}

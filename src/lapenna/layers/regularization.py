"""Regularization layers: Dropout, SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout,
ActivityRegularization.

The random ones act only when called with ``training=True`` (``fit`` passes it) and are the
identity otherwise; they draw from their own generator when given a ``seed``, else from the
global one, so ``lapenna.set_seed`` makes them reproducible.
"""

import math

from lapenna import ops
from lapenna import regularizers as regularizers_module
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.input_spec import InputSpec
from lapenna.layers.seeding import SeededLayer, check_rate


@register_layer
class Dropout(SeededLayer):
    """Inverted dropout: zero each unit with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)``, so the expected value of every unit is unchanged and inference
    needs no rescaling.

    Reference: Srivastava et al., "Dropout: a simple way to prevent neural networks from
    overfitting", JMLR 2014.

    Args:
        rate: the fraction of units to drop, in [0, 1).
        noise_shape: the shape of the keep/drop mask, broadcast against the input, e.g.
            ``(batch, 1, features)`` drops the same features at every time step. ``None``
            entries take the input's size on that axis. Default: the input's shape.
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        any.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.Dropout(0.5, seed=1)
        >>> x = lp.tensor([[1.0, 1.0, 1.0, 1.0]])
        >>> layer(x).tolist()  # inference: the identity
        [[1.0, 1.0, 1.0, 1.0]]
        >>> sorted(set(layer(x, training=True).numpy().ravel().tolist())) in ([0.0, 2.0], [2.0])
        True
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = check_rate(type(self).__name__, rate)
        if noise_shape is not None:
            if not isinstance(noise_shape, list | tuple) or not all(
                d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0)
                for d in noise_shape
            ):
                raise ValueError(
                    f"{type(self).__name__} expects noise_shape as a tuple of positive ints "
                    f"or None, got {noise_shape!r}"
                )
            noise_shape = tuple(noise_shape)
        self.noise_shape = noise_shape

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return ops.dropout(
            inputs,
            self.rate,
            training=True,
            noise_shape=self._mask_shape(inputs.shape),
            generator=self.generator(),
        )

    def _mask_shape(self, shape):
        if self.noise_shape is None:
            return None
        if len(self.noise_shape) != len(shape):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' has noise_shape {self.noise_shape} of "
                f"rank {len(self.noise_shape)}, got inputs of shape {tuple(shape)}"
            )
        mask = tuple(s if d is None else d for d, s in zip(self.noise_shape, shape))
        if any(d not in (1, s) for d, s in zip(mask, shape)):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects a noise_shape whose axes are 1 "
                f"or the input's, got noise_shape {mask} for inputs of shape {tuple(shape)}"
            )
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise}


class _SpatialDropout(Dropout):
    """Dropout of whole channels: one keep/drop draw per (sample, channel), shared by every
    position, because neighbouring positions of a feature map are strongly correlated and
    dropping single activations barely regularizes them.

    Reference: Tompson et al., "Efficient object localization using convolutional
    networks", CVPR 2015.
    """

    rank = None

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)

    def build(self, input_shape):
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _mask_shape(self, shape):
        return (shape[0], *(1,) * self.rank, shape[-1])

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]
        return config


@register_layer
class SpatialDropout1D(_SpatialDropout):
    """Drop whole channels of sequences: the mask has shape ``(batch, 1, channels)``.

    Args:
        rate: the fraction of channels to drop, in [0, 1).
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        ``(batch, steps, channels)``.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.SpatialDropout1D(0.3)(lp.ops.reshape(lp.tensor([1.0] * 6), (1, 3, 2))).shape
        (1, 3, 2)
    """

    rank = 1


@register_layer
class SpatialDropout2D(_SpatialDropout):
    """Drop whole feature maps: the mask has shape ``(batch, 1, 1, channels)``.

    Args:
        rate: the fraction of channels to drop, in [0, 1).
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        ``(batch, height, width, channels)``.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> x = lp.ops.reshape(lp.tensor([1.0] * 32), (2, 2, 2, 4))
        >>> y = lp.layers.SpatialDropout2D(0.5, seed=0)(x, training=True).numpy()
        >>> bool(((y == 0).all(axis=(1, 2)) | (y == 2).all(axis=(1, 2))).all())
        True
    """

    rank = 2


@register_layer
class SpatialDropout3D(_SpatialDropout):
    """Drop whole channels of volumes: the mask has shape ``(batch, 1, 1, 1, channels)``.

    Args:
        rate: the fraction of channels to drop, in [0, 1).
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        ``(batch, depth, height, width, channels)``.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> x = lp.ops.reshape(lp.tensor([1.0] * 8), (1, 2, 2, 1, 2))
        >>> lp.layers.SpatialDropout3D(0.5)(x, training=True).shape
        (1, 2, 2, 1, 2)
    """

    rank = 3


@register_layer
class GaussianNoise(SeededLayer):
    """Add zero-mean Gaussian noise of standard deviation ``stddev`` in training.

    Args:
        stddev: the noise's standard deviation (non-negative).
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        any.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.GaussianNoise(0.1, seed=0)
        >>> x = lp.tensor([[1.0, 2.0]])
        >>> layer(x).tolist()
        [[1.0, 2.0]]
        >>> layer(x, training=True).tolist() != [[1.0, 2.0]]
        True
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not _is_number(stddev) or not (math.isfinite(stddev) and stddev >= 0):
            raise ValueError(f"GaussianNoise expects a stddev >= 0, got {stddev!r}")
        self.stddev = float(stddev)

    def call(self, inputs, training=None):
        if not training or self.stddev == 0:
            return inputs
        return inputs + self.normal_noise(inputs.shape, inputs.dtype) * self.stddev

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


@register_layer
class GaussianDropout(SeededLayer):
    """Multiply by Gaussian noise of mean 1 and standard deviation ``sqrt(rate / (1 - rate))``
    in training: the multiplicative noise of Bernoulli dropout with the same variance.

    Reference: Srivastava et al., "Dropout: a simple way to prevent neural networks from
    overfitting", JMLR 2014, section 10.

    Args:
        rate: the equivalent drop probability, in [0, 1).
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        any.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.GaussianDropout(0.2)(lp.tensor([[1.0, 2.0]])).tolist()
        [[1.0, 2.0]]
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = check_rate("GaussianDropout", rate)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * (self.normal_noise(inputs.shape, inputs.dtype) * stddev + 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@register_layer
class ActivityRegularization(Layer):
    """Pass the input through and add ``l1 * sum(|x|) + l2 * sum(x**2)`` of it to
    ``layer.losses`` (and so to the model's training loss).

    Args:
        l1: the L1 factor (non-negative).
        l2: the L2 factor (non-negative).

    Input shape:
        any.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.ActivityRegularization(l1=0.1)
        >>> _ = layer(lp.tensor([[1.0, -2.0], [0.0, 1.0]]))
        >>> round(layer.losses[0].item(), 6)  # 0.1 * 4 / 2 samples, as in Keras 3
        0.2
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("l1", l1), ("l2", l2)):
            if not _is_number(value) or not (math.isfinite(value) and value >= 0):
                raise ValueError(f"ActivityRegularization expects {name} >= 0, got {value!r}")
        self.l1 = float(l1)
        self.l2 = float(l2)
        self.regularizer = regularizers_module.L1L2(l1=self.l1, l2=self.l2)

    def call(self, inputs):
        self._add_activity_loss(self.regularizer, inputs)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)

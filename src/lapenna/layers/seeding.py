"""``SeededLayer``: the base of layers that draw random numbers (dropout, noise, augmentation).

A layer built with ``seed=n`` owns a generator seeded with ``n``, so two such layers draw the
same numbers in the same order whatever else runs. Without a seed, the layer draws from the
seeded ``noise`` stream at call time (``lapenna.backend.generator("noise")``), so
``lapenna.set_seed`` makes a whole run reproducible and a resumed run continues the stream
from its backup.
"""

from lapenna import backend as B
from lapenna.autograd import Tensor
from lapenna.layers.base import Layer


class SeededLayer(Layer):
    """A layer with an optional seed of its own.

    Args:
        seed: a non-negative int giving the layer its own generator, or None to draw from
            the global generator (``lapenna.set_seed``).
        **kwargs: base layer arguments (``name``, ``dtype``...).
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
            raise ValueError(
                f"{type(self).__name__} expects seed None or an int >= 0, got {seed!r}"
            )
        self.seed = seed
        self._generator = B.make_generator(seed) if seed is not None else None

    def generator(self):
        """The generator to draw from now: the layer's own, else the seeded ``noise`` stream."""
        return self._generator if self._generator is not None else B.generator("noise")

    def normal_noise(self, shape, dtype):
        """A constant Tensor of standard normal draws (no gradient flows into noise)."""
        dtype = B.to_dtype(dtype)
        # numpy draws normals in float32 or float64 only; float16 noise is cast down
        draw = dtype if dtype.itemsize >= 4 else B.to_dtype("float32")
        noise = self.generator().standard_normal(tuple(shape), dtype=draw)
        return Tensor(noise.astype(dtype, copy=False))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def check_rate(layer_name, rate):
    """Validate a drop rate in [0, 1) and return it as a float."""
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
        raise ValueError(f"{layer_name} expects a rate in [0, 1), got {rate!r}")
    return float(rate)

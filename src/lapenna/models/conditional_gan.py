"""``ConditionalGAN``: a GAN whose two networks both see the class label.

Mirza and Osindero, "Conditional Generative Adversarial Nets", 2014: the generator draws
``G(z, y)`` and the discriminator judges pairs ``D(x, y)``, so a trained generator draws the
class it is asked for. Labels reach both networks one-hot; each network embeds them itself
(``applications.ConditionalDCGANGenerator`` and ``ConditionalDCGANDiscriminator``).
"""

from lapenna import backend as B
from lapenna.layers import register_layer
from lapenna.models.gan import GAN


@register_layer(name="ConditionalGAN")
class ConditionalGAN(GAN):
    """A GAN conditioned on integer class labels.

    ``fit(images, labels)`` trains it: the discriminator sees real pairs and generated
    images drawn for the same labels; the generator is asked for those labels too.

    Args:
        generator: a model from ``[noise (batch, latent_dim), one-hot (batch, num_classes)]``
            to images.
        discriminator: a model from ``[images, one-hot labels]`` to one logit per image.
        latent_dim: the length of the noise vector.
        num_classes: the number of classes.
        d_steps: discriminator updates per generator update.

    Example:
        >>> import lapenna as lp
        >>> from lapenna.applications import (ConditionalDCGANGenerator,
        ...                                   ConditionalDCGANDiscriminator)
        >>> gan = lp.models.ConditionalGAN(ConditionalDCGANGenerator(8, base_filters=4),
        ...                                ConditionalDCGANDiscriminator(base_filters=4),
        ...                                latent_dim=8, num_classes=10)
        >>> gan.compile()
        >>> gan.generate(3, labels=[7, 7, 1], seed=0).shape
        (3, 28, 28, 1)
    """

    def __init__(self, generator, discriminator, latent_dim, num_classes, d_steps=1, name=None):
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(
                f"ConditionalGAN: num_classes must be an int >= 2, got {num_classes!r}"
            )
        super().__init__(generator, discriminator, latent_dim, d_steps=d_steps, name=name)
        self.num_classes = num_classes

    def one_hot(self, labels):
        """Integer labels ``(batch,)`` or ``(batch, 1)`` as float one-hot rows, checked."""
        labels = B.xp.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1 or labels.dtype.kind not in "iuf":
            raise ValueError(
                f"ConditionalGAN expects integer labels of shape (batch,), got {labels.dtype} "
                f"{labels.shape}"
            )
        if labels.size and (
            (labels != B.xp.round(labels)).any()
            or labels.min() < 0
            or labels.max() >= self.num_classes
        ):
            raise ValueError(
                f"ConditionalGAN: labels must be integers in [0, {self.num_classes}), got "
                f"values from {labels.min()} to {labels.max()}"
            )
        return B.xp.eye(self.num_classes, dtype=B.floatx())[labels.astype(B.xp.int64)]

    def fit(self, x=None, y=None, batch_size=None, epochs=1, **kwargs):
        """Train on images ``x`` and their integer labels ``y`` (or a Dataset of pairs)."""
        if y is None and isinstance(x, B.xp.ndarray):
            raise ValueError("ConditionalGAN.fit needs the labels y of the images x")
        if y is not None:
            self.one_hot(y)  # checked before anything is trained
        return GAN.fit(self, x, y, batch_size=batch_size, epochs=epochs, **kwargs)

    def generator_inputs(self, count, labels=None):
        if labels is None:
            raise ValueError("ConditionalGAN needs labels for every batch: fit(images, labels)")
        return [self.sample_noise(count), self.one_hot(labels)]

    def probe_inputs(self, noise, labels):
        return [noise, self.one_hot(labels)]

    def discriminator_inputs(self, images, labels=None):
        return [images, self.one_hot(labels)]

    def generate(self, n, labels=None, seed=None, batch_size=256):
        """``n`` images of the given ``labels`` (default: the classes in turn, 0, 1, ...)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"ConditionalGAN.generate: n must be an int >= 1, got {n!r}")
        labels = B.xp.arange(n) % self.num_classes if labels is None else labels
        onehot = self.one_hot(labels)
        if len(onehot) != n:
            raise ValueError(f"ConditionalGAN.generate: {n} images but {len(onehot)} labels")
        rng = B.xp.random.default_rng(seed) if seed is not None else None
        inputs = [self.sample_noise(n, rng), onehot]
        return self.generator.predict(inputs, batch_size=batch_size, verbose=0)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}

"""``GAN``: a generator and a discriminator trained against each other by ``fit``.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Algorithm 1: for each
generator update, ``d_steps`` discriminator updates, each on its own minibatch of real
images and of noise. The discriminator maximises ``log D(x) + log(1 - D(G(z)))``; the
generator minimises ``log(1 - D(G(z)))`` (the minimax game) or, as is standard in practice
because that objective saturates when the discriminator wins, maximises ``log D(G(z))``
(the non-saturating loss). The discriminator outputs logits, so every loss is written with
``softplus``: ``-log sigmoid(l) = softplus(-l)`` and ``-log(1 - sigmoid(l)) = softplus(l)``.
"""

from lapenna import backend as B
from lapenna import ops
from lapenna import optimizers as optimizers_module
from lapenna.autograd import GradientTape, no_grad
from lapenna.layers import register_layer
from lapenna.models.compile_utils import CompiledMetrics
from lapenna.models.model import Model
from lapenna.utils import get_registry
from lapenna.utils.tree import flatten

_GENERATOR_LOSSES = ("non_saturating", "minimax")


class PairedOptimizers:
    """The discriminator's and the generator's optimizers seen as one for checkpoints.

    ``get_state``/``set_state`` prefix each optimizer's entries with ``discriminator/`` and
    ``generator/``; ``build`` gives each its own network's variables, so a
    ``BackupAndRestore`` backup of a GAN holds both optimizers' slots and step counts.
    """

    def __init__(self, gan):
        self.gan = gan
        self.name = "gan_optimizers"

    @property
    def pairs(self):
        return (
            ("discriminator", self.gan.d_optimizer, self.gan.discriminator),
            ("generator", self.gan.g_optimizer, self.gan.generator),
        )

    @property
    def built(self):
        return all(opt.built for _, opt, _ in self.pairs)

    @property
    def learning_rate(self):
        """The generator optimizer's learning rate (the one ``fit`` logs)."""
        return self.gan.g_optimizer.learning_rate

    def build(self, var_list=None):
        for _, optimizer, network in self.pairs:
            optimizer.build(network.trainable_weights)

    def get_state(self):
        return {
            f"{prefix}/{key}": value
            for prefix, optimizer, _ in self.pairs
            for key, value in optimizer.get_state().items()
        }

    def set_state(self, state):
        parts = {prefix: {} for prefix, _, _ in self.pairs}
        for key, value in state.items():
            prefix, _, rest = key.partition("/")
            if prefix not in parts:
                raise ValueError(f"GAN optimizers: unexpected state entry {key!r}")
            parts[prefix][rest] = value
        backups = [(opt, opt.get_state()) for _, opt, _ in self.pairs]
        try:
            for prefix, optimizer, _ in self.pairs:
                optimizer.set_state(parts[prefix])
        except ValueError:
            for optimizer, backup in backups:
                optimizer.set_state(backup)
            raise


def networks_from_config(config, custom_objects=None):
    """``config`` with its ``generator`` and ``discriminator`` entries built again (the
    config of every model made of the two networks: the GANs and Pix2Pix)."""
    registry = get_registry("layers")
    config = dict(config)
    for key in ("generator", "discriminator"):
        config[key] = registry.deserialize(config[key], custom_objects)
    return config


@register_layer(name="GAN")
class GAN(Model):
    """A generative adversarial network: ``fit`` on real images trains both networks.

    Each ``train_step`` updates the discriminator on one batch of real images and as many
    generated ones; every ``d_steps``-th step the generator is updated too (Goodfellow's
    k). ``fit`` logs ``d_loss`` and ``g_loss``; callbacks (progress bar, TensorBoard,
    ``ModelCheckpoint``, ``BackupAndRestore``) work as for any model.

    Args:
        generator: a model from ``(batch, latent_dim)`` noise to images.
        discriminator: a model from images to one logit per image, ``(batch, 1)`` (or one
            logit per patch, ``(batch, h, w, 1)``, for a PatchGAN).
        latent_dim: the length of the noise vector.
        d_steps: discriminator updates per generator update.
        name: the model's name.

    Example:
        >>> import lapenna as lp
        >>> from lapenna.applications import DCGANGenerator, DCGANDiscriminator
        >>> gan = lp.models.GAN(DCGANGenerator(latent_dim=8, base_filters=4),
        ...                     DCGANDiscriminator(base_filters=4), latent_dim=8)
        >>> gan.compile(d_optimizer=lp.optimizers.Adam(2e-4, beta_1=0.5),
        ...             g_optimizer=lp.optimizers.Adam(2e-4, beta_1=0.5))
        >>> images = lp.backend.xp.zeros((8, 28, 28, 1), dtype="float32")
        >>> history = gan.fit(images, batch_size=4, verbose=0)
        >>> sorted(history.history)
        ['d_loss', 'g_loss', 'learning_rate']
        >>> gan.generate(3, seed=0).shape
        (3, 28, 28, 1)
    """

    def __init__(self, generator, discriminator, latent_dim, d_steps=1, name=None, **kwargs):
        owner = type(self).__name__
        for label, network in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(network, Model):
                raise TypeError(f"{owner}: {label} must be a Model, got {type(network).__name__}")
        for label, value in (("latent_dim", latent_dim), ("d_steps", d_steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{owner}: {label} must be an int >= 1, got {value!r}")
        _check_latent(owner, generator, latent_dim)
        super().__init__(name=name, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.d_steps = d_steps
        self.d_optimizer = None
        self.g_optimizer = None
        self._checked = False

    # -- the networks -------------------------------------------------------------------
    def call(self, inputs, training=None):
        """Noise to images: the generator."""
        return self.generator(inputs, training=training)

    def sample_noise(self, count, generator=None):
        """``count`` standard normal latent vectors, from the seeded ``noise`` stream (the
        model's stream, which a resumed run restores)."""
        rng = generator if generator is not None else B.generator("noise")
        return rng.standard_normal((count, self.latent_dim)).astype(B.floatx())

    def generate(self, n, seed=None, batch_size=256):
        """``n`` generated images as an array; ``seed`` fixes the noise (the global generator
        is left untouched then), so the same seed shows the same latent batch every epoch."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{type(self).__name__}.generate: n must be an int >= 1, got {n!r}")
        rng = B.xp.random.default_rng(seed) if seed is not None else None
        return self.generator.predict(self.sample_noise(n, rng), batch_size=batch_size, verbose=0)

    # -- compile ------------------------------------------------------------------------
    def compile(
        self,
        d_optimizer="adam",
        g_optimizer="adam",
        loss="non_saturating",
        label_smoothing=0.0,
        metrics=None,
    ):
        """Choose both optimizers and the generator's objective.

        Args:
            d_optimizer, g_optimizer: names or optimizer objects (two distinct objects).
            loss: ``"non_saturating"`` (maximise ``log D(G(z))``) or ``"minimax"``
                (minimise ``log(1 - D(G(z)))``).
            label_smoothing: one-sided smoothing: real images' target is ``1 -
                label_smoothing`` in the discriminator's loss (Salimans et al., 2016).

        Raises:
            ValueError: for an unknown loss, a smoothing outside [0, 1), one optimizer
                object given twice, a generator whose images do not fit the
                discriminator, or a discriminator with more than one output unit.
        """
        owner = type(self).__name__
        self._check_loss(loss)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(f"{owner}: label_smoothing must be in [0, 1), got {label_smoothing}")
        if metrics:
            raise ValueError(f"{owner} logs d_loss and g_loss; it takes no metrics")
        d_opt, g_opt = optimizers_module.get(d_optimizer), optimizers_module.get(g_optimizer)
        if d_opt is g_opt:
            raise ValueError(f"{owner}: d_optimizer and g_optimizer must be two objects")
        _check_static_shapes(owner, self.generator, self.discriminator)
        self.d_optimizer, self.g_optimizer = d_opt, g_opt
        self.loss = loss
        self.label_smoothing = float(label_smoothing)
        self.optimizer = PairedOptimizers(self)
        self.compiled_loss = loss
        self.compiled_metrics = CompiledMetrics(None, [], [])
        self._compile_config = None  # two optimizers: a saved GAN is compiled again
        self.stop_training = False
        self._checked = False

    def _check_loss(self, loss):
        if loss not in _GENERATOR_LOSSES:
            raise ValueError(
                f"{type(self).__name__}: loss must be one of {_GENERATOR_LOSSES}, got {loss!r}"
            )

    # -- fit ----------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, **kwargs):
        """Train on real images ``x`` (an array or a Dataset of image batches); ``y`` is
        only for conditional GANs. Takes ``fit``'s other arguments (callbacks, verbose,
        initial_epoch, steps_per_epoch...)."""
        if y is None and x is not None and isinstance(x, B.xp.ndarray):
            y = B.xp.zeros((len(x), 0), dtype=B.floatx())  # no targets: an empty placeholder
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, **kwargs)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=True):
        """One ``train_step`` on a batch of real images; returns ``{"d_loss", "g_loss"}``."""
        return super().train_on_batch(x, y, sample_weight, class_weight, return_dict=True)

    # -- the losses -----------------------------------------------------------------------
    def discriminator_loss(self, real_logits, fake_logits):
        """``-log D(x) - log(1 - D(G(z)))``, with one-sided label smoothing on real."""
        target = 1.0 - self.label_smoothing
        real = ops.mean(ops.softplus(real_logits) - real_logits * target)
        return real + ops.mean(ops.softplus(fake_logits))

    def generator_loss(self, fake_logits):
        """Non-saturating ``-log D(G(z))`` or minimax ``log(1 - D(G(z)))``."""
        if self.loss == "minimax":
            return -ops.mean(ops.softplus(fake_logits))
        return ops.mean(ops.softplus(-fake_logits))

    # -- one step -----------------------------------------------------------------------
    def generator_inputs(self, count, labels=None):
        """What the generator takes for ``count`` images (a conditional GAN adds labels)."""
        return self.sample_noise(count)

    def discriminator_inputs(self, images, labels=None):
        return images

    def train_step(self, data):
        """One discriminator update; every ``d_steps``-th call, one generator update."""
        real, labels, _ = data
        count = len(real)
        if not self._checked:
            self._check_batch(real, labels)
        # 1. the discriminator, on real images and on detached generated ones
        with no_grad():
            fake = self.generator(self.generator_inputs(count, labels), training=True)
        with GradientTape() as tape:
            real_logits = self.discriminator(self.discriminator_inputs(real, labels), training=True)
            fake_logits = self.discriminator(self.discriminator_inputs(fake, labels), training=True)
            d_loss = self.discriminator_loss(real_logits, fake_logits)
            d_total = d_loss + _penalties(self.discriminator)
            d_extra = self.discriminator_extra_loss(real, fake, labels)
            if d_extra is not None:
                d_total = d_total + d_extra
        variables = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_total, variables), variables))
        self.after_discriminator_update()
        logs = {"d_loss": float(d_loss.data)}
        # 2. the generator, through the updated discriminator
        if self.d_optimizer.iterations % self.d_steps == 0:
            logs.update(self.generator_step(real, labels))
        else:
            logs["g_loss"] = float(self.generator_loss(fake_logits).data)
        return logs

    def generator_step(self, real, labels):
        """One generator update; returns its logs."""
        with GradientTape() as tape:
            fake = self.generator(self.generator_inputs(len(real), labels), training=True)
            fake_logits = self.discriminator(self.discriminator_inputs(fake, labels), training=True)
            g_loss = self.generator_loss(fake_logits)
            g_total = g_loss + _penalties(self.generator)
        variables = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_total, variables), variables))
        return {"g_loss": float(g_loss.data)}

    def discriminator_extra_loss(self, real, fake, labels):
        """A term added to the discriminator's loss (WGAN-GP's penalty); None here."""
        return None

    def after_discriminator_update(self):
        """Run after each discriminator update (WGAN clips the weights here)."""

    def test_step(self, data):
        """Both losses on a batch, without updates."""
        real, labels, _ = data
        with no_grad():
            fake = self.generator(self.generator_inputs(len(real), labels), training=False)
            real_logits = self.discriminator(
                self.discriminator_inputs(real, labels), training=False
            )
            fake_logits = self.discriminator(
                self.discriminator_inputs(fake, labels), training=False
            )
            d_loss = self.discriminator_loss(real_logits, fake_logits)
            g_loss = self.generator_loss(fake_logits)
        return {"d_loss": float(d_loss.data), "g_loss": float(g_loss.data)}

    def _check_batch(self, real, labels):
        """Before the first update: do the generator's images fit the real ones and does
        the discriminator give one logit each? Probed in inference mode on two images from
        a private generator, so no weight, statistic or RNG state changes."""
        owner = type(self).__name__
        probe = B.xp.random.default_rng(0)
        count = min(2, len(real))
        noise = probe.standard_normal((count, self.latent_dim)).astype(B.floatx())
        few = None if labels is None else labels[:count]
        with no_grad():
            fake = self.generator(self.probe_inputs(noise, few), training=False)
            if tuple(fake.shape[1:]) != tuple(real.shape[1:]):
                raise ValueError(
                    f"{owner}: the generator {self.generator.name!r} makes images of shape "
                    f"{tuple(fake.shape[1:])}, but the real images have shape "
                    f"{tuple(real.shape[1:])}"
                )
            logits = self.discriminator(self.discriminator_inputs(fake, few), training=False)
        _check_logit_shape(owner, self.discriminator, logits.shape)
        self._checked = True

    def probe_inputs(self, noise, labels):
        """The generator's inputs for given noise (a conditional GAN adds the labels)."""
        return noise

    # -- config -------------------------------------------------------------------------
    def get_config(self):
        registry = get_registry("layers")
        return {
            "generator": registry.serialize(self.generator),
            "discriminator": registry.serialize(self.discriminator),
            "latent_dim": self.latent_dim,
            "d_steps": self.d_steps,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**networks_from_config(config, custom_objects))


def _penalties(network):
    """The network's regularization terms (``model.losses``), summed; 0 when none."""
    losses = network.losses
    total = 0.0
    for term in losses:
        total = term + total
    return total


def _static_shape(network, side):
    """A graph model's input or output shape, None when not known before a call."""
    if getattr(network, "_graph", None) is None:
        return None
    tensors = flatten(network.inputs if side == "input" else network.outputs)
    return tuple(tensors[0].shape) if len(tensors) == 1 else None


def _check_latent(owner, generator, latent_dim):
    shape = _static_shape(generator, "input")
    if shape is not None and len(shape) == 2 and shape[1] not in (None, latent_dim):
        raise ValueError(
            f"{owner}: the generator {generator.name!r} takes noise of length {shape[1]}, "
            f"but latent_dim is {latent_dim}"
        )


def _check_logit_shape(owner, discriminator, shape):
    if shape[-1] != 1:
        raise ValueError(
            f"{owner}: the discriminator {discriminator.name!r} must output one logit per "
            f"image (or per patch): a last axis of 1, got output shape {tuple(shape)}"
        )


def _compatible(made, taken):
    return len(made) == len(taken) and all(
        a is None or b is None or a == b for a, b in zip(made[1:], taken[1:])
    )


def _check_static_shapes(owner, generator, discriminator):
    made, taken = _static_shape(generator, "output"), _static_shape(discriminator, "input")
    if made is not None and taken is not None and not _compatible(made, taken):
        raise ValueError(
            f"{owner}: the generator {generator.name!r} outputs shape {made}, but the "
            f"discriminator {discriminator.name!r} takes inputs of shape {taken}"
        )
    logits = _static_shape(discriminator, "output")
    if logits is not None:
        _check_logit_shape(owner, discriminator, logits)

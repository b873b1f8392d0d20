"""``Pix2Pix``: image-to-image translation with a conditional GAN and an L1 loss.

Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", CVPR
2017: a U-Net generator maps an input image ``x`` to an output ``G(x)``; a PatchGAN
discriminator scores each patch of the pair ``(x, y)`` as real or generated. The generator
minimises ``-log D(x, G(x)) + l1_weight * |y - G(x)|_1``: the L1 term gets the low
frequencies right, the adversarial term the sharp details (``l1_weight`` 100 in the paper).
"""

from lapenna import ops
from lapenna import optimizers as optimizers_module
from lapenna.autograd import GradientTape, no_grad
from lapenna.layers import register_layer
from lapenna.models.compile_utils import CompiledMetrics
from lapenna.models.gan import PairedOptimizers, _check_logit_shape, networks_from_config
from lapenna.models.model import Model
from lapenna.utils import get_registry


@register_layer(name="Pix2Pix")
class Pix2Pix(Model):
    """Pix2Pix: ``fit(inputs, targets)`` trains a generator and a patch discriminator.

    Each ``train_step`` makes one discriminator update (real pairs ``[x, y]`` against
    ``[x, G(x)]``) and one generator update (adversarial plus ``l1_weight`` times the mean
    absolute error). ``fit`` logs ``d_loss``, ``g_loss`` (adversarial part) and ``l1``;
    ``evaluate`` reports ``l1`` on held-out pairs.

    Args:
        generator: a model from input images to output images (the zoo's ``UNet``).
        discriminator: a model from ``[inputs, outputs]`` to patch logits ``(batch, h, w, 1)``
            (``applications.PatchGANDiscriminator``).
        l1_weight: the L1 term's weight.
    """

    def __init__(self, generator, discriminator, l1_weight=100.0, name=None, **kwargs):
        for label, network in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(network, Model):
                raise TypeError(f"Pix2Pix: {label} must be a Model, got {type(network).__name__}")
        if not float(l1_weight) >= 0:
            raise ValueError(f"Pix2Pix: l1_weight must be >= 0, got {l1_weight!r}")
        super().__init__(name=name, **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.l1_weight = float(l1_weight)
        self.d_optimizer = self.g_optimizer = None

    def call(self, inputs, training=None):
        return self.generator(inputs, training=training)

    def compile(self, d_optimizer="adam", g_optimizer="adam"):
        """Both optimizers (the paper: Adam(2e-4, beta_1=0.5) for each)."""
        d_opt, g_opt = optimizers_module.get(d_optimizer), optimizers_module.get(g_optimizer)
        if d_opt is g_opt:
            raise ValueError("Pix2Pix: d_optimizer and g_optimizer must be two objects")
        self.d_optimizer, self.g_optimizer = d_opt, g_opt
        self.optimizer = PairedOptimizers(self)
        self.compiled_loss = "pix2pix"
        self.compiled_metrics = CompiledMetrics(None, [], [])
        self._compile_config = None
        self.stop_training = False

    def train_step(self, data):
        x, y, _ = data
        if y is None:
            raise ValueError("Pix2Pix.fit needs pairs: fit(inputs, targets)")
        with no_grad():
            fake = self.generator(x, training=True)
        if tuple(fake.shape) != tuple(y.shape):
            raise ValueError(
                f"Pix2Pix: the generator makes outputs of shape {tuple(fake.shape)}, the "
                f"targets have shape {tuple(y.shape)}"
            )
        # 1. the discriminator: real pairs against generated ones, patch by patch
        with GradientTape() as tape:
            real_logits = self.discriminator([x, y], training=True)
            _check_logit_shape("Pix2Pix", self.discriminator, real_logits.shape)
            fake_logits = self.discriminator([x, fake], training=True)
            d_loss = ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))
        variables = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, variables), variables))
        # 2. the generator: fool the updated discriminator and stay close to the target
        with GradientTape() as tape:
            fake = self.generator(x, training=True)
            g_loss = ops.mean(ops.softplus(-self.discriminator([x, fake], training=True)))
            l1 = ops.mean(ops.abs(fake - y))
            total = g_loss + l1 * self.l1_weight
        variables = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(total, variables), variables))
        return {"d_loss": float(d_loss.data), "g_loss": float(g_loss.data), "l1": float(l1.data)}

    def test_step(self, data):
        x, y, _ = data
        with no_grad():
            return {"l1": float(ops.mean(ops.abs(self.generator(x, training=False) - y)).data)}

    def evaluate(self, x=None, y=None, batch_size=None, verbose=0, **kwargs):
        """The mean absolute error ``l1`` of the generator on pairs, as a dict."""
        return super().evaluate(x, y, batch_size=batch_size, verbose=verbose, return_dict=True)

    def get_config(self):
        registry = get_registry("layers")
        return {
            "generator": registry.serialize(self.generator),
            "discriminator": registry.serialize(self.discriminator),
            "l1_weight": self.l1_weight,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**networks_from_config(config, custom_objects))

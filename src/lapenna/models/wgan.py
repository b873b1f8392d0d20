"""Wasserstein GANs: ``WGAN`` (weight clipping) and ``WGANGP`` (gradient penalty).

The critic ``f`` scores images with an unbounded number; the generator minimises an
estimate of the Wasserstein-1 distance ``E f(x) - E f(G(z))``, which needs ``f`` to be
1-Lipschitz. Arjovsky, Chintala and Bottou ("Wasserstein GAN", ICML 2017) keep the
critic's weights in ``[-c, c]``; Gulrajani et al. ("Improved Training of Wasserstein
GANs", NeurIPS 2017) instead penalise ``(|grad_x f(x_hat)| - 1)^2`` on random points
``x_hat`` between real and generated images. The penalty's gradient with respect to the
critic's weights is a second derivative: it is computed with ``grad(..., create_graph=True)``.
"""

from lapenna import backend as B
from lapenna import ops
from lapenna import optimizers as optimizers_module
from lapenna.autograd import Tensor, grad
from lapenna.layers import register_layer
from lapenna.models.gan import GAN


@register_layer(name="WGAN")
class WGAN(GAN):
    """A Wasserstein GAN with weight clipping (Arjovsky et al., 2017).

    The critic's loss is ``mean f(G(z)) - mean f(x)``, the generator's ``-mean f(G(z))``;
    after each critic update every trainable critic weight is clipped to
    ``[-clip_value, clip_value]``. The paper's settings: ``d_steps=5``, RMSprop with
    learning rate 5e-5 for both networks (the defaults of ``compile`` here).

    Args:
        generator, discriminator: as for ``GAN``; the discriminator is the critic and
            outputs one unbounded score per image.
        latent_dim: the length of the noise vector.
        d_steps: critic updates per generator update.
        clip_value: the bound of the critic's weights; None for no clipping.
    """

    def __init__(self, generator, discriminator, latent_dim, d_steps=5, clip_value=0.01, name=None):
        if clip_value is not None and not float(clip_value) > 0:
            raise ValueError(f"{type(self).__name__}: clip_value must be > 0, got {clip_value}")
        super().__init__(generator, discriminator, latent_dim, d_steps=d_steps, name=name)
        self.clip_value = None if clip_value is None else float(clip_value)

    def compile(self, d_optimizer=None, g_optimizer=None, loss="wasserstein", metrics=None):
        """Both optimizers (default: RMSprop, learning rate 5e-5) and ``loss="wasserstein"``."""
        from_name = self._default_optimizer
        super().compile(
            d_optimizer=from_name() if d_optimizer is None else d_optimizer,
            g_optimizer=from_name() if g_optimizer is None else g_optimizer,
            loss=loss,
            metrics=metrics,
        )

    def _default_optimizer(self):
        return optimizers_module.RMSprop(5e-5)

    def _check_loss(self, loss):
        if loss != "wasserstein":
            raise ValueError(f"{type(self).__name__}: loss must be 'wasserstein', got {loss!r}")

    def discriminator_loss(self, real_logits, fake_logits):
        """``mean f(G(z)) - mean f(x)``: minus the critic's Wasserstein estimate."""
        return ops.mean(fake_logits) - ops.mean(real_logits)

    def generator_loss(self, fake_logits):
        return -ops.mean(fake_logits)

    def after_discriminator_update(self):
        if self.clip_value is None:
            return
        for weight in self.discriminator.trainable_weights:
            B.xp.clip(weight.data, -self.clip_value, self.clip_value, out=weight.data)

    def get_config(self):
        return {**super().get_config(), "clip_value": self.clip_value}


def gradient_penalty(critic, real, fake, epsilon):
    """``mean((|grad_x critic(x_hat)| - 1)^2)`` at ``x_hat = epsilon real + (1 - epsilon)
    fake``, and the mean gradient norm. The gradient is taken with ``create_graph=True``, so
    the penalty is differentiable with respect to the critic's weights.

    Args:
        critic: a callable from a batch of images (a Tensor) to one score per image.
        real, fake: batches of the same shape (arrays or Tensors; fake is detached).
        epsilon: one mixing weight per sample, shaped ``(batch, 1, ..., 1)``.

    Returns:
        ``(penalty, mean_norm)``: a scalar Tensor and a float.
    """
    real = real.data if isinstance(real, Tensor) else real
    fake = fake.data if isinstance(fake, Tensor) else fake
    between = Tensor(epsilon * real + (1 - epsilon) * fake, requires_grad=True)
    scores = critic(between)
    (gradient,) = grad(ops.sum(scores), between, create_graph=True)
    axes = tuple(range(1, gradient.ndim))
    # the small constant keeps the norm's derivative finite where the gradient vanishes
    norms = ops.sqrt(ops.sum(ops.square(gradient), axis=axes) + 1e-12)
    return ops.mean(ops.square(norms - 1.0)), float(norms.data.mean())


@register_layer(name="WGANGP")
class WGANGP(WGAN):
    """A Wasserstein GAN with gradient penalty (Gulrajani et al., 2017).

    The critic's loss adds ``gp_weight * mean((|grad f(x_hat)| - 1)^2)`` on random
    interpolates ``x_hat`` between real and generated images; no clipping. ``fit`` also
    logs ``gradient_penalty`` and ``gradient_norm`` (the mean norm on the interpolates,
    which approaches 1 as the critic becomes 1-Lipschitz there). The paper's settings:
    ``d_steps=5``, ``gp_weight=10``, Adam(1e-4, beta_1=0.0, beta_2=0.9) (the defaults of
    ``compile`` here). The critic should not use batch normalization (the penalty is per
    sample).

    Args:
        generator, discriminator, latent_dim, d_steps: as for ``WGAN``.
        gp_weight: the penalty's weight lambda.
    """

    def __init__(self, generator, discriminator, latent_dim, d_steps=5, gp_weight=10.0, name=None):
        if not float(gp_weight) >= 0:
            raise ValueError(f"{type(self).__name__}: gp_weight must be >= 0, got {gp_weight}")
        super().__init__(generator, discriminator, latent_dim, d_steps, clip_value=None, name=name)
        self.gp_weight = float(gp_weight)
        self._penalty_logs = {}

    def _default_optimizer(self):
        return optimizers_module.Adam(1e-4, beta_1=0.0, beta_2=0.9)

    def discriminator_extra_loss(self, real, fake, labels):
        shape = (len(real),) + (1,) * (real.ndim - 1)
        epsilon = B.generator("noise").uniform(size=shape).astype(B.floatx())

        def critic(images):
            return self.discriminator(self.discriminator_inputs(images, labels), training=True)

        penalty, norm = gradient_penalty(critic, real, fake, epsilon)
        self._penalty_logs = {"gradient_penalty": float(penalty.data), "gradient_norm": norm}
        return penalty * self.gp_weight

    def train_step(self, data):
        logs = super().train_step(data)
        logs.update(self._penalty_logs)
        return logs

    def get_config(self):
        config = super().get_config()
        config.pop("clip_value")
        return {**config, "gp_weight": self.gp_weight}

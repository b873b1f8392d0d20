"""Autoencoders for 28x28 images: dense, convolutional and variational.

An autoencoder squeezes an image through a small code and rebuilds it; the reconstruction
loss trains both halves. The variational autoencoder (Kingma and Welling, "Auto-Encoding
Variational Bayes", ICLR 2014) makes the code a Gaussian ``q(z|x) = N(mu, diag(sigma^2))``,
samples it with the reparameterisation ``z = mu + sigma * eps`` (so gradients flow into
``mu`` and ``sigma``), and adds ``KL(q(z|x) || N(0, I))`` to the loss through
``model.losses``: the training loss is then minus the evidence lower bound (ELBO).
"""

from lapenna import layers, ops
from lapenna.applications._common import check_input_shape, check_positive, finish
from lapenna.layers import register_layer
from lapenna.layers.seeding import SeededLayer


def _flat_size(shape):
    size = 1
    for dim in shape:
        size *= dim
    return size


def DenseAutoencoder(  # noqa: N802 - Keras's spelling of model builders
    input_shape=(28, 28, 1), latent_dim=32, hidden=256, name="dense_autoencoder"
):
    """Flatten, ``encoder`` Dense(``hidden``, relu), ``code`` Dense(``latent_dim``, linear),
    ``decoder`` Dense(``hidden``, relu), ``reconstruction`` Dense (sigmoid), reshape back.

    Returns:
        a functional ``Model`` from images in [0, 1] to their reconstructions.

    Example:
        >>> from lapenna.applications import DenseAutoencoder
        >>> DenseAutoencoder(latent_dim=8).output_shape
        (None, 28, 28, 1)
    """
    shape = check_input_shape("DenseAutoencoder", input_shape, (28, 28, 1), min_size=1)
    check_positive("DenseAutoencoder", "latent_dim", latent_dim)
    check_positive("DenseAutoencoder", "hidden", hidden)
    inputs = layers.Input(shape, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    x = layers.Dense(hidden, activation="relu", name="encoder")(x)
    x = layers.Dense(latent_dim, name="code")(x)
    x = layers.Dense(hidden, activation="relu", name="decoder")(x)
    x = layers.Dense(_flat_size(shape), activation="sigmoid", name="reconstruction")(x)
    return finish(
        "DenseAutoencoder", inputs, layers.Reshape(shape, name="image_out")(x), name, None
    )


def ConvAutoencoder(  # noqa: N802 - Keras's spelling of model builders
    input_shape=(28, 28, 1), filters=(16, 32), name="conv_autoencoder"
):
    """Strided 3x3 convolutions ``encoder1``, ``encoder2`` (28 -> 14 -> 7), then transposed
    convolutions ``decoder1``, ``decoder2`` back to 28x28 and ``reconstruction``, a 3x3
    convolution with a sigmoid, one channel per input channel.

    Example:
        >>> from lapenna.applications import ConvAutoencoder
        >>> ConvAutoencoder().output_shape
        (None, 28, 28, 1)
    """
    shape = check_input_shape("ConvAutoencoder", input_shape, (28, 28, 1), min_size=4)
    inputs = layers.Input(shape, name="image")
    x = inputs
    for index, width in enumerate(filters, 1):
        check_positive("ConvAutoencoder", "filters", width)
        x = layers.Conv2D(
            width, 3, strides=2, padding="same", activation="relu", name=f"encoder{index}"
        )(x)
    for index, width in enumerate(reversed(filters), 1):
        x = layers.Conv2DTranspose(
            width, 3, strides=2, padding="same", activation="relu", name=f"decoder{index}"
        )(x)
    x = layers.Conv2D(shape[-1], 3, padding="same", activation="sigmoid", name="reconstruction")(x)
    return finish("ConvAutoencoder", inputs, x, name, None)


@register_layer
class VAESampling(SeededLayer):
    """Draw ``z = mean + exp(log_var / 2) * eps`` in training (``mean`` in inference) and
    record ``kl_weight * KL(N(mean, exp(log_var)) || N(0, I))``, averaged over the batch,
    in ``layer.losses``.

    Args:
        kl_weight: the KL term's weight (``1 / pixels`` matches a per-pixel mean
            reconstruction loss, so the total is minus the ELBO per pixel).
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        ``[mean, log_var]``, each ``(batch, latent_dim)``.

    Output shape:
        ``(batch, latent_dim)``.
    """

    def __init__(self, kl_weight=1.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not float(kl_weight) >= 0:
            raise ValueError(f"VAESampling expects kl_weight >= 0, got {kl_weight!r}")
        self.kl_weight = float(kl_weight)

    def call(self, inputs, training=None):
        mean, log_var = inputs
        kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)
        self._activity_losses.append(ops.mean(kl) * self.kl_weight)
        if not training:
            return mean
        noise = self.normal_noise(mean.shape, mean.dtype)
        return mean + ops.exp(log_var * 0.5) * noise

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "kl_weight": self.kl_weight}


def VAE(  # noqa: N802 - Keras's spelling of model builders
    input_shape=(28, 28, 1), latent_dim=2, hidden=256, name="vae"
):
    """A dense variational autoencoder (Kingma and Welling, ICLR 2014).

    ``encoder`` Dense(``hidden``, relu) gives ``z_mean`` and ``z_log_var``; ``sampling``
    (``VAESampling``, KL weight ``1 / pixels``) draws the code; ``decoder`` Dense(``hidden``,
    relu) and ``reconstruction`` (sigmoid) rebuild the image. Compile with
    ``loss="binary_crossentropy"``: the loss ``fit`` reports is then minus the ELBO per
    pixel. In inference the code is ``z_mean``.

    Example:
        >>> from lapenna.applications import VAE
        >>> model = VAE(latent_dim=2)
        >>> model.output_shape
        (None, 28, 28, 1)
    """
    shape = check_input_shape("VAE", input_shape, (28, 28, 1), min_size=1)
    check_positive("VAE", "latent_dim", latent_dim)
    check_positive("VAE", "hidden", hidden)
    pixels = _flat_size(shape)
    inputs = layers.Input(shape, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    x = layers.Dense(hidden, activation="relu", name="encoder")(x)
    mean = layers.Dense(latent_dim, name="z_mean")(x)
    log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = VAESampling(kl_weight=1.0 / pixels, name="sampling")([mean, log_var])
    x = layers.Dense(hidden, activation="relu", name="decoder")(z)
    x = layers.Dense(pixels, activation="sigmoid", name="reconstruction")(x)
    return finish("VAE", inputs, layers.Reshape(shape, name="image_out")(x), name, None)

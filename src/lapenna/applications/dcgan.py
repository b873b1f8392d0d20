"""The DCGAN generator and discriminator for 28x28 MNIST digits.

Radford, Metz and Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016: strided (transposed) convolutions instead of
pooling, batch normalization in the generator, ReLU-like activations and a tanh output.
The layout is the common one for MNIST (latent 100, 7x7x256, 5x5 kernels).
"""

from lapenna import layers
from lapenna.applications._common import check_input_shape, check_positive, check_weights, finish


def DCGANGenerator(  # noqa: N802 - Keras's spelling of model builders
    latent_dim=100, base_filters=64, negative_slope=0.2, weights=None, name="generator"
):
    """Build the MNIST DCGAN generator (Radford et al., ICLR 2016): noise to 28x28x1.

    ``dense`` to 7x7x(4 * ``base_filters``), batch norm and LeakyReLU, ``reshape``, then
    transposed 5x5 convolutions ``deconv1`` (2 * ``base_filters``, stride 1), ``deconv2``
    (``base_filters``, stride 2), each with batch norm and LeakyReLU, and ``deconv3`` (one
    channel, stride 2, tanh): images in [-1, 1]. Every layer before a batch norm is
    bias-free.

    Args:
        latent_dim: the length of the noise vector.
        base_filters: 64 gives the usual 256-128-64 layout.
        negative_slope: of the LeakyReLUs.
        weights: None or the path of a local weights file.
        name: the model's name.

    Returns:
        a functional ``Model`` from ``(batch, latent_dim)`` to ``(batch, 28, 28, 1)``.

    Example:
        >>> from lapenna.applications import DCGANGenerator
        >>> DCGANGenerator().output_shape
        (None, 28, 28, 1)
    """
    check_positive("DCGANGenerator", "latent_dim", latent_dim)
    check_positive("DCGANGenerator", "base_filters", base_filters)
    check_weights("DCGANGenerator", weights)
    inputs = layers.Input((latent_dim,), name="latent")
    x = layers.Dense(7 * 7 * 4 * base_filters, use_bias=False, name="dense")(inputs)
    x = layers.BatchNormalization(name="dense_bn")(x)
    x = layers.LeakyReLU(negative_slope, name="dense_leaky_relu")(x)
    x = layers.Reshape((7, 7, 4 * base_filters), name="reshape")(x)
    for index, (filters, strides) in enumerate(((2 * base_filters, 1), (base_filters, 2)), 1):
        x = layers.Conv2DTranspose(
            filters, 5, strides=strides, padding="same", use_bias=False, name=f"deconv{index}"
        )(x)
        x = layers.BatchNormalization(name=f"deconv{index}_bn")(x)
        x = layers.LeakyReLU(negative_slope, name=f"deconv{index}_leaky_relu")(x)
    x = layers.Conv2DTranspose(
        1, 5, strides=2, padding="same", use_bias=False, activation="tanh", name="deconv3"
    )(x)
    return finish("DCGANGenerator", inputs, x, name, weights)


def DCGANDiscriminator(  # noqa: N802 - Keras's spelling of model builders
    input_shape=(28, 28, 1),
    base_filters=64,
    dropout=0.3,
    negative_slope=0.2,
    weights=None,
    name="discriminator",
):
    """Build the MNIST DCGAN discriminator (Radford et al., ICLR 2016): image to one logit.

    ``conv1`` (``base_filters``, 5x5, stride 2) and ``conv2`` (2 * ``base_filters``), each
    with LeakyReLU and dropout, ``flatten``, and ``logit``: a Dense layer with one output
    and no activation (pair with ``BinaryCrossentropy(from_logits=True)``).

    Args:
        input_shape: one image's ``(height, width, channels)``.
        base_filters: 64 gives the usual 64-128 layout.
        dropout: the dropout rate after each convolution.
        negative_slope: of the LeakyReLUs.
        weights: None or the path of a local weights file.
        name: the model's name.

    Returns:
        a functional ``Model`` from ``(batch, 28, 28, 1)`` to ``(batch, 1)``.

    Example:
        >>> from lapenna.applications import DCGANDiscriminator
        >>> DCGANDiscriminator().output_shape
        (None, 1)
    """
    check_positive("DCGANDiscriminator", "base_filters", base_filters)
    check_weights("DCGANDiscriminator", weights)
    shape = check_input_shape("DCGANDiscriminator", input_shape, (28, 28, 1), min_size=1)
    if None in shape:
        raise ValueError(
            f"DCGANDiscriminator needs a fixed height and width (it flattens), got {shape}"
        )
    inputs = layers.Input(shape, name="image")
    x = inputs
    for index, filters in enumerate((base_filters, 2 * base_filters), start=1):
        x = layers.Conv2D(filters, 5, strides=2, padding="same", name=f"conv{index}")(x)
        x = layers.LeakyReLU(negative_slope, name=f"conv{index}_leaky_relu")(x)
        x = layers.Dropout(dropout, name=f"conv{index}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(1, name="logit")(x)
    return finish("DCGANDiscriminator", inputs, x, name, weights)


def ConditionalDCGANGenerator(  # noqa: N802 - Keras's spelling of model builders
    latent_dim=100, num_classes=10, base_filters=64, embedding_dim=16, name="generator"
):
    """The DCGAN generator conditioned on a class (Mirza and Osindero, "Conditional
    Generative Adversarial Nets", 2014).

    The one-hot label is embedded by a bias-free Dense layer ``label_embedding`` (a lookup
    table: row ``k`` of its kernel is class ``k``'s vector) and concatenated with the noise;
    the rest is ``DCGANGenerator``'s layout.

    Args:
        latent_dim: the length of the noise vector.
        num_classes: the number of classes.
        base_filters: 64 gives the usual 256-128-64 layout.
        embedding_dim: the length of a label's embedding.
        name: the model's name.

    Returns:
        a functional ``Model`` from ``[(batch, latent_dim), (batch, num_classes)]`` to
        ``(batch, 28, 28, 1)``.

    Example:
        >>> from lapenna.applications import ConditionalDCGANGenerator
        >>> ConditionalDCGANGenerator(latent_dim=8, base_filters=4).output_shape
        (None, 28, 28, 1)
    """
    for label, value in (
        ("latent_dim", latent_dim),
        ("num_classes", num_classes),
        ("embedding_dim", embedding_dim),
    ):
        check_positive("ConditionalDCGANGenerator", label, value)
    noise = layers.Input((latent_dim,), name="latent")
    labels = layers.Input((num_classes,), name="label")
    embedded = layers.Dense(embedding_dim, use_bias=False, name="label_embedding")(labels)
    joined = layers.Concatenate(name="concat")([noise, embedded])
    body = DCGANGenerator(latent_dim + embedding_dim, base_filters, name=f"{name}_body")
    return finish("ConditionalDCGANGenerator", [noise, labels], body(joined), name, None)


def ConditionalDCGANDiscriminator(  # noqa: N802 - Keras's spelling of model builders
    num_classes=10, base_filters=64, dropout=0.3, name="discriminator"
):
    """The DCGAN discriminator conditioned on a class: the one-hot label is embedded by a
    Dense layer ``label_embedding`` into a 28x28 plane, stacked on the image as a second
    channel, then ``DCGANDiscriminator``'s layout scores the pair with one logit.

    Returns:
        a functional ``Model`` from ``[(batch, 28, 28, 1), (batch, num_classes)]`` to
        ``(batch, 1)``.

    Example:
        >>> from lapenna.applications import ConditionalDCGANDiscriminator
        >>> ConditionalDCGANDiscriminator(base_filters=4).output_shape
        (None, 1)
    """
    check_positive("ConditionalDCGANDiscriminator", "num_classes", num_classes)
    image = layers.Input((28, 28, 1), name="image")
    labels = layers.Input((num_classes,), name="label")
    plane = layers.Dense(28 * 28, name="label_embedding")(labels)
    plane = layers.Reshape((28, 28, 1), name="label_plane")(plane)
    joined = layers.Concatenate(name="concat")([image, plane])
    body = DCGANDiscriminator((28, 28, 2), base_filters, dropout, name=f"{name}_body")
    return finish("ConditionalDCGANDiscriminator", [image, labels], body(joined), name, None)


def PatchGANDiscriminator(  # noqa: N802 - Keras's spelling of model builders
    input_shape=(28, 28, 1), target_channels=1, filters=(16, 32), name="patchgan"
):
    """A PatchGAN discriminator (Isola et al., CVPR 2017): one logit per patch of a pair.

    The input image and the (real or generated) output are stacked channel-wise, then 4x4
    convolutions ``conv<i>`` with stride 2 and LeakyReLU(0.2) and ``patch_logits``, a 4x4
    convolution with one channel. Each logit sees one receptive field of the pair.

    Args:
        input_shape: the input image's ``(height, width, channels)``.
        target_channels: the output image's channels.
        filters: the channels of the strided convolutions.

    Returns:
        a functional ``Model`` from ``[inputs, outputs]`` to ``(batch, h, w, 1)`` logits.

    Example:
        >>> from lapenna.applications import PatchGANDiscriminator
        >>> PatchGANDiscriminator().output_shape
        (None, 7, 7, 1)
    """
    shape = check_input_shape("PatchGANDiscriminator", input_shape, (28, 28, 1), min_size=4)
    check_positive("PatchGANDiscriminator", "target_channels", target_channels)
    source = layers.Input(shape, name="source")
    target = layers.Input((*shape[:2], target_channels), name="target")
    x = layers.Concatenate(name="pair")([source, target])
    for index, width in enumerate(filters, 1):
        check_positive("PatchGANDiscriminator", "filters", width)
        x = layers.Conv2D(width, 4, strides=2, padding="same", name=f"conv{index}")(x)
        x = layers.LeakyReLU(0.2, name=f"conv{index}_leaky_relu")(x)
    x = layers.Conv2D(1, 4, padding="same", name="patch_logits")(x)
    return finish("PatchGANDiscriminator", [source, target], x, name, None)

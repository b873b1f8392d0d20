"""A DCGAN that learns to draw digits, trained with a custom GradientTape loop.

A generative adversarial network is two networks in a game (Goodfellow et al., 2014): the
generator turns random noise into images, the discriminator tells real images from
generated ones. The discriminator's loss is the binary cross-entropy of "real" on real
images and "fake" on generated ones; the generator's loss is the cross-entropy of "real" on
its own images: it improves by fooling the discriminator. DCGAN (Radford et al., ICLR 2016)
makes both convolutional: transposed convolutions with batch normalization upsample the
noise to 28x28, strided convolutions with LeakyReLU classify.

``fit`` trains one model with one loss, so a GAN writes its own loop: both forward passes
under one persistent ``GradientTape``, then ``tape.gradient`` for each network's variables
and one ``apply_gradients`` per optimizer (Adam with beta_1 = 0.5, as in the paper). The
generator's images for a fixed batch of noise are saved as a grid after training.

Run: ``python examples/dcgan_mnist.py`` (about four minutes on two cores; after its ten
epochs most samples are digit-like strokes, more epochs sharpen them; after one epoch they
are still grey blobs).
"""

import argparse
import os

import numpy as np

import lapenna as lp
from lapenna.applications import DCGANDiscriminator, DCGANGenerator


def load_real_images(n=None):
    """The shipped MNIST sample scaled to [-1, 1], the range of the generator's tanh."""
    (x_train, _), _ = lp.datasets.mnist_sample.load_data()
    x = x_train[:n].astype(lp.floatx())
    return x / np.asarray(127.5, dtype=lp.floatx()) - np.asarray(1, dtype=lp.floatx())


def noise(count, latent_dim):
    return lp.backend.generator().standard_normal((count, latent_dim)).astype(lp.floatx())


def train_step(generator, discriminator, g_optimizer, d_optimizer, real, latent_dim):
    """One update of each network; returns the two losses as floats."""
    bce = lp.losses.BinaryCrossentropy(from_logits=True)
    count = len(real)
    ones = np.ones((count, 1), dtype=lp.floatx())
    zeros = np.zeros((count, 1), dtype=lp.floatx())
    with lp.GradientTape(persistent=True) as tape:
        fake = generator(noise(count, latent_dim), training=True)
        real_logits = discriminator(real, training=True)
        fake_logits = discriminator(fake, training=True)
        d_loss = bce(ones, real_logits) + bce(zeros, fake_logits)
        g_loss = bce(ones, fake_logits)
    d_variables = discriminator.trainable_variables
    g_variables = generator.trainable_variables
    d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_variables), d_variables))
    g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_variables), g_variables))
    return d_loss.item(), g_loss.item()


def main(
    epochs=10,
    batch_size=64,
    n_train=None,
    latent_dim=64,
    base_filters=32,
    out="dcgan_run",
    seed=0,
    verbose=1,
):
    """Train the GAN and save ``samples.png``; returns the per-epoch mean losses and path."""
    lp.set_seed(seed)
    os.makedirs(out, exist_ok=True)
    real_images = load_real_images(n_train)
    dataset = lp.data.Dataset.from_tensor_slices(real_images).shuffle(len(real_images))
    dataset = dataset.batch(batch_size, drop_remainder=len(real_images) >= batch_size)
    generator = DCGANGenerator(latent_dim=latent_dim, base_filters=base_filters)
    discriminator = DCGANDiscriminator(base_filters=base_filters)
    g_optimizer = lp.optimizers.Adam(2e-4, beta_1=0.5)
    d_optimizer = lp.optimizers.Adam(2e-4, beta_1=0.5)
    fixed_noise = noise(32, latent_dim)

    history = {"d_loss": [], "g_loss": []}
    for epoch in range(epochs):
        losses = [
            train_step(generator, discriminator, g_optimizer, d_optimizer, batch, latent_dim)
            for batch in dataset
        ]
        d_loss, g_loss = np.mean(losses, axis=0)
        history["d_loss"].append(float(d_loss))
        history["g_loss"].append(float(g_loss))
        if verbose:
            print(
                f"epoch {epoch + 1}/{epochs}  discriminator loss {d_loss:.4f}  "
                f"generator loss {g_loss:.4f}"
            )

    samples = generator.predict(fixed_noise, verbose=0)
    path = os.path.join(out, "samples.png")
    figure = lp.plot.images((samples + 1) / 2, ncols=8)
    figure.suptitle(f"DCGAN samples after {epochs} epochs")
    figure.savefig(path, dpi=100)
    print(f"generated digits written to {path}")
    return {"history": history, "samples": samples, "path": path}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--base-filters", type=int, default=32)
    parser.add_argument("--out", default="dcgan_run", help="folder for samples.png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(
        epochs=args.epochs,
        batch_size=args.batch_size,
        base_filters=args.base_filters,
        out=args.out,
        seed=args.seed,
    )

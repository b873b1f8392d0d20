"""A conditional DCGAN that draws the digit it is asked for.

``lp.models.ConditionalGAN`` gives the class label to both networks (Mirza and Osindero,
2014): the generator embeds the one-hot label and concatenates it with the noise, the
discriminator embeds it into a 28x28 plane stacked on the image, so it judges whether an
image is a real *k*. After training, ``DigitQuality``'s classifier (trained on the shipped
digits) checks how often a sample drawn for digit *k* is classified as *k*.

Run: ``python examples/conditional_gan_mnist.py`` (620 steps of batch 64 at width 16; the
README gives the measured share).
"""

import argparse

import numpy as np

import lapenna as lp
from lapenna.applications import (
    ConditionalDCGANDiscriminator,
    ConditionalDCGANGenerator,
    DigitQuality,
)


def main(
    steps=620,
    batch_size=64,
    n_train=None,
    latent_dim=32,
    base_filters=16,
    learning_rate=4e-4,
    samples=1000,
    seed=0,
    verbose=1,
):
    """Train for ``steps`` batches (whole epochs of full batches) and return the share of
    samples classified as the requested digit, overall and per digit."""
    lp.set_seed(seed)
    (x, y), _ = lp.datasets.mnist_sample.load_data()
    x = x[:n_train].astype(np.float32) / np.float32(127.5) - np.float32(1)
    y = y[:n_train]
    gan = lp.models.ConditionalGAN(
        ConditionalDCGANGenerator(latent_dim, base_filters=base_filters),
        ConditionalDCGANDiscriminator(base_filters=base_filters),
        latent_dim=latent_dim,
        num_classes=10,
    )
    gan.compile(
        d_optimizer=lp.optimizers.Adam(learning_rate, beta_1=0.5),
        g_optimizer=lp.optimizers.Adam(learning_rate, beta_1=0.5),
    )
    steps_per_epoch = max(1, len(x) // batch_size)
    epochs = -(-steps // steps_per_epoch)
    history = gan.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        verbose=verbose,
    )
    labels = np.arange(samples) % 10
    probs = DigitQuality().classify(gan.generate(samples, labels=labels, seed=seed + 1))
    hits = probs.argmax(axis=1) == labels
    per_digit = [float(hits[labels == k].mean()) for k in range(10)]
    if verbose:
        print(f"classified as the requested digit: {hits.mean():.3f}")
        print("per digit: " + " ".join(f"{k}:{v:.2f}" for k, v in enumerate(per_digit)))
    return {
        "history": history.history,
        "share": float(hits.mean()),
        "per_digit": per_digit,
        "steps": epochs * steps_per_epoch,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=620)
    parser.add_argument("--base-filters", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(steps=args.steps, base_filters=args.base_filters, seed=args.seed)

"""A DCGAN trained with ``lapenna.models.GAN`` and ``fit``, scored by the offline quality measure.

``GAN(generator, discriminator, latent_dim)`` is a model whose ``train_step`` alternates a
discriminator update and a generator update (Goodfellow et al., 2014, with the
non-saturating generator loss), so ``fit`` trains it with the usual callbacks: the progress
bar shows ``d_loss`` and ``g_loss``, ``SampleGrid`` writes the images of one fixed latent
batch after every epoch. At the end ``DigitQuality`` (a small classifier trained on the
shipped digits) scores 1,000 samples: classes covered, confident share, a classifier
Inception Score and a Frechet distance, next to the same scores for uniform noise and for
real held-out digits.

The run is fixed by its number of steps, not by time, so it is the same on any machine.

Run: ``python examples/gan_mnist.py`` (1,240 steps of batch 64; the README gives the
scores and the time it took).
"""

import argparse
import os

import numpy as np

import lapenna as lp
from lapenna.applications import DCGANDiscriminator, DCGANGenerator, DigitQuality


def load_real_images(n=None):
    """The 4,000 training digits of the shipped MNIST sample scaled to [-1, 1]."""
    (x_train, _), _ = lp.datasets.mnist_sample.load_data()
    x = x_train[:n].astype(lp.floatx())
    return x / np.asarray(127.5, dtype=lp.floatx()) - np.asarray(1, dtype=lp.floatx())


def build_gan(latent_dim=64, base_filters=32, d_steps=1):
    generator = DCGANGenerator(latent_dim=latent_dim, base_filters=base_filters)
    discriminator = DCGANDiscriminator(base_filters=base_filters)
    gan = lp.models.GAN(generator, discriminator, latent_dim=latent_dim, d_steps=d_steps)
    gan.compile(
        d_optimizer=lp.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=lp.optimizers.Adam(2e-4, beta_1=0.5),
        loss="non_saturating",
    )
    return gan


def main(
    steps=1240,
    batch_size=64,
    n_train=None,
    latent_dim=64,
    base_filters=32,
    samples=1000,
    out="gan_run",
    seed=0,
    score_every_epoch=False,
    verbose=1,
):
    """Train for ``steps`` batches (rounded up to whole epochs of full batches) and score
    the generator; returns the history, the scores and the grids' paths."""
    lp.set_seed(seed)
    os.makedirs(out, exist_ok=True)
    real = load_real_images(n_train)
    steps_per_epoch = max(1, len(real) // batch_size)
    epochs = -(-steps // steps_per_epoch)
    gan = build_gan(latent_dim, base_filters)
    quality = DigitQuality()
    grid = lp.callbacks.SampleGrid(64, os.path.join(out, "samples_{epoch:03d}.png"))
    callbacks = [grid]
    trajectory = []
    if score_every_epoch:
        callbacks.append(
            lp.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: trajectory.append(
                    _short(quality(gan.generate(samples, seed=seed + 1)))
                )
            )
        )
    history = gan.fit(
        real,
        batch_size=batch_size,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        verbose=verbose,
    )
    rng = np.random.default_rng(seed)
    scores = {
        "generator": quality(gan.generate(samples, seed=seed + 1)),
        "uniform noise": quality(rng.uniform(-1, 1, (samples, 28, 28, 1))),
        "real test digits": quality(
            lp.datasets.mnist_sample.load_data()[1][0] / 255.0, value_range=(0, 1)
        ),
    }
    gan.generator.save(os.path.join(out, "generator.lpn"))
    if verbose:
        for name, score in scores.items():
            print(f"{name:>17}: {_format(score)}")
        for epoch, score in enumerate(trajectory, 1):
            print(f"epoch {epoch:>3}: {_format(score)}")
    return {
        "history": history.history,
        "scores": scores,
        "trajectory": trajectory,
        "grids": grid.paths,
        "steps": epochs * steps_per_epoch,
    }


def _short(score):
    return {k: v for k, v in score.items() if k != "histogram"}


def _format(score):
    return (
        f"classes {score['classes_covered']:>2}  IS {score['inception_score']:.2f}  "
        f"confident {score['confident_share']:.2f}  KL {score['kl_to_uniform']:.3f}  "
        f"Frechet {score['frechet_distance']:.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1240)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--base-filters", type=int, default=32)
    parser.add_argument("--out", default="gan_run", help="folder for the sample grids")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--score-every-epoch", action="store_true")
    args = parser.parse_args()
    main(
        steps=args.steps,
        batch_size=args.batch_size,
        base_filters=args.base_filters,
        out=args.out,
        seed=args.seed,
        score_every_epoch=args.score_every_epoch,
    )

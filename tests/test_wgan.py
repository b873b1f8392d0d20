"""WGAN (weight clipping) and WGAN-GP: the penalty's second derivative and the critic's norm."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.models import gradient_penalty
from lapenna.testing import gradcheck


def test_gradient_penalty_of_a_linear_critic_is_the_closed_form():
    w = np.array([[3.0], [4.0]], np.float32)  # |grad| = 5 everywhere
    real, fake = np.ones((4, 2), np.float32), np.zeros((4, 2), np.float32)
    epsilon = np.full((4, 1), 0.3, np.float32)
    penalty, norm = gradient_penalty(lambda x: x @ lp.tensor(w), real, fake, epsilon)
    assert penalty.item() == pytest.approx(16.0) and norm == pytest.approx(5.0)


def test_the_penalty_passes_gradcheck_in_float64_through_the_critic_weights():
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    epsilon = rng.uniform(size=(3, 1))

    def penalty(w1, w2):
        def critic(x):
            return lp.ops.tanh(x @ w1) @ w2

        return gradient_penalty(critic, real, fake, epsilon)[0]

    assert gradcheck(penalty, [rng.standard_normal((4, 5)), rng.standard_normal((5, 1))])


def toy_networks(latent_dim=2):
    noise = layers.Input((latent_dim,))
    hidden = layers.Dense(16, activation="relu")(noise)
    generator = lp.Model(noise, layers.Dense(2)(hidden), name="generator")
    points = layers.Input((2,))
    hidden = layers.Dense(32, activation="tanh")(points)
    critic = lp.Model(points, layers.Dense(1)(hidden), name="critic")
    return generator, critic


def toy_data(n=256):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, 2)) * 0.3 + np.array([2.0, -1.0])).astype(np.float32)


def test_wgan_clips_the_critic_weights_and_updates_the_generator_every_d_steps():
    lp.set_seed(0)
    generator, critic = toy_networks()
    gan = lp.models.WGAN(generator, critic, latent_dim=2, d_steps=5, clip_value=0.05)
    gan.compile()
    gan.fit(toy_data(), batch_size=32, epochs=2, verbose=0)
    assert gan.d_optimizer.iterations == 16 and gan.g_optimizer.iterations == 3
    assert max(np.abs(w).max() for w in critic.get_weights()) <= 0.05
    with pytest.raises(ValueError, match="loss must be 'wasserstein'"):
        gan.compile(loss="minimax")


def test_wgan_gp_gradient_norm_on_interpolates_approaches_one():
    lp.set_seed(0)
    generator, critic = toy_networks()
    critic.set_weights([w * 4 for w in critic.get_weights()])  # start far from 1-Lipschitz
    gan = lp.models.WGANGP(generator, critic, latent_dim=2, d_steps=5)
    gan.compile(
        d_optimizer=lp.optimizers.Adam(1e-2, beta_1=0.0, beta_2=0.9),
        g_optimizer=lp.optimizers.Adam(1e-2, beta_1=0.0, beta_2=0.9),
    )
    norms = []
    logger = lp.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: norms.append(gan._penalty_logs["gradient_norm"])
    )
    history = gan.fit(toy_data(), batch_size=64, epochs=30, verbose=0, callbacks=[logger])
    assert {"d_loss", "g_loss", "gradient_penalty", "gradient_norm"} <= set(history.history)
    early, late = np.mean(norms[:3]), np.mean(norms[-20:])
    assert abs(early - 1) > 0.5 and abs(late - 1) < 0.15
    # the generator's points moved toward the data's mean (2, -1)
    assert np.linalg.norm(gan.generate(256, seed=0).mean(axis=0) - [2.0, -1.0]) < 1.0


def test_wgan_variants_save_and_load_with_their_settings(tmp_path):
    lp.set_seed(0)
    for gan in (
        lp.models.WGAN(*toy_networks(), latent_dim=2, d_steps=3, clip_value=0.02),
        lp.models.WGANGP(*toy_networks(), latent_dim=2, gp_weight=5.0),
    ):
        gan.compile()
        gan.fit(toy_data(64), batch_size=32, verbose=0)
        gan.save(tmp_path / "w.lpn")
        loaded = lp.models.load_model(tmp_path / "w.lpn")
        assert type(loaded) is type(gan) and loaded.get_config() == gan.get_config()
        np.testing.assert_array_equal(loaded.generate(4, seed=0), gan.generate(4, seed=0))

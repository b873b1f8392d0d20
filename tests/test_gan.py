"""GAN: the alternating train_step, its losses, fit's callbacks, checks and saving."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.applications import DCGANDiscriminator, DCGANGenerator


def tiny_gan(latent_dim=4, d_steps=1, loss="non_saturating", label_smoothing=0.0):
    generator = DCGANGenerator(latent_dim=latent_dim, base_filters=2)
    discriminator = DCGANDiscriminator(base_filters=2)
    gan = lp.models.GAN(generator, discriminator, latent_dim=latent_dim, d_steps=d_steps)
    gan.compile(
        d_optimizer=lp.optimizers.Adam(1e-3, beta_1=0.5),
        g_optimizer=lp.optimizers.Adam(1e-3, beta_1=0.5),
        loss=loss,
        label_smoothing=label_smoothing,
    )
    return gan


def real_images(n=16, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 28, 28, 1)).astype(np.float32)


def softplus(x):
    return np.logaddexp(0, x)


def test_losses_match_the_cross_entropy_formulas():
    gan = tiny_gan(label_smoothing=0.1)
    real = np.array([[2.0], [-1.0], [0.5]], dtype=np.float32)
    fake = np.array([[-3.0], [0.2], [1.5]], dtype=np.float32)
    d_loss = gan.discriminator_loss(lp.tensor(real), lp.tensor(fake)).item()
    sigmoid = 1 / (1 + np.exp(-real))
    bce_real = -(0.9 * np.log(sigmoid) + 0.1 * np.log(1 - sigmoid)).mean()
    bce_fake = -np.log(1 - 1 / (1 + np.exp(-fake))).mean()
    assert d_loss == pytest.approx(bce_real + bce_fake, rel=1e-5)
    assert gan.generator_loss(lp.tensor(fake)).item() == pytest.approx(
        -np.log(1 / (1 + np.exp(-fake))).mean(), rel=1e-5
    )
    gan.loss = "minimax"
    assert gan.generator_loss(lp.tensor(fake)).item() == pytest.approx(
        np.log(1 - 1 / (1 + np.exp(-fake))).mean(), rel=1e-5
    )


def test_d_steps_discriminator_updates_per_generator_update():
    lp.set_seed(0)
    gan = tiny_gan(d_steps=3)
    history = gan.fit(real_images(24), batch_size=4, epochs=1, verbose=0)
    assert gan.d_optimizer.iterations == 6
    assert gan.g_optimizer.iterations == 2
    assert set(history.history) == {"d_loss", "g_loss", "learning_rate"}


def _trainable(network):
    return [w.numpy().copy() for w in network.trainable_weights]


def test_each_update_moves_only_its_own_network():
    lp.set_seed(0)
    gan = tiny_gan(d_steps=2)
    g_before, d_before = _trainable(gan.generator), _trainable(gan.discriminator)
    logs = gan.train_on_batch(real_images(4))  # one discriminator update, no generator update
    assert set(logs) == {"d_loss", "g_loss"}
    assert all(np.array_equal(a, b) for a, b in zip(g_before, _trainable(gan.generator)))
    assert not all(np.array_equal(a, b) for a, b in zip(d_before, _trainable(gan.discriminator)))
    gan.train_on_batch(real_images(4))  # the second: the generator moves too
    assert not all(np.array_equal(a, b) for a, b in zip(g_before, _trainable(gan.generator)))


@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_both_generator_losses_train_the_generator_toward_fooling(loss):
    lp.set_seed(1)
    gan = tiny_gan(loss=loss)
    x = real_images(8)
    gan.fit(x, batch_size=8, epochs=1, verbose=0)
    logits_before = gan.discriminator.predict(gan.generate(16, seed=3), verbose=0).mean()
    for _ in range(5):
        gan.generator_step(x, None)
    logits_after = gan.discriminator.predict(gan.generate(16, seed=3), verbose=0).mean()
    assert logits_after > logits_before  # the discriminator calls the fakes more real


def test_progress_bar_shows_both_losses(capsys):
    lp.set_seed(0)
    gan = tiny_gan()
    gan.fit(real_images(8), batch_size=4, epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert "d_loss:" in out and "g_loss:" in out


def test_generate_is_reproducible_and_leaves_the_global_generator_alone():
    lp.set_seed(0)
    gan = tiny_gan()
    state = lp.backend.get_rng_state()
    a, b = gan.generate(5, seed=11), gan.generate(5, seed=11)
    assert lp.backend.get_rng_state() == state
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5, 28, 28, 1) and np.abs(a).max() <= 1
    assert not np.array_equal(a, gan.generate(5, seed=12))
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        gan.generate(0)


def test_save_and_load_both_networks(tmp_path):
    lp.set_seed(0)
    gan = tiny_gan()
    gan.fit(real_images(8), batch_size=4, verbose=0)
    gan.save(tmp_path / "gan.lpn")
    loaded = lp.models.load_model(tmp_path / "gan.lpn")
    assert isinstance(loaded, lp.models.GAN) and loaded.latent_dim == 4
    np.testing.assert_array_equal(loaded.generate(3, seed=1), gan.generate(3, seed=1))
    images = real_images(3)
    np.testing.assert_array_equal(
        loaded.discriminator.predict(images, verbose=0),
        gan.discriminator.predict(images, verbose=0),
    )
    gan.generator.save(tmp_path / "generator.lpn")
    generator = lp.models.load_model(tmp_path / "generator.lpn")
    noise = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(
        generator.predict(noise, verbose=0), gan.predict(noise, verbose=0)
    )


def test_checkpoint_callbacks_save_the_gan(tmp_path):
    lp.set_seed(0)
    gan = tiny_gan()
    weights = lp.callbacks.ModelCheckpoint(
        str(tmp_path / "gan_{epoch}.safetensors"), monitor="g_loss", save_weights_only=True
    )
    whole = lp.callbacks.ModelCheckpoint(str(tmp_path / "best.lpn"), monitor="d_loss")
    gan.fit(real_images(8), batch_size=4, epochs=2, verbose=0, callbacks=[weights, whole])
    other = tiny_gan()
    other.load_weights(str(tmp_path / "gan_2.safetensors"))
    np.testing.assert_array_equal(other.generate(2, seed=0), gan.generate(2, seed=0))
    assert isinstance(lp.models.load_model(tmp_path / "best.lpn"), lp.models.GAN)


class _Interrupt(Exception):
    pass


def _train_with_backup(folder, stop_at=None):
    lp.set_seed(5)
    gan = tiny_gan(d_steps=2)

    class Stop(lp.callbacks.Callback):
        seen = 0

        def on_train_batch_end(self, batch, logs=None):
            Stop.seen += 1
            if Stop.seen == stop_at:
                raise _Interrupt

    callbacks = [lp.callbacks.BackupAndRestore(folder, save_freq=3), Stop()]
    gan.fit(real_images(24, seed=2), batch_size=4, epochs=3, verbose=0, callbacks=callbacks)
    return gan


def test_backup_and_restore_resumes_bit_identically(tmp_path):
    clean = _train_with_backup(tmp_path / "clean")
    with pytest.raises(_Interrupt):
        _train_with_backup(tmp_path / "run", stop_at=8)  # mid-epoch 2, saved at batch 6
    resumed = _train_with_backup(tmp_path / "run")
    assert resumed.g_optimizer.iterations == clean.g_optimizer.iterations == 9
    for a, b in zip(clean.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_generator_that_does_not_fit_the_discriminator_fails_at_compile():
    gan = lp.models.GAN(
        DCGANGenerator(latent_dim=4, base_filters=2),
        DCGANDiscriminator(input_shape=(32, 32, 1), base_filters=2),
        latent_dim=4,
    )
    with pytest.raises(ValueError, match=r"outputs shape \(None, 28, 28, 1\).*\(None, 32, 32, 1\)"):
        gan.compile()


def test_a_discriminator_with_two_units_fails_at_compile():
    inputs = layers.Input((28, 28, 1))
    two = lp.Model(inputs, layers.Dense(2)(layers.Flatten()(inputs)))
    gan = lp.models.GAN(DCGANGenerator(latent_dim=4, base_filters=2), two, latent_dim=4)
    with pytest.raises(ValueError, match=r"one logit per image.*got output shape \(None, 2\)"):
        gan.compile()


class _Subclassed(lp.Model):
    def __init__(self, units, shape=None):
        super().__init__()
        self.dense = layers.Dense(units)
        self.shape = shape

    def call(self, inputs, training=False):
        out = self.dense(lp.ops.reshape(inputs, (inputs.shape[0], -1)))
        return out if self.shape is None else lp.ops.reshape(out, (-1, *self.shape))


def test_subclassed_networks_are_checked_at_the_first_step_before_any_update():
    real = real_images(4)
    wrong_size = lp.models.GAN(_Subclassed(16 * 16, (16, 16, 1)), _Subclassed(1), latent_dim=4)
    wrong_size.compile()
    with pytest.raises(ValueError, match=r"makes images of shape \(16, 16, 1\).*\(28, 28, 1\)"):
        wrong_size.fit(real, batch_size=4, verbose=0)
    assert wrong_size.d_optimizer.iterations == wrong_size.g_optimizer.iterations == 0
    two_units = lp.models.GAN(_Subclassed(28 * 28, (28, 28, 1)), _Subclassed(2), latent_dim=4)
    two_units.compile()
    with pytest.raises(ValueError, match=r"last axis of 1, got output shape \(2, 2\)"):
        two_units.fit(real, batch_size=4, verbose=0)


def test_bad_arguments_are_refused():
    generator, discriminator = DCGANGenerator(latent_dim=4, base_filters=2), DCGANDiscriminator()
    with pytest.raises(ValueError, match="takes noise of length 4, but latent_dim is 8"):
        lp.models.GAN(generator, discriminator, latent_dim=8)
    with pytest.raises(ValueError, match="d_steps must be an int >= 1, got 0"):
        lp.models.GAN(generator, discriminator, latent_dim=4, d_steps=0)
    with pytest.raises(TypeError, match="discriminator must be a Model"):
        lp.models.GAN(generator, "d", latent_dim=4)
    gan = lp.models.GAN(generator, discriminator, latent_dim=4)
    with pytest.raises(ValueError, match="loss must be one of"):
        gan.compile(loss="hinge")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\)"):
        gan.compile(label_smoothing=1.0)
    adam = lp.optimizers.Adam()
    with pytest.raises(ValueError, match="two objects"):
        gan.compile(d_optimizer=adam, g_optimizer=adam)
    assert not gan.compiled

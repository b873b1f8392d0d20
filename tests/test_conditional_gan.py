"""ConditionalGAN: labels reach both networks, bad labels are refused, the gate on digits."""

import numpy as np
import pytest

import lapenna as lp
from lapenna.applications import ConditionalDCGANDiscriminator, ConditionalDCGANGenerator


def tiny_cgan(latent_dim=4):
    gan = lp.models.ConditionalGAN(
        ConditionalDCGANGenerator(latent_dim, base_filters=2, embedding_dim=4),
        ConditionalDCGANDiscriminator(base_filters=2),
        latent_dim=latent_dim,
        num_classes=10,
    )
    gan.compile()
    return gan


def test_the_label_changes_the_image_for_the_same_noise():
    lp.set_seed(0)
    gan = tiny_cgan()
    images = gan.generate(2, labels=[3, 8], seed=0)
    same_noise = gan.generate(2, labels=[3, 3], seed=0)
    np.testing.assert_array_equal(images[0], same_noise[0])
    assert not np.allclose(images[1], same_noise[1])
    assert gan.generate(12, seed=0).shape == (12, 28, 28, 1)  # classes in turn


def test_fit_trains_both_networks_on_labelled_pairs_and_saves(tmp_path):
    lp.set_seed(0)
    gan = tiny_cgan()
    x = np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
    y = np.arange(8) % 10
    history = gan.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert gan.d_optimizer.iterations == gan.g_optimizer.iterations == 2
    assert np.isfinite(history.history["d_loss"]).all()
    gan.save(tmp_path / "cgan.lpn")
    loaded = lp.models.load_model(tmp_path / "cgan.lpn")
    assert isinstance(loaded, lp.models.ConditionalGAN) and loaded.num_classes == 10
    np.testing.assert_array_equal(
        loaded.generate(3, labels=[1, 2, 3], seed=4), gan.generate(3, labels=[1, 2, 3], seed=4)
    )


def test_bad_labels_are_refused_before_training():
    gan = tiny_cgan()
    x = np.zeros((4, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match="needs the labels y"):
        gan.fit(x, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=r"integers in \[0, 10\), got values from 0 to 10"):
        gan.fit(x, np.array([0, 1, 2, 10]), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=r"labels of shape \(batch,\)"):
        gan.generate(2, labels=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        gan.generate(2, labels=[1, 2, 3])
    assert gan.d_optimizer.iterations == 0
    with pytest.raises(ValueError, match="num_classes must be an int >= 2"):
        lp.models.ConditionalGAN(gan.generator, gan.discriminator, 4, num_classes=1)

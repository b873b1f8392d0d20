"""SampleGrid (PNG and TensorBoard image) and DigitQuality, the offline IS/Frechet stand-in."""

import struct
import zlib

import numpy as np
import pytest

import lapenna as lp
from lapenna.applications import DCGANDiscriminator, DCGANGenerator, DigitQuality, frechet_distance
from lapenna.callbacks.sample_grid import encode_png, image_grid


def decode_png(data):
    """A minimal reader for encode_png's output: checks the signature and each CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = body
        position += 12 + length
    width, height, depth, color, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    channels = {0: 1, 2: 3}[color]
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8)
    rows = rows.reshape(height, 1 + width * channels)
    assert depth == 8 and (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(height, width, channels)


def test_png_round_trip_grey_and_rgb():
    rng = np.random.default_rng(0)
    for channels in (1, 3):
        pixels = rng.integers(0, 256, (5, 7, channels), dtype=np.uint8)
        np.testing.assert_array_equal(decode_png(encode_png(pixels)), pixels)
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((4, 4, 1), np.float32))


def test_image_grid_places_tiles_and_maps_the_value_range():
    images = np.stack([np.full((3, 2, 1), v, np.float32) for v in (-1.0, 0.0, 1.0)])
    grid = image_grid(images, ncols=2, value_range=(-1, 1), pad=1)
    assert grid.shape == (2 * 4 + 1, 2 * 3 + 1, 1)
    assert grid[1, 1, 0] == 0 and grid[1, 4, 0] == 128 and grid[5, 1, 0] == 255
    assert grid[0].max() == 0 and grid[5, 4, 0] == 0  # padding and the empty fourth tile
    with pytest.raises(ValueError, match=r"\(N, H, W, 1 or 3\)"):
        image_grid(np.zeros((2, 4, 4, 2)))


def test_sample_grid_writes_the_same_latent_batch_each_epoch(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing import event_accumulator as ea

    lp.set_seed(0)
    gan = lp.models.GAN(
        DCGANGenerator(latent_dim=4, base_filters=2), DCGANDiscriminator(base_filters=2), 4
    )
    gan.compile()
    grid = lp.callbacks.SampleGrid(
        6, str(tmp_path / "grid_{epoch}.png"), ncols=3, log_dir=str(tmp_path / "logs")
    )
    x = np.zeros((4, 28, 28, 1), np.float32)
    gan.fit(x, batch_size=4, epochs=2, verbose=0, callbacks=[grid])
    assert grid.paths == [str(tmp_path / "grid_1.png"), str(tmp_path / "grid_2.png")]
    picture = decode_png((tmp_path / "grid_2.png").read_bytes())
    assert picture.shape == (2 * 30 + 2, 3 * 30 + 2, 1)
    expected = image_grid(gan.generator.predict(grid.inputs, verbose=0), ncols=3)
    np.testing.assert_array_equal(picture, expected)
    accumulator = ea.EventAccumulator(str(tmp_path / "logs" / "samples"))
    images = accumulator.Reload().Images("samples")
    assert [e.step for e in images] == [1, 2]
    assert images[1].encoded_image_string == (tmp_path / "grid_2.png").read_bytes()


def test_sample_grid_arguments():
    with pytest.raises(ValueError, match="inputs must be a batch or an int >= 1"):
        lp.callbacks.SampleGrid(0)
    with pytest.raises(ValueError, match="ncols must be an int >= 1"):
        lp.callbacks.SampleGrid(4, ncols=0)
    with pytest.raises(ValueError, match="value_range"):
        lp.callbacks.SampleGrid(4, value_range=(1, 1))


def test_frechet_distance_of_diagonal_gaussians_matches_the_closed_form():
    mean_1, mean_2 = np.array([1.0, 2.0, 0.0]), np.array([0.0, 2.0, 3.0])
    var_1, var_2 = np.array([4.0, 1.0, 9.0]), np.array([1.0, 1.0, 0.25])
    expected = ((mean_1 - mean_2) ** 2).sum() + ((np.sqrt(var_1) - np.sqrt(var_2)) ** 2).sum()
    got = frechet_distance(mean_1, np.diag(var_1), mean_2, np.diag(var_2))
    assert got == pytest.approx(expected, rel=1e-10)
    rotation = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    cov = rotation @ np.diag(var_1) @ rotation.T
    assert frechet_distance(mean_1, cov, mean_1, cov) == pytest.approx(0, abs=1e-9)


@pytest.fixture(scope="module")
def quality():
    return DigitQuality()


def test_quality_scores_real_digits_high_and_noise_low(quality):
    state = lp.backend.get_rng_state()
    (x_train, _), (x_test, _) = lp.datasets.mnist_sample.load_data()
    assert quality.test_accuracy > 0.88
    real = quality(x_train[:1000] / 255.0, value_range=(0, 1))
    assert real["classes_covered"] == 10 and real["kl_to_uniform"] < 0.02
    assert real["inception_score"] > 7 and real["confident_share"] > 0.7
    assert real["frechet_distance"] < 5
    noise = quality(np.random.default_rng(0).uniform(-1, 1, (1000, 28, 28, 1)))
    assert noise["inception_score"] < 2.5 and noise["frechet_distance"] > 40 * max(
        real["frechet_distance"], 1
    )
    one = quality(np.repeat(x_test[:1] / 127.5 - 1, 50, axis=0))  # mode collapse
    assert one["classes_covered"] == 1 and one["inception_score"] == pytest.approx(1, abs=1e-3)
    assert one["kl_to_uniform"] == pytest.approx(np.log(10))
    assert sum(one["histogram"]) == pytest.approx(1) and one["count"] == 50
    assert lp.backend.get_rng_state() == state  # the classifier's seed is private


def test_quality_refuses_bad_images(quality):
    with pytest.raises(ValueError, match=r"shape \(28, 28, 1\) or \(28, 28\), got shape"):
        quality(np.zeros((4, 32, 32, 1)))
    bad = np.zeros((4, 28, 28, 1))
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        quality(bad)


def test_a_short_dcgan_run_draws_recognisable_digits():
    """The proportionate gate of the README's long run (1,240 steps of batch 64 at width
    32): 200 steps of batch 32 at width 8 already draw several digit classes well away from
    noise. Measured: 8 classes, IS 2.80, Frechet 52.5 against noise's 320."""
    from lapenna.applications import digit_quality

    lp.set_seed(0)
    (x_train, _), _ = lp.datasets.mnist_sample.load_data()
    real = x_train.astype(np.float32) / np.float32(127.5) - np.float32(1)
    gan = lp.models.GAN(
        DCGANGenerator(latent_dim=16, base_filters=8), DCGANDiscriminator(base_filters=8), 16
    )
    gan.compile(
        d_optimizer=lp.optimizers.Adam(5e-4, beta_1=0.5),
        g_optimizer=lp.optimizers.Adam(5e-4, beta_1=0.5),
    )
    gan.fit(real, batch_size=32, epochs=2, steps_per_epoch=100, verbose=0)
    scores = digit_quality(gan.generate(500, seed=1))
    noise = digit_quality(np.random.default_rng(0).uniform(-1, 1, (500, 28, 28, 1)))
    assert scores["classes_covered"] >= 6
    assert scores["inception_score"] >= 2.0
    assert scores["frechet_distance"] < noise["frechet_distance"] / 4

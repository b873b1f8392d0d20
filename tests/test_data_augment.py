"""Augmentation functions: exact geometry on known cases, ranges, dtypes, seeding."""

import numpy as np
import pytest

import lapenna as lp
from lapenna.data import augment


@pytest.fixture
def batch():
    return np.random.default_rng(0).random((3, 6, 6, 2)).astype(np.float32)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_quarter_turn_is_rot90_counter_clockwise(batch, interpolation):
    out = augment.random_rotation(batch, (0.25, 0.25), interpolation=interpolation, generator=0)
    np.testing.assert_allclose(out, np.rot90(batch, axes=(1, 2)), atol=1e-5)
    assert out.dtype == np.float32


def test_translation_fill_modes_follow_keras():
    row = np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1)
    expected = {
        "reflect": [1, 0, 0, 1],
        "wrap": [2, 3, 0, 1],
        "nearest": [0, 0, 0, 1],
        "constant": [9, 9, 0, 1],
    }
    for mode, values in expected.items():
        out = augment.random_translation(
            row, 0, (0.5, 0.5), fill_mode=mode, interpolation="nearest", fill_value=9, generator=0
        )
        assert out.ravel().tolist() == values, mode


def test_translation_shifts_down_and_right(batch):
    out = augment.random_translation(
        batch, (1 / 6, 1 / 6), (2 / 6, 2 / 6), fill_mode="constant", generator=0
    )
    np.testing.assert_allclose(out[:, 1:, 2:], batch[:, :-1, :-2], atol=1e-6)
    assert not out[:, 0].any() and not out[:, :, :2].any()


def test_bilinear_half_pixel_shift_averages_neighbours():
    row = np.array([0.0, 2.0, 4.0, 6.0], np.float32).reshape(1, 1, 4, 1)
    out = augment.random_translation(row, 0, (0.125, 0.125), fill_mode="nearest", generator=0)
    np.testing.assert_allclose(out.ravel(), [0.0, 1.0, 3.0, 5.0])


def test_zoom_zero_is_identity_and_positive_zooms_out(batch):
    np.testing.assert_allclose(augment.random_zoom(batch, (0.0, 0.0), generator=0), batch)
    square = np.zeros((1, 21, 21, 1), np.float32)
    square[0, 6:15, 6:15] = 1
    out = augment.random_zoom(square, (1.0, 1.0), fill_mode="constant", interpolation="nearest")
    # twice the field of view: the 9-pixel square shrinks to about 5 pixels per side
    assert 16 <= out.sum() <= 36 and out[0, 10, 10, 0] == 1
    zoomed_in = augment.random_zoom(square, (-0.5, -0.5), interpolation="nearest")
    assert zoomed_in.sum() > square.sum()
    with pytest.raises(ValueError, match="above -1"):
        augment.random_zoom(square, (-1.0, 0.0))


def _ray_angles(images):
    """Mean direction (degrees, up positive) of the far pixels of a ray from the center."""
    angles = []
    for image in images[..., 0]:
        rows, cols = np.nonzero(image > 0.5)
        far = (rows - 20) ** 2 + (cols - 20) ** 2 > 15**2  # far pixels: fine angle resolution
        angles.append(np.degrees(np.arctan2(20 - rows[far], cols[far] - 20)).mean())
    return np.array(angles)


def test_rotation_angles_follow_the_factor():
    image = np.zeros((1, 41, 41, 1), np.float32)
    image[0, 20, 20:] = 1  # a ray pointing right
    fixed = augment.random_rotation(
        image, (0.1, 0.1), fill_mode="constant", interpolation="nearest"
    )
    assert abs(_ray_angles(fixed)[0] - 36.0) < 1.5  # a tenth of a turn, counter-clockwise
    batch = np.repeat(image, 60, axis=0)
    out = augment.random_rotation(
        batch, 0.1, fill_mode="constant", interpolation="nearest", generator=1
    )
    angles = _ray_angles(out)
    assert np.abs(angles).max() < 37.5 and angles.max() > 20 and angles.min() < -20


def test_flip_modes_and_probability():
    images = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4, 1)
    batch = np.repeat(images[:1], 200, axis=0)
    out = augment.random_flip(batch, generator=0)
    flipped = np.all(out == batch[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(flipped | np.all(out == batch, axis=(1, 2, 3)))
    assert 60 < flipped.sum() < 140
    both = augment.random_flip(batch, "horizontal_and_vertical", generator=0)
    kinds = {tuple(b.ravel()[:2]) for b in both}
    assert len(kinds) == 4
    single = augment.random_flip(images[0], "vertical", generator=0)
    assert single.shape == (3, 4, 1)
    with pytest.raises(ValueError, match="mode"):
        augment.random_flip(images, "diagonal")


def test_crop_with_padding_is_a_shifted_window():
    images = np.arange(64, dtype=np.uint8).reshape(1, 8, 8, 1).repeat(30, axis=0)
    out = augment.random_crop(images, 8, 8, padding=2, generator=0)
    assert out.shape == images.shape and out.dtype == np.uint8
    padded = np.pad(images[0, :, :, 0], 2)
    windows = {(r, c) for r in range(5) for c in range(5) if True}
    for crop in out[:, :, :, 0]:
        assert any(np.array_equal(crop, padded[r : r + 8, c : c + 8]) for r, c in windows)
    assert len({crop.tobytes() for crop in out}) > 5
    np.testing.assert_array_equal(augment.random_crop(images, 8, 8), images)
    assert augment.random_crop(images[0], 5, 3).shape == (5, 3, 1)
    reflect = augment.random_crop(images, 12, 12, padding=2, padding_mode="reflect", generator=0)
    np.testing.assert_array_equal(
        reflect[0, :, :, 0], np.pad(images[0, :, :, 0], 2, mode="reflect")
    )
    with pytest.raises(ValueError, match="cannot cut"):
        augment.random_crop(images, 9, 8)


def test_brightness_and_contrast_ranges():
    images = np.full((40, 4, 4, 3), 100, np.uint8)
    images[:, 0, 0] = 50
    bright = augment.random_brightness(images, 0.2, generator=0)
    assert bright.dtype == np.uint8
    deltas = bright[:, 1, 1, 0].astype(int) - 100
    assert np.abs(deltas).max() <= 51 and len(set(deltas)) > 10
    np.testing.assert_array_equal(bright[:, 1, 1], bright[:, 2, 2])  # one offset per image
    clipped = augment.random_brightness(np.full((5, 2, 2, 1), 250.0, np.float32), (0.5, 0.5))
    assert clipped.max() == 255 and clipped.dtype == np.float32
    flat = np.random.default_rng(0).uniform(50, 200, (20, 5, 5, 3)).astype(np.float32)
    contrast = augment.random_contrast(flat, (0.3, 0.0), generator=0)
    np.testing.assert_allclose(contrast.mean(axis=(1, 2)), flat.mean(axis=(1, 2)), rtol=1e-4)
    ratio = contrast.std(axis=(1, 2)) / flat.std(axis=(1, 2))
    assert np.all((ratio >= 0.7 - 1e-4) & (ratio <= 1 + 1e-4)) and ratio.std() > 0.01
    with pytest.raises(ValueError, match="within"):
        augment.random_brightness(images, 1.5)


def test_cutout_blanks_one_clipped_square():
    images = np.ones((50, 10, 10, 2), np.float32)
    out = augment.cutout(images, 4, generator=0)
    blank = (out[..., 0] == 0).sum(axis=(1, 2))
    assert np.all((blank > 0) & (blank <= 16)) and (blank == 16).any() and (blank < 16).any()
    assert np.array_equal(out[..., 0] == 0, out[..., 1] == 0)


def test_normalize_per_channel():
    images = np.full((2, 2, 2, 3), 255, np.uint8)
    out = augment.normalize(images, [127.5, 0, 255], [127.5, 255, 1])
    np.testing.assert_allclose(out[0, 0, 0], [1.0, 1.0, 0.0])
    assert out.dtype == np.float32
    lp.set_floatx("float64")
    assert augment.normalize(images, 0, 1).dtype == np.float64
    lp.set_floatx("float32")
    with pytest.raises(ValueError, match="std"):
        augment.normalize(images, 0, 0)
    with pytest.raises(ValueError, match="per channel"):
        augment.normalize(images, [1, 2], 1)


RANDOM_FUNCTIONS = {
    "flip": lambda x, g: augment.random_flip(x, generator=g),
    "crop": lambda x, g: augment.random_crop(x, 5, 5, padding=1, generator=g),
    "rotation": lambda x, g: augment.random_rotation(x, 0.2, generator=g),
    "zoom": lambda x, g: augment.random_zoom(x, 0.2, (-0.1, 0.3), generator=g),
    "translation": lambda x, g: augment.random_translation(x, 0.2, 0.2, generator=g),
    "brightness": lambda x, g: augment.random_brightness(x, 0.2, generator=g),
    "contrast": lambda x, g: augment.random_contrast(x, 0.3, generator=g),
    "cutout": lambda x, g: augment.cutout(x, 2, generator=g),
}


@pytest.mark.parametrize("name", sorted(RANDOM_FUNCTIONS))
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_dtypes_shapes_and_seeding(name, dtype):
    fn = RANDOM_FUNCTIONS[name]
    images = (np.random.default_rng(1).random((6, 6, 6, 3)) * 200).astype(dtype)
    out = fn(images, 5)
    assert out.dtype == dtype and out.shape[0] == 6 and out.shape[-1] == 3
    np.testing.assert_array_equal(out, fn(images, np.random.default_rng(5)))
    assert fn(images[0], 5).ndim == 3
    lp.set_seed(11)
    first = fn(images, None)
    lp.set_seed(11)
    np.testing.assert_array_equal(first, fn(images, None))
    assert not np.array_equal(fn(images, None), first)


def test_bad_shapes_and_options_are_named():
    with pytest.raises(
        ValueError, match=r"random_rotation expects one image .* got shape \(4, 4\)"
    ):
        augment.random_rotation(np.zeros((4, 4)), 0.1)
    with pytest.raises(ValueError, match="fill_mode"):
        augment.random_rotation(np.zeros((4, 4, 1)), 0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="interpolation"):
        augment.random_zoom(np.zeros((4, 4, 1)), 0.1, interpolation="cubic")
    with pytest.raises(ValueError, match="low <= high"):
        augment.random_translation(np.zeros((4, 4, 1)), (0.2, 0.1), 0.0)


def test_augmentation_inside_a_parallel_map():
    images = np.random.default_rng(0).random((12, 8, 8, 3)).astype(np.float32)
    ds = lp.data.Dataset.from_tensor_slices(images).batch(4)
    ds = ds.map(
        lambda x: augment.random_crop(x, 8, 8, padding=2, generator=0), num_parallel_calls=2
    )
    assert [b.shape for b in ds] == [(4, 8, 8, 3)] * 3

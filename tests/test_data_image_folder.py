"""image_dataset_from_directory on small folders of images written with Pillow."""

import numpy as np
import pytest

from lapenna.data import DatasetFormatError, image_dataset_from_directory

PIL = pytest.importorskip("PIL.Image")

COLORS = {"ants": (255, 0, 0), "bees": (0, 0, 255), "wasps": (0, 255, 0)}


def _write_folder(root, per_class=4, classes=("ants", "bees")):
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            size = (20 + 3 * i, 12 + 2 * i)  # various sizes and formats
            image = PIL.new("RGB", size, COLORS[name])
            suffix = (".png", ".jpg", ".bmp", ".PNG")[i % 4]
            image.save(root / name / f"img_{i}{suffix}")
    (root / "ants" / "notes.txt").write_text("not an image")
    return root


def _dominant_class(images):
    # red -> ants (0), blue -> bees (1), green -> wasps (2)
    return np.argmax(images.mean(axis=(1, 2))[:, [0, 2, 1]], axis=1)


def test_inferred_labels_match_the_folders(tmp_path):
    ds = image_dataset_from_directory(
        _write_folder(tmp_path), image_size=(8, 10), batch_size=3, seed=1
    )
    assert ds.class_names == ["ants", "bees"] and len(ds.file_paths) == 8
    assert len(ds) == 3
    images, labels = next(iter(ds))
    assert images.shape == (3, 8, 10, 3) and images.dtype == np.float32 and labels.dtype == np.int32
    all_labels = []
    for images, labels in ds:
        np.testing.assert_array_equal(_dominant_class(images), labels)
        assert images.max() <= 255 and images.max() > 200
        all_labels += labels.tolist()
    assert sorted(all_labels) == [0] * 4 + [1] * 4


def test_label_modes_and_color_modes(tmp_path):
    root = _write_folder(tmp_path)
    cat = image_dataset_from_directory(
        root, label_mode="categorical", image_size=(4, 4), batch_size=8
    )
    images, onehot = next(iter(cat))
    assert onehot.shape == (8, 2) and onehot.dtype == np.float32
    np.testing.assert_array_equal(onehot.argmax(1), _dominant_class(images))
    binary = image_dataset_from_directory(
        root, label_mode="binary", image_size=(4, 4), shuffle=False
    )
    assert next(iter(binary))[1].shape == (8, 1)
    gray = image_dataset_from_directory(
        root, color_mode="grayscale", labels=None, image_size=(5, 6)
    )
    batch = next(iter(gray))
    assert isinstance(batch, np.ndarray) and batch.shape == (8, 5, 6, 1)
    rgba = image_dataset_from_directory(root, color_mode="rgba", image_size=(5, 6), batch_size=None)
    image, label = next(iter(rgba))
    assert image.shape == (5, 6, 4) and label.shape == ()


def test_class_names_order_and_explicit_labels(tmp_path):
    root = _write_folder(tmp_path)
    ds = image_dataset_from_directory(
        root, class_names=["bees", "ants"], image_size=(4, 4), shuffle=False
    )
    images, labels = next(iter(ds))
    assert (
        labels.tolist() == [0] * 4 + [1] * 4
        and _dominant_class(images).tolist() == [1] * 4 + [0] * 4
    )
    with pytest.raises(ValueError, match="do not match the sub-folders"):
        image_dataset_from_directory(root, class_names=["ants", "wasps"])
    explicit = image_dataset_from_directory(
        root, labels=list(range(8)), shuffle=False, image_size=(4, 4)
    )
    assert next(iter(explicit))[1].tolist() == list(range(8))
    with pytest.raises(ValueError, match="7 labels given for 8 image files"):
        image_dataset_from_directory(root, labels=list(range(7)))
    with pytest.raises(ValueError, match="exactly 2 classes"):
        image_dataset_from_directory(
            _write_folder(tmp_path / "three", 1, tuple(COLORS)), label_mode="binary"
        )


def test_validation_split_is_disjoint_and_seeded(tmp_path):
    root = _write_folder(tmp_path, per_class=5)
    train, val = image_dataset_from_directory(
        root, validation_split=0.3, subset="both", seed=7, image_size=(4, 4), batch_size=2
    )
    assert len(train.file_paths) == 7 and len(val.file_paths) == 3
    assert not set(train.file_paths) & set(val.file_paths)
    again = image_dataset_from_directory(
        root, validation_split=0.3, subset="validation", seed=7, image_size=(4, 4)
    )
    assert again.file_paths == val.file_paths and again.class_names == ["ants", "bees"]
    epochs = [[label for _, labels in train for label in labels.tolist()] for _ in range(3)]
    assert all(sorted(e) == sorted(epochs[0]) for e in epochs)
    with pytest.raises(ValueError, match="give a seed"):
        image_dataset_from_directory(root, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="subset"):
        image_dataset_from_directory(root, validation_split=0.2, seed=1)
    with pytest.raises(ValueError, match="needs a validation_split"):
        image_dataset_from_directory(root, subset="training")


def test_crop_to_aspect_ratio_keeps_the_center(tmp_path):
    (tmp_path / "a").mkdir()
    wide = np.zeros((10, 30, 3), np.uint8)
    wide[:, 10:20] = 255  # only the middle third is white
    PIL.fromarray(wide).save(tmp_path / "a" / "wide.png")
    cropped = image_dataset_from_directory(
        tmp_path, image_size=(5, 5), crop_to_aspect_ratio=True, labels=None
    )
    squeezed = image_dataset_from_directory(
        tmp_path, image_size=(5, 5), labels=None, interpolation="nearest"
    )
    assert next(iter(cropped)).min() == 255
    assert next(iter(squeezed))[0, :, 0, 0].max() == 0


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_unreadable_file_is_named(tmp_path, damage):
    root = _write_folder(tmp_path)
    if damage == "garbage":
        (root / "bees" / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    else:
        noise = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
        PIL.fromarray(noise).save(root / "bees" / "broken.png")
        data = (root / "bees" / "broken.png").read_bytes()
        (root / "bees" / "broken.png").write_bytes(data[: len(data) // 2])
    ds = image_dataset_from_directory(root, image_size=(4, 4), shuffle=False)
    with pytest.raises(DatasetFormatError, match=r"broken\.(jpg|png): cannot decode the image"):
        list(ds)


def test_bad_folders_and_arguments(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        image_dataset_from_directory(tmp_path / "nowhere")
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    with pytest.raises(ValueError, match="no images"):
        image_dataset_from_directory(tmp_path / "empty")
    for kwargs, match in [
        ({"label_mode": "sparse"}, "label_mode"),
        ({"color_mode": "cmyk"}, "color_mode"),
        ({"image_size": (0, 4)}, "image_size"),
        ({"interpolation": "magic"}, "interpolation"),
        ({"batch_size": 0}, "batch_size"),
        ({"validation_split": 1.5, "subset": "training", "seed": 1}, "validation_split"),
    ]:
        with pytest.raises(ValueError, match=match):
            image_dataset_from_directory(tmp_path / "empty", **kwargs)

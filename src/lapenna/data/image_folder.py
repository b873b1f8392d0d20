"""``image_dataset_from_directory``: one sub-folder per class of image files -> a Dataset.

Files are indexed when the function is called (sorted, so the same folder always gives the
same list) and decoded with Pillow when the dataset is iterated, in a few threads.
"""

import os
from pathlib import Path

from lapenna.backend import host_np as np
from lapenna.data.dataset import Dataset
from lapenna.utils.errors import DatasetFormatError

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "area", "lanczos3", "lanczos5", "hamming")
_DECODE_THREADS = 4


def image_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    color_mode="rgb",
    batch_size=32,
    image_size=(256, 256),
    shuffle=True,
    seed=None,
    validation_split=None,
    subset=None,
    interpolation="bilinear",
    crop_to_aspect_ratio=False,
):
    """A Dataset of ``(images, labels)`` batches read from a folder of class sub-folders.

    ``directory/ants/1.jpg, directory/bees/2.png`` gives class 0 = ``ants``, 1 = ``bees``
    (sub-folders sorted by name). Images are float32 in 0..255, shape
    ``(batch, height, width, channels)``.

    Args:
        directory: the folder.
        labels: ``"inferred"`` (from sub-folders), ``None`` (images only), or a list of int
            labels, one per image file found (recursively, sorted by path).
        label_mode: ``"int"`` (int32, shape ``(batch,)``), ``"categorical"`` (float32
            one-hot), ``"binary"`` (float32 ``(batch, 1)``, exactly two classes) or ``None``.
        class_names: with inferred labels, the sub-folder names in the order of their labels.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"`` (1, 3 or 4 channels).
        batch_size: images per batch; ``None`` yields single images.
        image_size: ``(height, width)`` every image is resized to.
        shuffle: shuffle the file list once (with ``seed``) and again every epoch.
        seed: int seed for shuffling and the validation split.
        validation_split: fraction of the files kept for validation (the last ones after
            the seeded shuffle, as Keras does).
        subset: ``"training"``, ``"validation"`` or ``"both"`` (returns a pair of datasets).
        interpolation: ``"nearest"``, ``"bilinear"``, ``"bicubic"``, ``"area"``,
            ``"lanczos3"``, ``"lanczos5"`` or ``"hamming"``.
        crop_to_aspect_ratio: center-crop to the target aspect ratio before resizing
            instead of distorting.

    Returns:
        A :class:`Dataset` with attributes ``class_names`` and ``file_paths`` (or a pair of
        them for ``subset="both"``).

    Raises:
        ValueError: for inconsistent arguments or a folder without images.
        DatasetFormatError: while iterating, for a file Pillow cannot decode (named).

    Example:
        >>> train, val = image_dataset_from_directory(  # doctest: +SKIP
        ...     "hymenoptera", image_size=(224, 224), validation_split=0.2,
        ...     subset="both", seed=1)
    """
    size = _check_arguments(
        labels,
        label_mode,
        color_mode,
        image_size,
        interpolation,
        validation_split,
        subset,
        shuffle,
        seed,
        batch_size,
    )
    if labels is None:
        label_mode = None
    paths, label_values, class_names = _index_directory(directory, labels, class_names)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(
            f'image_dataset_from_directory: label_mode="binary" needs exactly 2 classes, found '
            f"{len(class_names)} ({class_names})"
        )
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(paths))
        paths, label_values = [paths[i] for i in order], label_values[order]
    decode = _Decoder(color_mode, size, interpolation, crop_to_aspect_ratio)
    options = (label_mode, len(class_names), decode, batch_size, shuffle, seed)
    if validation_split:
        n_val = int(validation_split * len(paths))
        train = (paths[: len(paths) - n_val], label_values[: len(paths) - n_val])
        val = (paths[len(paths) - n_val :], label_values[len(paths) - n_val :])
        parts = {"training": train, "validation": val}
        if subset == "both":
            return tuple(_build(*parts[name], class_names, *options) for name in parts)
        return _build(*parts[subset], class_names, *options)
    return _build(paths, label_values, class_names, *options)


def _check_arguments(
    labels,
    label_mode,
    color_mode,
    image_size,
    interpolation,
    validation_split,
    subset,
    shuffle,
    seed,
    batch_size,
):
    where = "image_dataset_from_directory"
    if not (labels in ("inferred", None) or isinstance(labels, list | tuple)):
        raise ValueError(f'{where}: labels must be "inferred", None or a list, got {labels!r}')
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(
            f'{where}: label_mode must be "int", "categorical", "binary" or None, got '
            f"{label_mode!r}"
        )
    if color_mode not in _COLOR_MODES:
        raise ValueError(
            f"{where}: color_mode must be one of {list(_COLOR_MODES)}, got {color_mode!r}"
        )
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"{where}: interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}"
        )
    size = tuple(image_size) if isinstance(image_size, list | tuple) else None
    if size is None or len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ValueError(f"{where}: image_size must be (height, width), got {image_size!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"{where}: batch_size must be a positive int or None, got {batch_size!r}")
    if validation_split:
        if not 0 < validation_split < 1:
            raise ValueError(
                f"{where}: validation_split must be in (0, 1), got {validation_split!r}"
            )
        if subset not in ("training", "validation", "both"):
            raise ValueError(
                f'{where}: with validation_split, subset must be "training", "validation" or '
                f'"both", got {subset!r}'
            )
        if shuffle and seed is None:
            raise ValueError(
                f"{where}: with validation_split and shuffle, give a seed so the training and "
                "validation subsets do not overlap"
            )
    elif subset is not None:
        raise ValueError(f"{where}: subset={subset!r} needs a validation_split")
    return size


def _walk_images(folder):
    """Image files under ``folder``; symlinked folders are followed, each real folder
    once, so a link back up the tree (a loop) does not repeat images forever."""
    found, seen = [], set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if os.path.realpath(os.path.join(root, d)) not in seen)
        found.extend(
            Path(root) / name for name in sorted(files) if name.lower().endswith(IMAGE_EXTENSIONS)
        )
    return sorted(found)


def _index_directory(directory, labels, class_names):
    root = Path(directory)
    if not root.is_dir():
        raise ValueError(f"image_dataset_from_directory: {directory!s} is not a folder")
    if labels == "inferred":
        folders = sorted(p.name for p in root.iterdir() if p.is_dir())
        if class_names is not None:
            if sorted(class_names) != folders:
                raise ValueError(
                    f"image_dataset_from_directory: class_names {list(class_names)} do not match "
                    f"the sub-folders of {directory!s}: {folders}"
                )
            folders = list(class_names)
        paths, label_values = [], []
        for index, name in enumerate(folders):
            images = _walk_images(root / name)
            paths.extend(images)
            label_values.extend([index] * len(images))
    else:
        if class_names is not None:
            raise ValueError('image_dataset_from_directory: class_names needs labels="inferred"')
        paths, folders = _walk_images(root), []
        label_values = list(labels) if labels is not None else [0] * len(paths)
        if labels is not None and len(label_values) != len(paths):
            raise ValueError(
                f"image_dataset_from_directory: {len(label_values)} labels given for "
                f"{len(paths)} image files in {directory!s}"
            )
        if labels is not None:
            folders = [str(i) for i in range(max(label_values, default=-1) + 1)]
    if not paths:
        raise ValueError(
            f"image_dataset_from_directory: no images ({', '.join(IMAGE_EXTENSIONS)}) found "
            f"in {directory!s}"
        )
    return [str(p) for p in paths], np.asarray(label_values, dtype=np.int32), folders


class _Decoder:
    """Read one file into a float32 (height, width, channels) array; name the file on failure."""

    def __init__(self, color_mode, size, interpolation, crop):
        self.mode, self.channels = _COLOR_MODES[color_mode]
        self.size, self.interpolation, self.crop = size, interpolation, crop

    def __call__(self, path):
        from PIL import Image

        path = str(path)
        try:
            with Image.open(path) as image:
                image = image.convert(self.mode)
                if self.crop:
                    image = image.crop(_center_box(image.size, self.size))
                resample = _resample_filter(Image, self.interpolation)
                image = image.resize((self.size[1], self.size[0]), resample=resample)
                array = np.asarray(image, dtype=np.float32)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
            raise DatasetFormatError(f"{path}: cannot decode the image ({err})") from err
        except MemoryError:  # a chunk declaring gigabytes
            raise DatasetFormatError(f"{path}: cannot decode the image (too large)") from None
        return array.reshape(self.size[0], self.size[1], self.channels)


def _center_box(source_size, target_size):
    """The largest centered (left, top, right, bottom) box with the target's aspect ratio."""
    width, height = source_size
    target_h, target_w = target_size
    crop_w = min(width, round(height * target_w / target_h))
    crop_h = min(height, round(width * target_h / target_w))
    left, top = (width - crop_w) // 2, (height - crop_h) // 2
    return left, top, left + crop_w, top + crop_h


def _resample_filter(image_module, name):
    filters = image_module.Resampling
    return {
        "nearest": filters.NEAREST,
        "bilinear": filters.BILINEAR,
        "bicubic": filters.BICUBIC,
        "area": filters.BOX,
        "lanczos3": filters.LANCZOS,
        "lanczos5": filters.LANCZOS,
        "hamming": filters.HAMMING,
    }[name]


def _build(
    paths, label_values, class_names, label_mode, num_classes, decode, batch_size, shuffle, seed
):
    encoded = _encode_labels(label_values, label_mode, num_classes)
    if encoded is None:
        dataset = Dataset.from_tensor_slices(np.asarray(paths))
    else:
        dataset = Dataset.from_tensor_slices((np.asarray(paths), encoded))
    if shuffle:
        # paths are cheap, so the buffer holds all of them: a full reshuffle every epoch
        dataset = dataset.shuffle(max(len(paths), 1), seed=seed)
    if encoded is None:
        dataset = dataset.map(lambda path: decode(path.item()), num_parallel_calls=_DECODE_THREADS)
    else:
        dataset = dataset.map(
            lambda path, label: (decode(path.item()), label), num_parallel_calls=_DECODE_THREADS
        )
    if batch_size is not None:
        dataset = dataset.batch(batch_size)
    dataset.class_names = list(class_names)
    dataset.file_paths = list(paths)
    return dataset


def _encode_labels(label_values, label_mode, num_classes):
    if label_mode is None:
        return None
    if label_mode == "int":
        return label_values.astype(np.int32)
    if label_mode == "binary":
        return label_values.astype(np.float32).reshape(-1, 1)
    return np.eye(num_classes, dtype=np.float32)[label_values]

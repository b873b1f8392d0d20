"""``lapenna predict``: the most likely classes of image files, by a model file."""

from pathlib import Path

from lapenna.backend import xp
from lapenna.cli import common, detection
from lapenna.cli.errors import CommandError
from lapenna.data.image_folder import IMAGE_EXTENSIONS


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "predict",
        parents=parents,
        help="top-k classes of an image or a folder of images",
        description=(
            "Read image files with Pillow, resize and convert them to the model's input "
            "(grayscale or RGB, scaled to [0, 1]) and print the k most likely classes of "
            "each. Class names come from class_names.json beside the model when present."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="a .lpn model file")
    parser.add_argument("images", metavar="IMAGE_OR_FOLDER", help="an image, or a folder")
    parser.add_argument(
        "--top-k",
        metavar="K",
        type=common.positive_int,
        default=3,
        help="classes to show (default 3)",
    )
    parser.set_defaults(run=run)


def run(args):
    model = common.load_model_file(args.model)
    shape = common.sample_shape(model)
    paths = _image_paths(Path(args.images))
    if detection.is_detector(model):
        return detection.run_predict(args, model, read_image, paths)
    classes = common.output_classes(model)
    names = common.read_class_names(args.model, classes)
    batch = xp.stack([read_image(path, shape) for path in paths])
    scores = model.predict(batch, batch_size=64, verbose=0)
    if not common.ends_with_softmax(model):
        scores = _softmax(scores)
    k = min(args.top_k, classes)
    width = max(len(str(p)) for p in paths)
    for path, row in zip(paths, scores):
        best = xp.argsort(-row, kind="stable")[:k]
        guesses = ", ".join(f"{names[i]} ({row[i]:.3f})" for i in best)
        print(f"{str(path):<{width}}  {guesses}")
    return 0


def _image_paths(target):
    if target.is_file():
        return [target]
    if target.is_dir():
        found = sorted(
            p for p in target.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
        )
        if not found:
            raise CommandError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found in {target}")
        return found
    raise CommandError(f"image or folder {target} does not exist")


def read_image(path, shape):
    """An image file as a float32 array of ``shape`` (H, W, 1 or 3) with values in [0, 1]."""
    from PIL import Image

    if len(shape) != 3 or shape[2] not in (1, 3) or None in shape:
        raise CommandError(f"the model takes inputs of shape {shape}, not images")
    height, width, channels = shape
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR)
            array = xp.asarray(image, dtype=xp.float32)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        # PIL reports a damaged PNG as a SyntaxError
        raise CommandError(f"{path}: cannot read the image ({err})") from err
    except MemoryError:  # a chunk declaring gigabytes
        raise CommandError(
            f"{path}: cannot read the image (it declares more data than fits)"
        ) from None
    return array.reshape(shape) * xp.float32(1.0 / 255.0)


def _softmax(logits):
    shifted = xp.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)

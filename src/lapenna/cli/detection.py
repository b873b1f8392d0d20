"""Object detection from the command line: train, evaluate and predict with the SSD.

``lapenna train --model ssd --dataset shapes_detection`` trains the zoo's single-shot
detector and writes a run folder: ``best.lpn`` (best COCO AP on the validation images),
``history.csv`` (loss, val_AP and val_AP50 per epoch), ``class_names.json``,
``results.json`` and ``coco.txt`` (the 12 COCO numbers on the test images) and
``precision_recall.png``. ``lapenna evaluate MODEL --dataset shapes_detection`` prints the
COCO table; ``lapenna predict MODEL image.png`` prints the boxes and writes the image with
the boxes drawn.
"""

import importlib.util
import json
import math
from pathlib import Path

import lapenna as lp
from lapenna import callbacks, optimizers, vision
from lapenna.applications.ssd import SSD, ssd_anchors, ssd_decode, ssd_evaluate, ssd_targets_for
from lapenna.backend import xp
from lapenna.cli import common, run_folder
from lapenna.cli.errors import CommandError, UsageError
from lapenna.datasets import shapes_detection

DATASET = "shapes_detection"
MODEL = "ssd"
IMAGE_SHAPE = (64, 64, 3)
# the defaults of a detection run (the classification defaults do not fit it)
DEFAULTS = {"epochs": 12, "batch_size": 32, "lr": 3e-3, "limit": None, "seed": 0}
_SIZES = (2000, 300)  # training and test images of the dataset


def wants_detection(args):
    """Whether ``lapenna train`` was asked for a detector."""
    return getattr(args, "model", None) == MODEL or getattr(args, "dataset", None) == DATASET


def is_coco_folder(name):
    """Whether ``name`` is a folder holding a COCO annotation file (and images)."""
    folder = Path(str(name))
    return folder.is_dir() and any(p.suffix.lower() == ".json" for p in folder.iterdir())


def wants_evaluation(args):
    """Whether ``lapenna evaluate`` was asked for a detection dataset."""
    return args.dataset == DATASET or is_coco_folder(args.dataset)


def is_detector(model):
    """Whether a loaded model is the zoo's SSD (its output is one row per anchor)."""
    shape = getattr(model, "output_shape", None)
    if not isinstance(shape, tuple) or len(shape) != 3 or shape[-1] < 6:
        return False
    try:
        return shape[1] == len(ssd_anchors(common.sample_shape(model)))
    except (CommandError, TypeError, IndexError):
        return False


def load_dataset(limit=None, seed=0, source=DATASET, test_fraction=0.2):
    """``((x, targets), (x_test, targets_test), class_names)``, images in [0, 1].

    ``source`` is ``shapes_detection`` (its own test split) or a folder of images with a
    COCO JSON file (resized to 64x64; a seeded ``test_fraction`` of the images is held out).
    """
    if source == DATASET:
        n_train, n_test = _SIZES if limit is None else (limit, limit)
        (x, y), (xt, yt) = shapes_detection.load_data(n_train, n_test, IMAGE_SHAPE[0], seed=seed)
        scale = xp.float32(1 / 255)
        train, test = (x.astype(xp.float32) * scale, y), (xt.astype(xp.float32) * scale, yt)
        return train, test, list(shapes_detection.CLASS_NAMES)
    if not is_coco_folder(source):
        raise CommandError(f"{source} is neither {DATASET} nor a folder with a COCO .json file")
    try:
        images, targets, names = vision.load_coco_folder(source, image_size=IMAGE_SHAPE[:2])
    except ValueError as err:
        raise CommandError(str(err)) from err
    order = xp.random.default_rng(seed).permutation(len(images))[:limit]
    cut = max(1, round(len(order) * test_fraction))
    if len(order) <= cut:
        raise CommandError(f"{source}: {len(order)} image(s) are too few to hold some out")
    pick = lambda idx: (images[idx], [targets[i] for i in idx])  # noqa: E731
    return pick(order[cut:]), pick(order[:cut]), names


class _COCOValidation(callbacks.Callback):
    """Adds ``val_AP`` and ``val_AP50`` to each epoch's logs (before the logger sees them)."""

    def __init__(self, images, targets, class_names):
        super().__init__()
        self.images, self.targets, self.class_names = images, targets, class_names

    def on_epoch_end(self, epoch, logs=None):
        result = ssd_evaluate(self.model, self.images, self.targets, self.class_names)
        if logs is not None:
            logs["val_AP"], logs["val_AP50"] = result.stats[0], result.stats[1]


def _options(args):
    folder = args.dataset not in (None, DATASET) and is_coco_folder(args.dataset)
    if (args.dataset not in (None, DATASET) and not folder) or args.model not in (None, MODEL):
        raise UsageError(
            f"the detector trains with --model {MODEL} --dataset {DATASET} (or a folder of "
            f"images with a COCO .json file), got --model {args.model} --dataset {args.dataset}"
        )
    if getattr(args, "resume", False):
        raise UsageError("detection runs cannot be resumed (--resume); start a new run")
    options = {key: getattr(args, key, None) for key in DEFAULTS}
    return {key: DEFAULTS[key] if value is None else value for key, value in options.items()}


def fit_detector(
    train, validation, epochs, batch_size, lr, seed, class_names, extra_callbacks=(), verbose=0
):
    """Build and train the SSD on ``(images, targets)``; returns the model.

    Adam with cosine decay of ``lr`` over the run, ``SSDLoss``; validation AP is computed
    at each epoch end when ``validation`` is given.
    """
    lp.set_seed(seed)
    images, targets = train
    model = SSD(tuple(images.shape[1:]), len(class_names))
    steps = math.ceil(len(images) / batch_size) * epochs
    schedule = optimizers.schedules.CosineDecay(lr, decay_steps=steps)
    model.compile(optimizer=optimizers.Adam(schedule), loss=vision.SSDLoss())
    hooks = [_COCOValidation(*validation, class_names)] if validation is not None else []
    model.fit(
        images,
        ssd_targets_for(tuple(images.shape[1:]), targets),
        batch_size=batch_size,
        epochs=epochs,
        verbose=verbose,
        callbacks=[*hooks, *extra_callbacks],
    )
    return model


def run_train(args):
    options = _options(args)
    out = Path(args.out) if args.out else run_folder.default_out()
    folder = run_folder.RunFolder(out)
    folder.path.mkdir(parents=True, exist_ok=True)
    source = args.dataset or DATASET
    train, test, names = load_dataset(options["limit"], options["seed"], source)
    cut = max(1, len(train[0]) // 10)  # a tenth of the training images picks the best epoch
    if cut >= len(train[0]):
        raise CommandError(f"{source}: {len(train[0])} training image(s) are too few")
    validation = (train[0][:cut], train[1][:cut])
    train = (train[0][cut:], train[1][cut:])
    print(
        f"ssd on {source}: {len(train[0]):,} train, {cut:,} validation, {len(test[0]):,} test "
        f"images of 64x64x3 | {options['epochs']} epochs of batch {options['batch_size']}, "
        f"adam lr {options['lr']:g} (cosine)"
    )
    (folder.path / "run.json").write_text(
        json.dumps({"model": MODEL, "dataset": str(source), **options})
    )
    common.write_class_names(folder.path, names)
    model = fit_detector(
        train,
        validation,
        options["epochs"],
        options["batch_size"],
        options["lr"],
        options["seed"],
        names,
        extra_callbacks=[
            callbacks.ModelCheckpoint(
                folder.best, monitor="val_AP", save_best_only=True, mode="max"
            ),
            callbacks.CSVLogger(folder.history),
        ],
        verbose=2,
    )
    best = common.load_model_file(folder.best) if folder.best.exists() else model
    result = ssd_evaluate(best, *test, names)
    _write_results(folder, result, len(test[0]), names)
    print(result.table())
    print(f"test AP {result.stats[0]:.4f}   AP50 {result.stats[1]:.4f}   run folder: {folder.path}")
    return 0


def _write_results(folder, result, count, names):
    folder.results.write_text(json.dumps({**result.as_dict(), "test_images": count}, indent=1))
    (folder.path / "coco.txt").write_text(result.table() + "\n")
    if importlib.util.find_spec("matplotlib") is not None:
        vision.plot_precision_recall(result, folder.path / "precision_recall.png", names)


def run_evaluate(args):
    model = common.load_model_file(args.model)
    if not is_detector(model):
        raise CommandError(f"{args.model} is not a detector (its output is {model.output_shape})")
    _, test, names = load_dataset(getattr(args, "limit", None), source=args.dataset)
    if len(names) != model.output_shape[-1] - 5:
        raise CommandError(
            f"{args.dataset} has {len(names)} classes, the detector {model.output_shape[-1] - 5}"
        )
    result = ssd_evaluate(model, *test, names)
    print(f"{args.dataset}: {len(test[0]):,} test images")
    print(result.table())
    return 0


def run_predict(args, model, read_image, paths):
    """Print the boxes found in each image and write ``<name>_boxes.png`` beside it (or
    into ``--out``)."""
    shape = common.sample_shape(model)
    names = common.read_class_names(args.model, model.output_shape[-1] - 5)
    batch = xp.stack([read_image(path, shape) for path in paths])
    found = ssd_decode(model.predict(batch, batch_size=64, verbose=0), shape, score_threshold=0.3)
    for path, image, (boxes, scores, labels) in zip(paths, batch, found):
        print(f"{path}: {len(boxes)} object(s)")
        for box, score, label in zip(boxes, scores, labels):
            corners = ", ".join(f"{v:.1f}" for v in box)
            print(f"  {names[label]:<12} {score:.3f}  [{corners}]")
        target = _drawn_path(path, getattr(args, "out", None))
        _draw(image, boxes, [f"{names[k]} {s:.2f}" for k, s in zip(labels, scores)], target)
        print(f"  drawn: {target}")
    return 0


def _drawn_path(path, out):
    folder = Path(out) if out else path.parent
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{path.stem}_boxes.png"


def _draw(image, boxes, captions, target):
    from PIL import Image, ImageDraw

    pixels = xp.clip(xp.rint(image * 255), 0, 255).astype(xp.uint8)
    picture = Image.fromarray(pixels.squeeze(-1) if pixels.shape[-1] == 1 else pixels)
    scale = max(1, 256 // max(picture.size))
    picture = picture.convert("RGB").resize(
        (picture.size[0] * scale, picture.size[1] * scale), Image.Resampling.NEAREST
    )
    pen = ImageDraw.Draw(picture)
    for box, caption in zip(boxes, captions):
        x1, y1, x2, y2 = (float(v) * scale for v in box)
        pen.rectangle([x1, y1, x2, y2], outline=(255, 40, 40), width=2)
        pen.text((x1 + 2, y1 + 1), caption, fill=(255, 255, 0))
    picture.save(target, format="PNG")

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


def is_detector(model):
    """Whether a loaded model is the zoo's SSD (its output is one row per anchor)."""
    shape = getattr(model, "output_shape", None)
    if not isinstance(shape, tuple) or len(shape) != 3 or shape[-1] < 6:
        return False
    try:
        return shape[1] == len(ssd_anchors(common.sample_shape(model)))
    except (CommandError, TypeError, IndexError):
        return False


def load_dataset(limit=None, seed=0):
    """``((x, targets), (x_test, targets_test))`` of shapes_detection, images in [0, 1]."""
    n_train, n_test = _SIZES if limit is None else (limit, limit)
    (x, y), (xt, yt) = shapes_detection.load_data(n_train, n_test, IMAGE_SHAPE[0], seed=seed)
    scale = xp.float32(1 / 255)
    return (x.astype(xp.float32) * scale, y), (xt.astype(xp.float32) * scale, yt)


class _COCOValidation(callbacks.Callback):
    """Adds ``val_AP`` and ``val_AP50`` to each epoch's logs (before the logger sees them)."""

    def __init__(self, images, targets):
        super().__init__()
        self.images, self.targets = images, targets

    def on_epoch_end(self, epoch, logs=None):
        result = ssd_evaluate(self.model, self.images, self.targets, shapes_detection.CLASS_NAMES)
        if logs is not None:
            logs["val_AP"], logs["val_AP50"] = result.stats[0], result.stats[1]


def _options(args):
    if args.dataset not in (None, DATASET) or args.model not in (None, MODEL):
        raise UsageError(
            f"the detector trains with --model {MODEL} --dataset {DATASET}, "
            f"got --model {args.model} --dataset {args.dataset}"
        )
    if getattr(args, "resume", False):
        raise UsageError("detection runs cannot be resumed (--resume); start a new run")
    options = {key: getattr(args, key, None) for key in DEFAULTS}
    return {key: DEFAULTS[key] if value is None else value for key, value in options.items()}


def fit_detector(train, validation, epochs, batch_size, lr, seed, extra_callbacks=(), verbose=0):
    """Build and train the SSD on ``(images, targets)``; returns the model.

    Adam with cosine decay of ``lr`` over the run, ``SSDLoss``; validation AP is computed
    at each epoch end when ``validation`` is given.
    """
    lp.set_seed(seed)
    images, targets = train
    model = SSD(tuple(images.shape[1:]), len(shapes_detection.CLASS_NAMES))
    steps = math.ceil(len(images) / batch_size) * epochs
    schedule = optimizers.schedules.CosineDecay(lr, decay_steps=steps)
    model.compile(optimizer=optimizers.Adam(schedule), loss=vision.SSDLoss())
    hooks = [_COCOValidation(*validation)] if validation is not None else []
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
    train, test = load_dataset(options["limit"], options["seed"])
    cut = max(1, len(train[0]) // 10)  # a tenth of the training images picks the best epoch
    validation = (train[0][:cut], train[1][:cut])
    train = (train[0][cut:], train[1][cut:])
    print(
        f"ssd on {DATASET}: {len(train[0]):,} train, {cut:,} validation, {len(test[0]):,} test "
        f"images of 64x64x3 | {options['epochs']} epochs of batch {options['batch_size']}, "
        f"adam lr {options['lr']:g} (cosine)"
    )
    (folder.path / "run.json").write_text(
        json.dumps({"model": MODEL, "dataset": DATASET, **options})
    )
    common.write_class_names(folder.path, list(shapes_detection.CLASS_NAMES))
    model = fit_detector(
        train,
        validation,
        options["epochs"],
        options["batch_size"],
        options["lr"],
        options["seed"],
        extra_callbacks=[
            callbacks.ModelCheckpoint(
                folder.best, monitor="val_AP", save_best_only=True, mode="max"
            ),
            callbacks.CSVLogger(folder.history),
        ],
        verbose=2,
    )
    best = common.load_model_file(folder.best) if folder.best.exists() else model
    result = ssd_evaluate(best, *test, shapes_detection.CLASS_NAMES)
    _write_results(folder, result, len(test[0]))
    print(result.table())
    print(f"test AP {result.stats[0]:.4f}   AP50 {result.stats[1]:.4f}   run folder: {folder.path}")
    return 0


def _write_results(folder, result, count):
    folder.results.write_text(json.dumps({**result.as_dict(), "test_images": count}, indent=1))
    (folder.path / "coco.txt").write_text(result.table() + "\n")
    if importlib.util.find_spec("matplotlib") is not None:
        vision.plot_precision_recall(
            result, folder.path / "precision_recall.png", shapes_detection.CLASS_NAMES
        )


def run_evaluate(args):
    model = common.load_model_file(args.model)
    if not is_detector(model):
        raise CommandError(f"{args.model} is not a detector (its output is {model.output_shape})")
    _, test = load_dataset(getattr(args, "limit", None))
    result = ssd_evaluate(model, *test, shapes_detection.CLASS_NAMES)
    print(f"{DATASET}: {len(test[0]):,} test images")
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

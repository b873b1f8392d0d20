"""What several commands share: shapes on the command line, model files, class names."""

import argparse
import json
import math
from pathlib import Path

from lapenna import io, losses
from lapenna.cli.errors import CommandError, UsageError

CLASS_NAMES_FILE = "class_names.json"


def parse_shape(text, option="--input-shape"):
    """``"32,32,3"`` -> ``(32, 32, 3)``; a usage error names the option otherwise."""
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise UsageError(
            f"{option} expects positive integers separated by commas (e.g. 32,32,3), got {text!r}"
        )
    return shape


def load_model_file(path):
    """Load a ``.lpn`` model file; a missing or unreadable file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise CommandError(f"model file {path} does not exist")
    try:
        return io.load_model(path)
    except (ValueError, KeyError, TypeError, OSError) as err:
        # FormatError is a ValueError; a config naming an unknown class raises the others
        raise CommandError(f"{path} is not a readable lapenna model file: {err}") from err


def sample_shape(model):
    """One sample's input shape, e.g. ``(28, 28, 1)``, of a single-input model."""
    shape = getattr(model, "_build_shape", None)
    if not isinstance(shape, tuple) or not shape or isinstance(shape[0], tuple | list):
        raise CommandError(
            f"model {model.name!r} does not have a single image input (its input shape is "
            f"{shape!r})"
        )
    return tuple(shape[1:])


def output_classes(model):
    """The number of classes the model scores (its output's last axis)."""
    shape = model.output_shape
    if not isinstance(shape, tuple) or len(shape) != 2 or shape[-1] is None:
        raise CommandError(
            f"model {model.name!r} does not end with one score per class (its output shape "
            f"is {shape!r})"
        )
    return shape[-1]


def check_fits(model, images):
    """Refuse a model whose input shape or number of classes differs from the data's.

    Raises:
        CommandError: naming both shapes or both class counts.
    """
    expected, got = sample_shape(model), images.image_shape
    same = len(expected) == len(got) and all(e in (None, g) for e, g in zip(expected, got))
    if not same:
        raise CommandError(
            f"model {model.name!r} takes images of shape {expected}, but {images.name} has {got}"
        )
    classes = output_classes(model)
    if classes != len(images.class_names):
        raise CommandError(
            f"model {model.name!r} scores {classes} classes, but {images.name} has "
            f"{len(images.class_names)}"
        )


def ends_with_softmax(model):
    """Whether the last layer outputs probabilities (softmax) rather than logits."""
    last = model.layers[-1]
    config = last.get_config()
    return type(last).__name__ == "Softmax" or config.get("activation") == "softmax"


def classification_loss(model):
    """Sparse categorical cross-entropy, on probabilities or on logits as the model ends."""
    return losses.SparseCategoricalCrossentropy(from_logits=not ends_with_softmax(model))


def write_class_names(folder, class_names):
    path = Path(folder) / CLASS_NAMES_FILE
    path.write_text(json.dumps(list(class_names), indent=1) + "\n")
    return path


def read_class_names(model_path, classes):
    """The names in ``class_names.json`` beside the model file, or ``"0"``, ``"1"``...

    A file whose names do not match the model's number of classes is ignored, so a stale
    file never mislabels predictions.
    """
    path = Path(model_path).parent / CLASS_NAMES_FILE
    if path.is_file():
        try:
            names = json.loads(path.read_text())
        except (ValueError, OSError):
            names = None
        if isinstance(names, list) and len(names) == classes:
            return [str(name) for name in names]
    return [str(index) for index in range(classes)]


def positive_int(text):
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text):
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def fraction(text):
    """argparse type: a number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value

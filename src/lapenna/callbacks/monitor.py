"""Helpers shared by the callbacks that watch a logged quantity: direction, finiteness."""

import math
import warnings

from lapenna.backend import xp

# Substrings of the metric names where larger is better; anything else is minimised,
# as in Keras's "auto" mode (which looks for "acc"), extended to the usual scores.
_HIGHER_IS_BETTER = (
    "acc",
    "auc",
    "precision",
    "recall",
    "f1",
    "fbeta",
    "fmeasure",
    "iou",
    "dice",
    "r2",
    "psnr",
    "ssim",
    "true_positives",
    "true_negatives",
)


def resolve_mode(who, monitor, mode):
    """Return ``"min"`` or ``"max"`` for a monitored quantity.

    ``"auto"`` maximises names that look like scores (accuracy, AUC, precision, recall,
    F1, IoU, ...) and minimises everything else (losses, errors).

    Raises:
        ValueError: when ``mode`` is not ``"auto"``, ``"min"`` or ``"max"``.
    """
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who} expects mode 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_").lower()
    if "loss" in name or "error" in name:
        return "min"
    return "max" if any(key in name for key in _HIGHER_IS_BETTER) else "min"


def is_better(mode, value, reference, min_delta=0.0):
    """Whether ``value`` beats ``reference`` by more than ``min_delta`` (``None`` is beaten)."""
    if reference is None:
        return not math.isnan(value)
    if mode == "min":
        return value + min_delta < reference
    return value - min_delta > reference


def monitored_value(who, logs, monitor):
    """The float ``logs[monitor]``, or ``None`` with a warning listing what is available."""
    value = (logs or {}).get(monitor)
    if value is None:
        available = ", ".join(sorted(logs or {})) or "none"
        warnings.warn(
            f"{who} monitors '{monitor}', which is not in the logs (available: {available})",
            stacklevel=3,
        )
        return None
    return float(value)


def is_finite(value):
    return value is not None and math.isfinite(float(value))


def weights_are_finite(weights):
    """Whether every array of ``model.get_weights()`` holds only finite values."""
    return all(bool(xp.isfinite(w).all()) for w in weights if xp.asarray(w).dtype.kind == "f")


def copy_weights(weights):
    # get_weights may hand out the live arrays, which optimizers update in place
    return [xp.array(w, copy=True) for w in weights]

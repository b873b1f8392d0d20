"""Keras's ``applications.mobilenet_v2`` module: MobileNetV2, ``decode_predictions``
and the ``preprocess_input`` their weights were trained with (scaled to [-1, 1])."""

from lapenna.applications.imagenet_utils import decode_predictions
from lapenna.applications.imagenet_utils import preprocess_input as _preprocess
from lapenna.applications.keras_mobilenet import MobileNetV2

__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]


def preprocess_input(x, data_format=None):
    """Prepare 0..255 RGB images (channels last) for MobileNetV2: mode "tf"."""
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"preprocess_input works on channels-last images, got data_format={data_format!r}"
        )
    return _preprocess(x, mode="tf")

"""Keras's ``applications.resnet_v2`` module: ResNet50V2, ResNet101V2, ResNet152V2,
``decode_predictions`` and the ``preprocess_input`` their weights were trained with (to
[-1, 1])."""

from lapenna.applications.imagenet_utils import decode_predictions
from lapenna.applications.imagenet_utils import preprocess_input as _preprocess
from lapenna.applications.keras_resnet import ResNet50V2, ResNet101V2, ResNet152V2

__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "decode_predictions", "preprocess_input"]


def preprocess_input(x, data_format=None):
    """Prepare 0..255 RGB images (channels last) for ResNet50V2: mode "tf"."""
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"preprocess_input works on channels-last images, got data_format={data_format!r}"
        )
    return _preprocess(x, mode="tf")

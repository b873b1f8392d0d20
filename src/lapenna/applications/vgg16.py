"""Keras's ``applications.vgg16`` module: VGG16, ``decode_predictions``
and the ``preprocess_input`` their weights were trained with (Caffe's: RGB to BGR,
minus ImageNet's BGR mean)."""

from lapenna.applications.imagenet_utils import decode_predictions
from lapenna.applications.imagenet_utils import preprocess_input as _preprocess
from lapenna.applications.vgg import VGG16

__all__ = ["VGG16", "decode_predictions", "preprocess_input"]


def preprocess_input(x, data_format=None):
    """Prepare 0..255 RGB images (channels last) for VGG16: mode "caffe"."""
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"preprocess_input works on channels-last images, got data_format={data_format!r}"
        )
    return _preprocess(x, mode="caffe")

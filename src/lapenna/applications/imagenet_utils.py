"""Preparing images for the zoo's classifiers and reading their predictions.

Nothing is downloaded: ``decode_predictions`` names classes only from the list you give
(for ImageNet, the 1000 names in the order the weights were trained with).
"""

from lapenna import backend as B
from lapenna.autograd import Tensor

# per-channel statistics of ImageNet, RGB order: torchvision's mean and standard deviation
# of [0, 1] pixels, and the 0..255 means of the original Caffe models (BGR order there)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_MODES = ("torch", "caffe", "tf")


def preprocess_input(x, mode="torch"):
    """Scale and center 0..255 RGB images (channels last) the way a model was trained.

    Args:
        x: images ``(..., channels)`` as an array (any numeric dtype) or a Tensor, pixel
            values in 0..255, RGB.
        mode: ``"torch"``: to [0, 1], minus ImageNet's mean, divided by its standard
            deviation, per channel (torchvision's models, the default here);
            ``"caffe"``: RGB to BGR and minus ImageNet's BGR mean, no scaling (Keras's
            ResNet50 and VGG weights); ``"tf"``: to [-1, 1] (Keras's MobileNet weights).

    Returns:
        a float array of floatx (or of ``x``'s float dtype), or a Tensor for a Tensor; the
        input is not modified.

    Raises:
        ValueError: for an unknown mode, or 'torch'/'caffe' with other than 3 channels.

    Example:
        >>> import numpy as np
        >>> from lapenna.applications import preprocess_input
        >>> preprocess_input(np.full((1, 2, 2, 3), 255, dtype="uint8"), mode="tf")[0, 0, 0]
        array([1., 1., 1.], dtype=float32)
    """
    if mode not in _MODES:
        raise ValueError(f"preprocess_input expects mode in {_MODES}, got {mode!r}")
    is_tensor = isinstance(x, Tensor)
    if not is_tensor:
        x = B.as_array(x)
        dtype = x.dtype if x.dtype.kind == "f" else B.to_dtype(None)
        x = x.astype(dtype)  # a copy: the caller's array stays as it was
    channels = x.shape[-1] if x.ndim else None
    if mode != "tf" and channels != 3:
        raise ValueError(
            f"preprocess_input(mode={mode!r}) expects RGB images with 3 channels last, got "
            f"shape {tuple(x.shape)}"
        )
    dtype = x.dtype

    def const(values):
        return B.xp.asarray(values, dtype=dtype)

    if mode == "tf":
        return x / const(127.5) - const(1.0)
    if mode == "torch":
        return (x / const(255.0) - const(_TORCH_MEAN)) / const(_TORCH_STD)
    bgr = x[..., ::-1] if not is_tensor else x[..., [2, 1, 0]]
    return bgr - const(_CAFFE_MEAN_BGR)


def decode_predictions(preds, top=5, class_names=None):
    """The ``top`` highest-scoring classes of each sample, best first.

    Args:
        preds: scores ``(samples, classes)`` (probabilities or logits), array or Tensor.
        top: how many classes to return per sample (all of them if there are fewer).
        class_names: a sequence of ``classes`` names; default the index as a string.

    Returns:
        one list per sample of ``(class_index, class_name, score)`` tuples.

    Raises:
        ValueError: for scores that are not 2-D, ``top`` below 1 or a name list of the
            wrong length.

    Example:
        >>> from lapenna.applications import decode_predictions
        >>> names = ["cat", "dog", "fox"]
        >>> decoded = decode_predictions([[0.1, 0.7, 0.2]], top=2, class_names=names)
        >>> [(index, name, round(score, 3)) for index, name, score in decoded[0]]
        [(1, 'dog', 0.7), (2, 'fox', 0.2)]
    """
    scores = B.as_array(preds.data if isinstance(preds, Tensor) else preds)
    if scores.ndim != 2:
        raise ValueError(
            f"decode_predictions expects scores of shape (samples, classes), got shape "
            f"{tuple(scores.shape)}"
        )
    classes = scores.shape[1]
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"decode_predictions expects top to be a positive int, got {top!r}")
    if class_names is not None:
        class_names = [str(n) for n in class_names]
        if len(class_names) != classes:
            raise ValueError(
                f"decode_predictions got {len(class_names)} class names for scores with "
                f"{classes} classes"
            )
    # a stable sort of the negated scores keeps the lower index first among ties
    order = B.xp.argsort(-scores, axis=1, kind="stable")[:, :top]
    results = []
    for row, indices in zip(scores, order):
        results.append(
            [
                (int(i), class_names[i] if class_names else str(int(i)), float(row[i]))
                for i in indices
            ]
        )
    return results

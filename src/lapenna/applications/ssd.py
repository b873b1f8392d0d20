"""A small SSD-style single-shot detector: a few conv blocks, two feature maps, anchors.

Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016. The network is a plain
functional ``Model``: for every anchor it outputs ``num_classes + 1`` class logits
(background first) and 4 box offsets, ``(batch, anchors, classes + 5)``, so it trains with
``compile(loss=lapenna.vision.SSDLoss())`` and ``fit`` on targets from
:func:`ssd_targets_for`; :func:`ssd_decode` turns outputs into boxes, scores and labels
(softmax, offsets decoded against the anchors, per-class NMS). The anchors are a function
of the input shape (:func:`ssd_anchors`), so a saved model needs nothing else.
"""

from lapenna import layers
from lapenna.applications._common import check_input_shape, check_positive, finish
from lapenna.backend import xp
from lapenna.vision import (
    SSD_VARIANCES,
    clip_boxes,
    decode_boxes,
    generate_anchors,
    non_max_suppression,
    ssd_targets,
    to_coco,
    to_results,
)
from lapenna.vision import coco_evaluate as _coco_evaluate

#: anchor sizes per feature map as fractions of the image side (stride 8 and 16 maps)
ANCHOR_SCALES = ((0.16, 0.23, 0.31), (0.45, 0.62))
ANCHOR_RATIOS = ((1.0,), (1.0,))


def _block(x, filters, name):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    return layers.MaxPooling2D(2, name=f"{name}_pool")(x)


def SSD(  # noqa: N802 - Keras's spelling of model builders
    input_shape=(64, 64, 3), classes=3, widths=(16, 32, 64, 96), name="ssd"
):
    """Build the single-shot detector.

    Four conv blocks (3x3 conv, batch norm, ReLU, 2x2 max pool) of ``widths`` filters; the
    third and fourth blocks' maps (strides 8 and 16) each feed a 3x3 conv head predicting
    ``A * (classes + 5)`` numbers per cell, ``A`` anchors per cell (``ANCHOR_SCALES``).

    Args:
        input_shape: ``(height, width, 3)``, sides divisible by 16, at least 32; pixel
            values are expected in ``[0, 1]``.
        classes: object classes (background is added).
        widths: filters of the four blocks.
        name: the model's name.

    Returns:
        a functional ``Model`` with output ``(batch, anchors, classes + 5)``.

    Example:
        >>> model = SSD((64, 64, 3), classes=3)
        >>> model.output_shape, ssd_anchors((64, 64, 3)).shape
        ((None, 224, 8), (224, 4))
    """
    shape = check_input_shape("SSD", input_shape, (64, 64, 3), min_size=32, channels=3)
    if shape[0] % 16 or shape[1] % 16:
        raise ValueError(f"SSD expects height and width divisible by 16, got {shape[:2]}")
    check_positive("SSD", "classes", classes)
    if len(widths) != 4:
        raise ValueError(f"SSD expects four block widths, got {widths!r}")
    inputs = layers.Input(shape, name="input")
    x, maps = inputs, []
    for i, filters in enumerate(widths):
        x = _block(x, filters, f"block{i + 1}")
        if i >= 2:
            maps.append(x)
    heads = []
    for level, feature in enumerate(maps):
        count = len(ANCHOR_SCALES[level]) * len(ANCHOR_RATIOS[level])
        head = layers.Conv2D(count * (classes + 5), 3, padding="same", name=f"head{level + 1}")(
            feature
        )
        heads.append(layers.Reshape((-1, classes + 5), name=f"head{level + 1}_anchors")(head))
    outputs = layers.Concatenate(axis=1, name="predictions")(heads)
    return finish("SSD", inputs, outputs, name, None)


def ssd_anchors(input_shape):
    """The ``xyxy`` anchors of :func:`SSD` for an input shape, in pixels."""
    height, width = input_shape[0], input_shape[1]
    side = min(height, width)
    return generate_anchors(
        (height, width),
        [(height // 8, width // 8), (height // 16, width // 16)],
        [[s * side for s in level] for level in ANCHOR_SCALES],
        ANCHOR_RATIOS,
    )


def ssd_targets_for(input_shape, targets, iou_threshold=0.5):
    """Training targets ``(N, anchors, 5)`` for a list of per-image ``{"boxes", "labels"}``."""
    anchors = ssd_anchors(input_shape)
    return xp.stack([ssd_targets(anchors, t["boxes"], t["labels"], iou_threshold) for t in targets])


def ssd_decode(
    predictions, input_shape, score_threshold=0.05, iou_threshold=0.45, max_detections=100
):
    """Boxes, scores and labels from SSD outputs, after per-class NMS.

    Args:
        predictions: ``(batch, anchors, classes + 5)`` array or Tensor.
        input_shape: the model's input shape (for the anchors and clipping).
        score_threshold: class probabilities not above it are dropped.
        iou_threshold: NMS threshold within a class.
        max_detections: kept per image, best first.

    Returns:
        a list per image of ``(boxes (k, 4) xyxy, scores (k,), labels (k,))``.
    """
    predictions = xp.asarray(getattr(predictions, "data", predictions))
    anchors = ssd_anchors(input_shape)
    if predictions.ndim != 3 or predictions.shape[1] != len(anchors):
        raise ValueError(
            f"ssd_decode: expected predictions (batch, {len(anchors)}, classes + 5), "
            f"got {predictions.shape}"
        )
    logits = predictions[..., :-4].astype(xp.float64)
    probs = xp.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    out = []
    for i in range(len(predictions)):
        boxes = decode_boxes(predictions[i, :, -4:].astype(xp.float64), anchors, SSD_VARIANCES)
        boxes = clip_boxes(boxes, input_shape[0], input_shape[1])
        anchor, label = xp.nonzero(probs[i, :, 1:] > score_threshold)
        scores = probs[i, anchor, label + 1]
        keep = non_max_suppression(boxes[anchor], scores, iou_threshold, classes=label)
        keep = keep[:max_detections]
        out.append((boxes[anchor[keep]], scores[keep], label[keep]))
    return out


def ssd_evaluate(model, images, targets, class_names, batch_size=100, **decode_options):
    """COCO evaluation of an SSD on images (``[0, 1]`` floats) and their ``{"boxes",
    "labels"}`` targets; returns the :class:`lapenna.vision.COCOEvaluation`."""
    shape = tuple(images.shape[1:])
    detections = ssd_decode(
        model.predict(images, batch_size=batch_size, verbose=0), shape, **decode_options
    )
    truth = to_coco([t["boxes"] for t in targets], [t["labels"] for t in targets], class_names)
    found = to_results(*zip(*detections)) if detections else []
    return _coco_evaluate(truth, found)

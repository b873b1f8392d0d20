"""Anchors on feature-map grids and their matching to ground-truth boxes.

A single-shot detector predicts, at every cell of a few feature maps, a class score and a
box offset for each of a handful of *anchors* (default boxes) centred on the cell. The
training targets come from matching: an anchor whose IoU with a ground-truth box reaches a
threshold learns that box, the others learn "background".
"""

from lapenna.backend import floatx, xp
from lapenna.vision.boxes import box_iou, check_boxes

BACKGROUND = -1
IGNORED = -2


def _check_levels(feature_shapes, sizes, aspect_ratios):
    if not feature_shapes:
        raise ValueError("generate_anchors: expected at least one feature-map shape, got none")
    for name, value in (("sizes", sizes), ("aspect_ratios", aspect_ratios)):
        if len(value) != len(feature_shapes):
            raise ValueError(
                f"generate_anchors: expected one entry of {name} per feature map "
                f"({len(feature_shapes)}), got {len(value)}"
            )
        for level in value:
            if not len(level) or any(not v > 0 for v in level):
                raise ValueError(f"generate_anchors: {name} must be positive numbers, got {level}")


def generate_anchors(image_shape, feature_shapes, sizes, aspect_ratios, dtype=None):
    """``xyxy`` anchors for every cell of every feature map, in pixels of the image.

    Cell ``(i, j)`` of a map of ``(h, w)`` cells over an image of ``(H, W)`` pixels has
    stride ``(H / h, W / w)`` and centre ``((j + 0.5) * W / w, (i + 0.5) * H / h)``. Each
    size ``s`` and aspect ratio ``r`` (width / height) gives a box of width ``s * sqrt(r)``
    and height ``s / sqrt(r)``; a cell has ``len(sizes[l]) * len(aspect_ratios[l])``
    anchors.

    Args:
        image_shape: ``(height, width)`` of the input image.
        feature_shapes: ``[(h, w), ...]`` of the feature maps, finest first.
        sizes: per map, a list of anchor sizes in pixels.
        aspect_ratios: per map, a list of width/height ratios.

    Returns:
        ``(sum_l h_l * w_l * A_l, 4)``: maps in order, then rows, columns, and the anchors
        of a cell (sizes outer, ratios inner): the order of a head's reshaped output.

    Example:
        >>> generate_anchors((8, 8), [(1, 1)], [[4]], [[1.0]]).tolist()
        [[2.0, 2.0, 6.0, 6.0]]
    """
    _check_levels(feature_shapes, sizes, aspect_ratios)
    height, width = image_shape
    out = []
    for (h, w), level_sizes, ratios in zip(feature_shapes, sizes, aspect_ratios):
        s = xp.asarray(level_sizes, dtype=xp.float64)[:, None]
        r = xp.sqrt(xp.asarray(ratios, dtype=xp.float64))[None, :]
        half_w, half_h = (s * r).reshape(-1) / 2, (s / r).reshape(-1) / 2
        cy = (xp.arange(h) + 0.5) * (height / h)
        cx = (xp.arange(w) + 0.5) * (width / w)
        cy, cx = xp.meshgrid(cy, cx, indexing="ij")
        cx, cy = cx[:, :, None], cy[:, :, None]
        level = xp.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=-1)
        out.append(level.reshape(-1, 4))
    return xp.concatenate(out).astype(dtype or floatx())


def match_anchors(anchors, gt_boxes, positive_threshold=0.5, negative_threshold=None):
    """Assign each anchor a ground-truth index, ``BACKGROUND`` (-1) or ``IGNORED`` (-2).

    An anchor is positive when its best IoU is ``>= positive_threshold``, background when
    it is ``< negative_threshold`` (default: the positive threshold), and ignored in
    between. Then every ground-truth box also claims its best anchor (the lowest index
    among equal IoUs), so no object goes unlearned, however small.

    Returns:
        ``(matches, ious)``: an int64 array ``(num_anchors,)`` and each anchor's best IoU.
    """
    anchors = check_boxes(anchors, "match_anchors (anchors)")
    gt_boxes = check_boxes(gt_boxes, "match_anchors (gt_boxes)").reshape(-1, 4)
    negative_threshold = positive_threshold if negative_threshold is None else negative_threshold
    if negative_threshold > positive_threshold:
        raise ValueError(
            f"match_anchors: negative_threshold ({negative_threshold}) must not exceed "
            f"positive_threshold ({positive_threshold})"
        )
    matches = xp.full(anchors.shape[0], BACKGROUND, dtype=xp.int64)
    if gt_boxes.shape[0] == 0:
        return matches, xp.zeros(anchors.shape[0], dtype=anchors.dtype)
    iou = box_iou(anchors, gt_boxes)
    best_gt = iou.argmax(axis=1)
    best_iou = iou[xp.arange(anchors.shape[0]), best_gt]
    matches[best_iou >= negative_threshold] = IGNORED
    positive = best_iou >= positive_threshold
    matches[positive] = best_gt[positive]
    forced = iou.argmax(axis=0)  # each ground truth's best anchor
    matches[forced] = xp.arange(gt_boxes.shape[0])
    return matches, best_iou


def hard_negative_mining(negative_losses, positive, neg_pos_ratio=3, min_negatives=0, ignore=None):
    """Pick, per image, the ``neg_pos_ratio * positives`` negatives with the largest loss.

    SSD (Liu et al., ECCV 2016, section 2.2) keeps the background/foreground ratio at 3:1
    this way instead of learning from every easy background anchor.

    Args:
        negative_losses: ``(batch, anchors)`` background losses (any values at positives).
        positive: ``(batch, anchors)`` booleans; these are never chosen as negatives.
        neg_pos_ratio: negatives per positive.
        min_negatives: negatives kept in an image that has no positive.
        ignore: optional ``(batch, anchors)`` booleans of anchors that are neither.

    Returns:
        a boolean ``(batch, anchors)`` mask of the chosen negatives. Equal losses prefer
        the lower anchor index.
    """
    losses = xp.asarray(negative_losses, dtype=xp.float64)
    positive = xp.asarray(positive, dtype=bool)
    if losses.shape != positive.shape or losses.ndim != 2:
        raise ValueError(
            "hard_negative_mining: expected losses and positive masks of the same shape "
            f"(batch, anchors), got {losses.shape} and {positive.shape}"
        )
    excluded = positive if ignore is None else positive | xp.asarray(ignore, dtype=bool)
    losses = xp.where(excluded, -xp.inf, losses)
    counts = xp.maximum(positive.sum(axis=1) * neg_pos_ratio, min_negatives)
    counts = xp.minimum(counts, (~excluded).sum(axis=1))
    order = xp.argsort(-losses, axis=1, kind="stable")
    rank = xp.empty_like(order)
    xp.put_along_axis(rank, order, xp.arange(losses.shape[1])[None, :].repeat(len(losses), 0), 1)
    return rank < counts[:, None]

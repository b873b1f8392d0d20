"""Detection metrics: COCO evaluation (the 12 standard numbers) and VOC average precision.

COCO evaluation follows pycocotools' ``COCOeval`` (bbox) step by step, so the numbers are
the same: detections of each image and category sorted by score (stable) and cut to the
largest ``maxDets``; at each IoU threshold in 0.50:0.05:0.95 a detection takes the
unmatched ground truth of highest IoU ``>=`` the threshold (crowd boxes may be taken many
times, their IoU is the intersection over the detection's area, and they are ignored, as
are boxes outside the area range); precision is interpolated at 101 recall points;
categories without ground truth give -1 and are left out of the means.

The difference from pycocotools: matches are kept as flags, not as ids, so a ground-truth
annotation with id 0 counts as matched (pycocotools would count it as unmatched).
"""

from dataclasses import dataclass

from lapenna.backend import xp
from lapenna.vision.boxes import box_iou
from lapenna.vision.coco import check_coco, check_results

IOU_THRESHOLDS = xp.linspace(0.5, 0.95, 10)
RECALL_THRESHOLDS = xp.linspace(0.0, 1.0, 101)
AREA_RANGES = (
    ("all", 0.0, 1e5**2),
    ("small", 0.0, 32.0**2),
    ("medium", 32.0**2, 96.0**2),
    ("large", 96.0**2, 1e5**2),
)
MAX_DETECTIONS = (1, 10, 100)
STAT_NAMES = (
    "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"
)  # fmt: skip


def _crowd_iou(dt, gt, crowd):
    """IoU of xywh detections with xywh ground truth, in pycocotools' order of operations;
    for a crowd box the union is the detection's area."""
    w = xp.minimum(dt[:, None, 0] + dt[:, None, 2], gt[None, :, 0] + gt[None, :, 2]) - xp.maximum(
        dt[:, None, 0], gt[None, :, 0]
    )
    h = xp.minimum(dt[:, None, 1] + dt[:, None, 3], gt[None, :, 1] + gt[None, :, 3]) - xp.maximum(
        dt[:, None, 1], gt[None, :, 1]
    )
    inter = xp.where((w > 0) & (h > 0), w * h, 0.0)
    dt_area = (dt[:, 2] * dt[:, 3])[:, None]
    gt_area = (gt[:, 2] * gt[:, 3])[None, :]
    union = xp.where(crowd[None, :], dt_area, dt_area + gt_area - inter)
    out = xp.zeros_like(inter)
    xp.divide(inter, union, out=out, where=inter > 0)
    return out


def _match(ious, gt_ignore, crowd, thresholds):
    """Greedy matching of score-sorted detections at every threshold at once.

    Returns ``(dt_matched, dt_ignored)``, both ``(T, D)`` booleans. ``gt_ignore`` must put
    ignored ground truth last (pycocotools' order).
    """
    t_count, (d_count, g_count) = len(thresholds), ious.shape
    dt_matched = xp.zeros((t_count, d_count), dtype=bool)
    dt_ignored = xp.zeros((t_count, d_count), dtype=bool)
    if d_count == 0 or g_count == 0:
        return dt_matched, dt_ignored
    gt_taken = xp.zeros((t_count, g_count), dtype=bool)
    rows = xp.arange(t_count)
    reverse = slice(None, None, -1)
    for d in range(d_count):
        ok = (~gt_taken | crowd) & (ious[d] >= thresholds[:, None])
        # a match to a regular box is preferred to one to an ignored box; within a group
        # the highest IoU wins, and on equal IoU the last box (pycocotools' loop does so)
        for group in (ok & ~gt_ignore, ok & gt_ignore):
            todo = group.any(axis=1) & ~dt_matched[:, d]
            if not todo.any():
                continue
            masked = xp.where(group, ious[d], -xp.inf)
            best = masked.max(axis=1, keepdims=True)
            last = g_count - 1 - xp.argmax((masked == best)[:, reverse], axis=1)
            t = rows[todo]
            dt_matched[t, d] = True
            dt_ignored[t, d] = gt_ignore[last[t]]
            gt_taken[t, last[t]] = True
    return dt_matched, dt_ignored


def _group(coco, results, cat_ids):
    gts, dts = {}, {}
    for ann in coco["annotations"]:
        gts.setdefault((ann["image_id"], ann["category_id"]), []).append(ann)
    for det in results:
        if det["category_id"] in cat_ids:
            dts.setdefault((det["image_id"], det["category_id"]), []).append(det)
    return gts, dts


def _evaluate_pair(gts, dts, max_det):
    """pycocotools' computeIoU and evaluateImg for one image and category, all area ranges."""
    scores = xp.asarray([d["score"] for d in dts], dtype=xp.float64)
    order = xp.argsort(-scores, kind="stable")[:max_det]
    dt = xp.asarray([dts[i]["bbox"] for i in order], dtype=xp.float64).reshape(-1, 4)
    dt_area = dt[:, 2] * dt[:, 3]
    gt = xp.asarray([g["bbox"] for g in gts], dtype=xp.float64).reshape(-1, 4)
    gt_area = xp.asarray([g["area"] for g in gts], dtype=xp.float64)
    crowd = xp.asarray([bool(g["iscrowd"]) for g in gts], dtype=bool)
    ious = _crowd_iou(dt, gt, crowd)
    thresholds = xp.minimum(IOU_THRESHOLDS, 1 - 1e-10)
    out = []
    for _, low, high in AREA_RANGES:
        gt_ignore = crowd | (gt_area < low) | (gt_area > high)
        gt_order = xp.argsort(gt_ignore, kind="stable")
        matched, ignored = _match(
            ious[:, gt_order], gt_ignore[gt_order], crowd[gt_order], thresholds
        )
        outside = (dt_area < low) | (dt_area > high)
        ignored |= ~matched & outside[None, :]
        out.append((scores[order], matched, ignored, gt_ignore))
    return out


@dataclass
class COCOEvaluation:
    """The result of :func:`coco_evaluate`.

    Attributes:
        stats: the 12 numbers in pycocotools' order (``STAT_NAMES``).
        precision: ``(10, 101, K, 4, 3)`` interpolated precision per IoU threshold, recall
            point, category, area range and maxDets (-1 where a category has no ground truth).
        recall: ``(10, K, 4, 3)`` the recall reached.
        category_ids: the K category ids, sorted.
    """

    stats: list
    precision: object
    recall: object
    category_ids: list

    def as_dict(self):
        return dict(zip(STAT_NAMES, self.stats))

    def table(self):
        """pycocotools' summary, one line per number."""
        lines = []
        labels = [("Average Precision", "AP")] * 6 + [("Average Recall", "AR")] * 6
        ious = ["0.50:0.95", "0.50", "0.75"] + ["0.50:0.95"] * 9
        areas = (
            ["all"] * 3 + ["small", "medium", "large"] + ["all"] * 3 + ["small", "medium", "large"]
        )
        dets = [100] * 6 + [1, 10, 100, 100, 100, 100]
        for (title, short), iou, area, det, value in zip(labels, ious, areas, dets, self.stats):
            lines.append(
                f" {title:<18} ({short}) @[ IoU={iou:<9} | area={area:>6} | "
                f"maxDets={det:>3} ] = {value:0.3f}"
            )
        return "\n".join(lines)


def _accumulate(per_image, cat_count, max_dets):
    t_count, r_count = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS)
    precision = -xp.ones((t_count, r_count, cat_count, len(AREA_RANGES), len(max_dets)))
    recall = -xp.ones((t_count, cat_count, len(AREA_RANGES), len(max_dets)))
    for (k, a), entries in per_image.items():
        gt_ignore = xp.concatenate([e[3] for e in entries])
        positives = int(xp.count_nonzero(~gt_ignore))
        if positives == 0:
            continue
        for m, max_det in enumerate(max_dets):
            scores = xp.concatenate([e[0][:max_det] for e in entries])
            order = xp.argsort(-scores, kind="stable")
            matched = xp.concatenate([e[1][:, :max_det] for e in entries], axis=1)[:, order]
            ignored = xp.concatenate([e[2][:, :max_det] for e in entries], axis=1)[:, order]
            tp = xp.cumsum(matched & ~ignored, axis=1).astype(xp.float64)
            fp = xp.cumsum(~matched & ~ignored, axis=1).astype(xp.float64)
            found = tp.shape[1]
            rc = tp / positives
            pr = tp / (fp + tp + xp.spacing(1))
            recall[:, k, a, m] = rc[:, -1] if found else 0.0
            # the precision envelope: the best precision at any higher recall
            pr = xp.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
            for t in range(t_count):
                at = xp.searchsorted(rc[t], RECALL_THRESHOLDS, side="left")
                q = xp.zeros(r_count)
                inside = at < found
                q[inside] = pr[t, at[inside]]
                precision[t, :, k, a, m] = q
    return precision, recall


def _summaries(precision, recall, max_dets):
    def mean(values):
        values = values[values > -1]
        return float(values.mean()) if values.size else -1.0

    last = len(max_dets) - 1
    stats = [mean(precision[:, :, :, 0, last]), mean(precision[0, :, :, 0, last])]
    stats += [mean(precision[5, :, :, 0, last])]
    stats += [mean(precision[:, :, :, a, last]) for a in (1, 2, 3)]
    stats += [mean(recall[:, :, 0, m]) for m in range(len(max_dets))]
    stats += [mean(recall[:, :, a, last]) for a in (1, 2, 3)]
    return stats


def coco_evaluate(coco, results, max_dets=MAX_DETECTIONS):
    """COCO bounding-box evaluation, the numbers of pycocotools' ``COCOeval.summarize``.

    Args:
        coco: a COCO ground-truth dict (see ``lapenna.vision.coco``); every image and
            category in it is evaluated.
        results: a list of detections ``{"image_id", "category_id", "bbox" (xywh),
            "score"}``; those of categories absent from ``coco`` are skipped, those of
            unknown images refused.
        max_dets: the three detection caps (pycocotools' ``maxDets``).

    Returns:
        a :class:`COCOEvaluation`; ``.stats`` holds AP, AP50, AP75, APs, APm, APl, AR1,
        AR10, AR100, ARs, ARm, ARl.
    """
    coco = check_coco(coco)
    results = check_results(results, coco)
    if len(max_dets) != 3 or list(max_dets) != sorted(max_dets) or min(max_dets) < 1:
        raise ValueError(
            f"coco_evaluate: max_dets must be three increasing counts, got {max_dets!r}"
        )
    image_ids = sorted(im["id"] for im in coco["images"])
    cat_ids = sorted(c["id"] for c in coco["categories"])
    gts, dts = _group(coco, results, set(cat_ids))
    per_image = {}
    for k, cat in enumerate(cat_ids):
        for image in image_ids:
            g, d = gts.get((image, cat), []), dts.get((image, cat), [])
            if not g and not d:
                continue
            for a, entry in enumerate(_evaluate_pair(g, d, max_dets[-1])):
                per_image.setdefault((k, a), []).append(entry)
    precision, recall = _accumulate(per_image, len(cat_ids), list(max_dets))
    return COCOEvaluation(_summaries(precision, recall, max_dets), precision, recall, cat_ids)


# -- VOC ------------------------------------------------------------------------------------


def average_precision(recall, precision, method="all_points"):
    """Area under a precision-recall curve, the PASCAL VOC way.

    Args:
        recall, precision: the curve at each detection in score order (recall rising).
        method: ``"all_points"`` (VOC 2010 on: the area under the precision envelope) or
            ``"11_points"`` (VOC 2007: the mean of the best precision at recall >= 0, 0.1,
            ..., 1).

    Example:
        >>> average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3])
        0.8333333333333333
    """
    recall = xp.asarray(recall, dtype=xp.float64).reshape(-1)
    precision = xp.asarray(precision, dtype=xp.float64).reshape(-1)
    if recall.shape != precision.shape:
        raise ValueError(
            f"average_precision: recall {recall.shape} and precision {precision.shape} differ"
        )
    if method == "11_points":
        points = [
            precision[recall >= t].max() if (recall >= t).any() else 0.0
            for t in xp.linspace(0, 1, 11)
        ]
        return float(xp.mean(points))
    if method != "all_points":
        raise ValueError(
            f"average_precision: method must be 'all_points' or '11_points', got {method!r}"
        )
    r = xp.concatenate([[0.0], recall, [1.0]])
    p = xp.concatenate([[0.0], precision, [0.0]])
    p = xp.maximum.accumulate(p[::-1])[::-1]
    steps = xp.flatnonzero(r[1:] != r[:-1])
    return float(xp.sum((r[steps + 1] - r[steps]) * p[steps + 1]))


def voc_evaluate(
    gt_boxes,
    gt_labels,
    det_boxes,
    det_scores,
    det_labels,
    num_classes,
    iou_threshold=0.5,
    method="all_points",
):
    """PASCAL VOC mean AP: per class, detections in score order take an unmatched ground
    truth of their image with IoU > ``iou_threshold`` (the best one); others are false.

    Args:
        gt_boxes, gt_labels: per image, ``(G, 4)`` ``xyxy`` boxes and ``(G,)`` classes.
        det_boxes, det_scores, det_labels: per image, the detections.
        num_classes: classes ``0 .. num_classes - 1``.

    Returns:
        ``(mean_ap, aps)``: the mean over classes with ground truth, and one AP per class
        (NaN for a class without ground truth).
    """
    aps = []
    for c in range(num_classes):
        gts = [
            xp.asarray(b, dtype=xp.float64).reshape(-1, 4)[xp.asarray(lab) == c]
            for b, lab in zip(gt_boxes, gt_labels)
        ]
        positives = sum(len(g) for g in gts)
        entries = []
        for i, (b, s, lab) in enumerate(zip(det_boxes, det_scores, det_labels)):
            keep = xp.asarray(lab) == c
            for box, score in zip(
                xp.asarray(b, dtype=xp.float64).reshape(-1, 4)[keep], xp.asarray(s)[keep]
            ):
                entries.append((float(score), i, box))
        if positives == 0:
            aps.append(float("nan"))
            continue
        entries.sort(key=lambda e: -e[0])
        taken = [xp.zeros(len(g), dtype=bool) for g in gts]
        hits = xp.zeros(len(entries))
        for n, (_, i, box) in enumerate(entries):
            if len(gts[i]):
                iou = box_iou(box[None], gts[i])[0]
                j = int(xp.argmax(iou))
                if iou[j] > iou_threshold and not taken[i][j]:
                    taken[i][j] = True
                    hits[n] = 1
        tp = xp.cumsum(hits)
        fp = xp.cumsum(1 - hits)
        aps.append(average_precision(tp / positives, tp / xp.maximum(tp + fp, 1e-12), method))
    valid = [a for a in aps if a == a]
    return (float(xp.mean(valid)) if valid else float("nan")), aps


def plot_precision_recall(evaluation, path, class_names=None, iou_index=0):
    """Write a PNG of each category's precision-recall curve (at IoU 0.5 by default,
    area "all", the largest maxDets) from a :class:`COCOEvaluation`."""
    import matplotlib  # noqa: PLC0415 - optional

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(5, 4))
    for k, cat in enumerate(evaluation.category_ids):
        curve = evaluation.precision[iou_index, :, k, 0, -1]
        if (curve < 0).all():
            continue
        name = class_names[k] if class_names is not None else f"category {cat}"
        ax.plot(RECALL_THRESHOLDS, curve, label=f"{name} (AP {curve.mean():.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"precision-recall at IoU {IOU_THRESHOLDS[iou_index]:.2f}")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path

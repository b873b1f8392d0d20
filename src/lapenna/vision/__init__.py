"""Object detection on arrays: boxes, IoU and box losses, NMS, anchors and matching,
RoI ops, COCO-format files and detection metrics (VOC AP, COCO evaluation).

Boxes are ``(..., 4)`` arrays in ``xyxy`` unless a function says otherwise; see
``lapenna.vision.boxes`` for the formats.
"""

from lapenna.vision.anchors import (
    BACKGROUND,
    IGNORED,
    generate_anchors,
    hard_negative_mining,
    match_anchors,
)
from lapenna.vision.augment import (
    flip_horizontal,
    random_flip,
    random_scale_crop,
    random_translate,
    scale_translate,
)
from lapenna.vision.boxes import (
    FORMATS,
    box_area,
    box_iou,
    check_boxes,
    ciou_loss,
    clip_boxes,
    convert_boxes,
    decode_boxes,
    diou_loss,
    encode_boxes,
    generalized_box_iou,
    giou_loss,
    order_corners,
)
from lapenna.vision.coco import (
    check_coco,
    check_results,
    load_coco_folder,
    read_coco,
    read_results,
    to_coco,
    to_results,
    write_coco,
    write_results,
)
from lapenna.vision.evaluation import (
    STAT_NAMES,
    COCOEvaluation,
    average_precision,
    coco_evaluate,
    plot_precision_recall,
    voc_evaluate,
)
from lapenna.vision.losses import SSD_VARIANCES, GIoULoss, SSDLoss, focal_loss, ssd_targets
from lapenna.vision.nms import non_max_suppression, soft_non_max_suppression
from lapenna.vision.roi import roi_align, roi_pool

__all__ = [
    "flip_horizontal",
    "random_flip",
    "random_scale_crop",
    "random_translate",
    "scale_translate",
    "check_coco",
    "check_results",
    "load_coco_folder",
    "read_coco",
    "read_results",
    "to_coco",
    "to_results",
    "write_coco",
    "write_results",
    "STAT_NAMES",
    "COCOEvaluation",
    "average_precision",
    "coco_evaluate",
    "plot_precision_recall",
    "voc_evaluate",
    "BACKGROUND",
    "IGNORED",
    "SSD_VARIANCES",
    "SSDLoss",
    "GIoULoss",
    "focal_loss",
    "generate_anchors",
    "hard_negative_mining",
    "match_anchors",
    "ssd_targets",
    "FORMATS",
    "box_area",
    "box_iou",
    "check_boxes",
    "ciou_loss",
    "clip_boxes",
    "convert_boxes",
    "decode_boxes",
    "diou_loss",
    "encode_boxes",
    "generalized_box_iou",
    "giou_loss",
    "order_corners",
    "non_max_suppression",
    "roi_align",
    "roi_pool",
    "soft_non_max_suppression",
]

"""COCO-format files: ground truth (images, annotations, categories) and detection results.

A ground-truth file is a JSON object ``{"images": [...], "annotations": [...],
"categories": [...]}``; an annotation has ``id``, ``image_id``, ``category_id``, ``bbox``
``[x, y, width, height]`` in pixels, ``area`` and ``iscrowd``. A results file is a JSON
list of ``{"image_id", "category_id", "bbox", "score"}``. These are the formats of
pycocotools, Detectron2, MMDetection and most labelling tools, so labelled data and
detections can travel between them and lapenna.

Reading validates everything first and raises ``ValueError`` naming the bad entry;
writing goes to a temporary file in the same folder that is renamed at the end, so a
failed write leaves nothing half-written.
"""

import json
import math
import os
import tempfile

from lapenna.backend import xp


def _fail(where, message):
    raise ValueError(f"COCO {where}: {message}")


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_bbox(bbox, where):
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(map(_number, bbox)):
        _fail(where, f"bbox must be four finite numbers [x, y, width, height], got {bbox!r}")
    if bbox[2] < 0 or bbox[3] < 0:
        _fail(where, f"bbox width and height must be >= 0, got {list(bbox)}")


def _require(entry, keys, where):
    if not isinstance(entry, dict):
        _fail(where, f"expected an object, got {type(entry).__name__}")
    missing = [k for k in keys if k not in entry]
    if missing:
        _fail(where, f"missing field(s) {missing} (has {sorted(entry)})")


def _unique_ids(entries, what):
    ids = [e["id"] for e in entries]
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, int):
            _fail(what, f"ids must be integers, got {i!r}")
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        _fail(what, f"id {dup} appears more than once")
    return set(ids)


def check_coco(data):
    """Validate a COCO ground-truth dict; fill ``area`` (box area) and ``iscrowd`` (0)
    where absent. Returns a new dict; the input is not modified."""
    _require(data, ["images", "annotations", "categories"], "dataset")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data[key], list):
            _fail("dataset", f"'{key}' must be a list, got {type(data[key]).__name__}")
    for i, image in enumerate(data["images"]):
        _require(image, ["id"], f"images[{i}]")
    for i, cat in enumerate(data["categories"]):
        _require(cat, ["id", "name"], f"categories[{i}]")
    image_ids = _unique_ids(data["images"], "images")
    cat_ids = _unique_ids(data["categories"], "categories")
    annotations = []
    for i, ann in enumerate(data["annotations"]):
        where = f"annotations[{i}]"
        _require(ann, ["id", "image_id", "category_id", "bbox"], where)
        if ann["image_id"] not in image_ids:
            _fail(where, f"unknown image_id {ann['image_id']!r}")
        if ann["category_id"] not in cat_ids:
            _fail(where, f"unknown category_id {ann['category_id']!r}")
        _check_bbox(ann["bbox"], where)
        ann = dict(ann)
        ann.setdefault("area", float(ann["bbox"][2] * ann["bbox"][3]))
        ann.setdefault("iscrowd", 0)
        if not _number(ann["area"]) or ann["iscrowd"] not in (0, 1, True, False):
            _fail(
                where,
                "area must be a number and iscrowd 0 or 1, "
                f"got {ann['area']!r}, {ann['iscrowd']!r}",
            )
        annotations.append(ann)
    _unique_ids(annotations, "annotations")
    return {**data, "annotations": annotations}


def check_results(results, coco=None):
    """Validate detection results (a list of dicts); with ``coco``, every ``image_id`` must
    be one of its images (as pycocotools requires)."""
    if not isinstance(results, list):
        _fail("results", f"expected a list of detections, got {type(results).__name__}")
    image_ids = {im["id"] for im in coco["images"]} if coco is not None else None
    for i, det in enumerate(results):
        where = f"results[{i}]"
        _require(det, ["image_id", "category_id", "bbox", "score"], where)
        _check_bbox(det["bbox"], where)
        if not _number(det["score"]):
            _fail(where, f"score must be a finite number, got {det['score']!r}")
        if image_ids is not None and det["image_id"] not in image_ids:
            _fail(
                where, f"unknown image_id {det['image_id']!r} (not among the ground truth's images)"
            )
    return results


def read_coco(path):
    """Read and validate a COCO ground-truth JSON file (see :func:`check_coco`)."""
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"COCO file {os.fspath(path)!r} is not valid JSON: {error}") from None
    return check_coco(data)


def read_results(path, coco=None):
    """Read and validate a COCO detection-results JSON file."""
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"results file {os.fspath(path)!r} is not valid JSON: {error}"
            ) from None
    return check_results(data, coco)


def _write_json(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".coco-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_coco(path, data):
    """Validate, then write a ground-truth dict as COCO JSON (atomically)."""
    _write_json(path, check_coco(data))


def write_results(path, results):
    """Validate, then write detections as a COCO results JSON list (atomically)."""
    _write_json(path, check_results(results))


def _xyxy_to_xywh(boxes):
    return [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in boxes]


def to_coco(boxes, labels, class_names, image_sizes=None, file_names=None):
    """Build a COCO ground-truth dict from per-image arrays.

    Args:
        boxes: a list (one entry per image) of ``(G, 4)`` ``xyxy`` arrays.
        labels: a list of ``(G,)`` integer class indices into ``class_names``.
        class_names: names of the classes; category ``i`` gets id ``i + 1``.
        image_sizes: optional ``(height, width)`` per image.
        file_names: optional file name per image.

    Images get ids ``1..N`` and annotations ``1..`` (positive ids: pycocotools treats id
    0 as "unmatched").
    """
    if len(boxes) != len(labels):
        raise ValueError(f"to_coco: {len(boxes)} box arrays but {len(labels)} label arrays")
    images, annotations = [], []
    for i, (b, lab) in enumerate(zip(boxes, labels)):
        image = {"id": i + 1}
        if image_sizes is not None:
            image["height"], image["width"] = int(image_sizes[i][0]), int(image_sizes[i][1])
        if file_names is not None:
            image["file_name"] = str(file_names[i])
        images.append(image)
        for box, label in zip(
            _xyxy_to_xywh(xp.asarray(b).reshape(-1, 4)), xp.asarray(lab).reshape(-1)
        ):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": int(label) + 1,
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i + 1, "name": str(n)} for i, n in enumerate(class_names)]
    return check_coco({"images": images, "annotations": annotations, "categories": categories})


def to_results(boxes, scores, labels, image_ids=None):
    """COCO results from per-image ``xyxy`` boxes, scores and class indices (id = index + 1)."""
    out = []
    for i, (b, s, lab) in enumerate(zip(boxes, scores, labels)):
        image_id = i + 1 if image_ids is None else image_ids[i]
        for box, score, label in zip(_xyxy_to_xywh(xp.asarray(b).reshape(-1, 4)), s, lab):
            out.append(
                {
                    "image_id": image_id,
                    "category_id": int(label) + 1,
                    "bbox": box,
                    "score": float(score),
                }
            )
    return check_results(out)


def load_coco_folder(folder, annotation_file=None, image_size=None):
    """Images and targets of a folder of images with one COCO ground-truth JSON file.

    Args:
        folder: holds the images (``file_name`` of each image entry, relative to it).
        annotation_file: the JSON file; by default the only ``.json`` file in ``folder``.
        image_size: ``(height, width)`` to resize every image to (the boxes are scaled
            alike); None keeps the sizes, which must then all be equal.

    Returns:
        ``(images, targets, class_names)``: float32 RGB images in ``[0, 1]``, ``(N, H, W,
        3)``, in the order of the file's images; per image a dict with ``"boxes"``
        (``xyxy`` pixels), ``"labels"`` (indices into ``class_names``, the categories
        sorted by id), ``"iscrowd"`` and ``"image_id"``.
    """
    from PIL import Image  # noqa: PLC0415 - optional

    folder = os.fspath(folder)
    if annotation_file is None:
        found = sorted(f for f in os.listdir(folder) if f.lower().endswith(".json"))
        if len(found) != 1:
            raise ValueError(
                f"load_coco_folder: expected one .json annotation file in {folder!r}, found {found}"
            )
        annotation_file = os.path.join(folder, found[0])
    coco = read_coco(annotation_file)
    categories = sorted(coco["categories"], key=lambda c: c["id"])
    index = {c["id"]: i for i, c in enumerate(categories)}
    by_image = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    images, targets = [], []
    for i, entry in enumerate(coco["images"]):
        if "file_name" not in entry:
            _fail(f"images[{i}]", "missing field(s) ['file_name'] needed to find the image")
        path = os.path.join(folder, entry["file_name"])
        try:
            with Image.open(path) as picture:
                picture = picture.convert("RGB")
                width, height = picture.size
                if image_size is not None and (height, width) != tuple(image_size):
                    picture = picture.resize(
                        (image_size[1], image_size[0]), Image.Resampling.BILINEAR
                    )
                pixels = xp.asarray(picture, dtype=xp.float32) / 255
        except OSError as error:
            raise ValueError(f"load_coco_folder: cannot read image {path!r}: {error}") from None
        anns = by_image.get(entry["id"], [])
        boxes = xp.asarray([a["bbox"] for a in anns], dtype=xp.float32).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        boxes *= xp.asarray(
            [pixels.shape[1] / width, pixels.shape[0] / height] * 2, dtype=xp.float32
        )
        labels = xp.asarray([index[a["category_id"]] for a in anns], dtype=xp.int64)
        crowd = xp.asarray([bool(a["iscrowd"]) for a in anns], dtype=bool)
        targets.append(
            {"boxes": boxes, "labels": labels, "iscrowd": crowd, "image_id": entry["id"]}
        )
        images.append(pixels)
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ValueError(
            f"load_coco_folder: images differ in size {sorted(shapes)}; pass image_size"
        )
    stacked = xp.stack(images) if images else xp.zeros((0, 1, 1, 3), dtype=xp.float32)
    return stacked, targets, [c["name"] for c in categories]

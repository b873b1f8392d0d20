"""``lapenna bench --detection``: detection kernels against their references, and the SSD gate.

Timed side by side in this process: pairwise IoU of 10,000 x 10,000 boxes (against the
same broadcast formula in PyTorch), NMS of 10,000 boxes (against onnxruntime's
NonMaxSuppression), COCO evaluation of 5,000 images (against pycocotools' COCOeval). Then
the SSD trains on shapes_detection (2,000 images, 12 epochs) and its COCO AP and AP50 on
the 300 held-out images are printed with the gate: AP50 >= 0.90 and AP >= 0.60; the YOLO
grid detector's AP from the same training set is printed too (no gate).
"""

import contextlib
import copy
import io
import time

from lapenna import vision
from lapenna.applications.ssd import ssd_evaluate
from lapenna.applications.yolo import YOLO, YOLOLoss, yolo_decode, yolo_targets
from lapenna.backend import set_seed, xp
from lapenna.cli import detection
from lapenna.optimizers import Adam
from lapenna.optimizers.schedules import CosineDecay

GATE = {"AP50": 0.90, "AP": 0.60}


def _random_boxes(rng, n, size=1000.0):
    xy = rng.uniform(0, size, (n, 2))
    return xp.concatenate([xy, xy + rng.uniform(5, 80, (n, 2))], axis=1).astype(xp.float32)


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _line(name, ours, reference, label):
    if reference is None:
        print(f"{name:<34}{ours * 1e3:>12.1f}{'-':>14}{'-':>8}  ({label} not installed)")
    else:
        print(
            f"{name:<34}{ours * 1e3:>12.1f}{reference * 1e3:>14.1f}"
            f"{reference / ours:>8.2f}  {label}"
        )


def _torch_iou(torch, a, b):
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def bench_iou(repeats):
    rng = xp.random.default_rng(0)
    a, b = _random_boxes(rng, 10_000), _random_boxes(rng, 10_000)
    ours = _best(lambda: vision.box_iou(a, b), repeats)
    try:
        import torch
    except ImportError:
        return _line("pairwise IoU 10,000 x 10,000", ours, None, "torch")
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    _line(
        "pairwise IoU 10,000 x 10,000",
        ours,
        _best(lambda: _torch_iou(torch, ta, tb), repeats),
        "torch",
    )


def _ort_nms_session():
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return None
    node = helper.make_node("NonMaxSuppression", ["b", "s", "m", "i"], ["k"])
    graph = helper.make_graph(
        [node],
        "nms",
        [
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, None, 4]),
            helper.make_tensor_value_info("s", TensorProto.FLOAT, [1, 1, None]),
            helper.make_tensor_value_info("m", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("i", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor_value_info("k", TensorProto.INT64, [None, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def bench_nms(repeats):
    rng = xp.random.default_rng(1)
    boxes = _random_boxes(rng, 10_000)
    scores = rng.uniform(size=10_000).astype(xp.float32)
    kept = vision.non_max_suppression(boxes, scores, 0.5)
    ours = _best(lambda: vision.non_max_suppression(boxes, scores, 0.5), repeats)
    session = _ort_nms_session()
    name = f"NMS of 10,000 boxes ({len(kept):,} kept)"
    if session is None:
        return _line(name, ours, None, "onnxruntime")
    feed = {
        "b": boxes[None],
        "s": scores[None, None],
        "m": xp.asarray([10_000], dtype=xp.int64),
        "i": xp.asarray([0.5], dtype=xp.float32),
    }
    reference = session.run(None, feed)[0][:, 2]
    if not xp.array_equal(reference, kept):
        print("NMS: the kept indices differ from onnxruntime's")
    _line(name, ours, _best(lambda: session.run(None, feed), repeats), "onnxruntime")


def _coco_scene(images):
    rng = xp.random.default_rng(2)
    boxes, labels, found, scores, classes = [], [], [], [], []
    for _ in range(images):
        n = int(rng.integers(1, 6))
        truth = _random_boxes(rng, n, 500.0).astype(xp.float64)
        jitter = truth[rng.integers(0, n, 8)] + rng.normal(0, 6, (8, 4))
        jitter[:, 2:] = xp.maximum(jitter[:, 2:], jitter[:, :2] + 1)
        boxes.append(truth)
        labels.append(rng.integers(0, 5, n))
        found.append(jitter)
        scores.append(rng.uniform(size=8).round(2))
        classes.append(rng.integers(0, 5, 8))
    gt = vision.to_coco(boxes, labels, [f"class{i}" for i in range(5)])
    return gt, vision.to_results(found, scores, classes)


def bench_coco(images):
    gt, dets = _coco_scene(images)
    start = time.perf_counter()
    ours = vision.coco_evaluate(gt, dets)
    ours_time = time.perf_counter() - start
    name = f"COCO evaluation of {images:,} images"
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        return _line(name, ours_time, None, "pycocotools")
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(copy.deepcopy(dets)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    reference = time.perf_counter() - start
    worst = max(abs(x - y) for x, y in zip(ours.stats, ev.stats))
    _line(name, ours_time, reference, f"pycocotools (largest difference {worst:.1e})")


def bench_ssd(epochs=12):
    train, test, names = detection.load_dataset()
    start = time.perf_counter()
    model = detection.fit_detector(train, None, epochs, 32, 3e-3, 0, names)
    seconds = time.perf_counter() - start
    result = ssd_evaluate(model, *test, names)
    ap, ap50 = result.stats[0], result.stats[1]
    passed = ap50 >= GATE["AP50"] and ap >= GATE["AP"]
    print(result.table())
    print(
        f"SSD on shapes_detection: {len(train[0]):,} training images, {epochs} epochs in "
        f"{seconds:.0f} s; test AP {ap:.3f}, AP50 {ap50:.3f} "
        f"(gate AP50 >= {GATE['AP50']}, AP >= {GATE['AP']}: {'passed' if passed else 'FAILED'})"
    )
    return passed


def bench_yolo(epochs=12):
    train, test, names = detection.load_dataset()
    shape = tuple(train[0].shape[1:])
    targets = xp.stack([yolo_targets(shape, t["boxes"], t["labels"]) for t in train[1]])
    set_seed(0)
    model = YOLO(shape, len(names))
    steps = -(-len(train[0]) // 32) * epochs
    model.compile(optimizer=Adam(CosineDecay(2e-3, steps)), loss=YOLOLoss())
    start = time.perf_counter()
    model.fit(train[0], targets, batch_size=32, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    found = yolo_decode(model.predict(test[0], verbose=0), shape)
    truth = vision.to_coco([t["boxes"] for t in test[1]], [t["labels"] for t in test[1]], names)
    result = vision.coco_evaluate(truth, vision.to_results(*zip(*found)))
    print(
        f"YOLO grid detector on shapes_detection: {len(train[0]):,} training images, {epochs} "
        f"epochs in {seconds:.0f} s; test AP {result.stats[0]:.3f}, AP50 {result.stats[1]:.3f}"
    )


def run_detection(repeats, only=()):
    """Print the detection benchmark; returns 0 when the SSD gate passes (or was skipped)."""
    # ratio: the reference's time over lapenna's (above 1: lapenna is faster)
    print(f"{'detection kernel':<34}{'lapenna ms':>12}{'reference ms':>14}{'ratio':>8}  reference")
    steps = {
        "iou": lambda: bench_iou(repeats),
        "nms": lambda: bench_nms(repeats),
        "coco": lambda: bench_coco(5000),
    }
    for name, step in steps.items():
        if not only or name in only:
            step()
    if not only or "yolo" in only:
        bench_yolo()
    if only and "ssd" not in only:
        return 0
    return 0 if bench_ssd() else 1

"""Box formats, IoU and the IoU losses, against hand values and torchvision's formulas in torch;
NMS against onnxruntime's NonMaxSuppression on a one-node ONNX graph."""

import math

import numpy as np
import pytest

import lapenna as lp
from lapenna import vision
from lapenna.vision import nms as nms_module

torch = pytest.importorskip("torch")


def _random_boxes(rng, n, size=100.0, scale=30.0):
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(1, scale, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def test_formats_round_trip_and_hand_values():
    xyxy = np.array([[10.0, 20.0, 30.0, 60.0]])
    assert vision.convert_boxes(xyxy, "xyxy", "xywh").tolist() == [[10, 20, 20, 40]]
    assert vision.convert_boxes(xyxy, "xyxy", "cxcywh").tolist() == [[20, 40, 20, 40]]
    boxes = _random_boxes(np.random.default_rng(0), 20)
    for fmt in vision.FORMATS:
        back = vision.convert_boxes(vision.convert_boxes(boxes, "xyxy", fmt), fmt, "xyxy")
        np.testing.assert_allclose(back, boxes, rtol=1e-12, atol=1e-12)
    assert vision.box_area(xyxy).tolist() == [800.0]
    assert vision.clip_boxes([[-5.0, 3, 120, 50]], 40, 100).tolist() == [[0, 3, 100, 40]]


def test_iou_hand_values():
    # the course's slide: two 2x2 squares overlapping in a 1x1 corner, IoU = 1/7
    iou = vision.box_iou([[0.0, 0, 2, 2]], [[1.0, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6]])
    np.testing.assert_allclose(iou, [[1 / 7, 1.0, 0.0]])
    # GIoU of disjoint boxes: 0 - (hull - union) / hull = -(36 - 5) / 36
    giou = vision.generalized_box_iou([[0.0, 0, 2, 2]], [[5.0, 5, 6, 6]])
    np.testing.assert_allclose(giou, [[-(36 - 5) / 36]])
    assert vision.box_iou(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)


def _torch_iou_terms(p, t, eps=1e-7):
    x1, y1, x2, y2 = p.unbind(-1)
    a1, b1, a2, b2 = t.unbind(-1)
    iw = (torch.min(x2, a2) - torch.max(x1, a1)).clamp(min=0)
    ih = (torch.min(y2, b2) - torch.max(y1, b1)).clamp(min=0)
    inter = iw * ih
    union = (x2 - x1) * (y2 - y1) + (a2 - a1) * (b2 - b1) - inter
    iou = inter / (union + eps)
    cw = torch.max(x2, a2) - torch.min(x1, a1)
    ch = torch.max(y2, b2) - torch.min(y1, b1)
    return iou, union, cw, ch


def _torch_giou(p, t, eps=1e-7):  # torchvision.ops.generalized_box_iou_loss
    iou, union, cw, ch = _torch_iou_terms(p, t, eps)
    hull = cw * ch
    return 1 - (iou - (hull - union) / (hull + eps))


def _torch_diou(p, t, eps=1e-7, with_terms=False):  # torchvision.ops.distance_box_iou_loss
    iou, _, cw, ch = _torch_iou_terms(p, t, eps)
    diag = cw**2 + ch**2 + eps
    pc = (p[:, :2] + p[:, 2:]) / 2
    tc = (t[:, :2] + t[:, 2:]) / 2
    loss = 1 - iou + ((pc - tc) ** 2).sum(-1) / diag
    return (loss, iou) if with_terms else loss


def _torch_ciou(p, t, eps=1e-7):  # torchvision.ops.complete_box_iou_loss
    diou, iou = _torch_diou(p, t, eps, with_terms=True)
    wp, hp = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
    wt, ht = t[:, 2] - t[:, 0], t[:, 3] - t[:, 1]
    v = (4 / math.pi**2) * (torch.atan(wt / ht) - torch.atan(wp / hp)) ** 2
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return diou + alpha * v


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (vision.giou_loss, _torch_giou),
        (vision.diou_loss, _torch_diou),
        (vision.ciou_loss, _torch_ciou),
    ],
)
def test_iou_losses_match_torch_in_value_and_gradient(ours, theirs):
    rng = np.random.default_rng(1)
    pred, target = _random_boxes(rng, 16, 20, 15), _random_boxes(rng, 16, 20, 15)
    lp.set_floatx("float64")
    try:
        p = lp.tensor(pred, requires_grad=True)
        t = lp.tensor(target, requires_grad=True)
        loss = ours(p, t)
        loss.sum().backward()
    finally:
        lp.set_floatx("float32")
    tp = torch.tensor(pred, requires_grad=True)
    tt = torch.tensor(target, requires_grad=True)
    ref = theirs(tp, tt)
    ref.sum().backward()
    np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_loss_reductions_and_bad_shapes():
    boxes = _random_boxes(np.random.default_rng(2), 4)
    per_box = vision.giou_loss(boxes, boxes[::-1])
    assert float(vision.giou_loss(boxes, boxes[::-1], "mean")) == pytest.approx(
        per_box.numpy().mean(), rel=1e-6
    )
    np.testing.assert_allclose(vision.giou_loss(boxes, boxes).numpy(), 0, atol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        vision.giou_loss(boxes, boxes[:2])
    with pytest.raises(ValueError, match="reduction"):
        vision.diou_loss(boxes, boxes, "avg")


def test_encode_decode_round_trip_and_ssd_values():
    anchors = np.array([[0.0, 0, 4, 4]])
    deltas = vision.encode_boxes([[1.0, 2, 5, 10]], anchors)
    # centre (3, 6) vs (2, 2), size (4, 8) vs (4, 4), variances 0.1 / 0.2
    np.testing.assert_allclose(deltas, [[2.5, 10.0, 0.0, math.log(2) / 0.2]])
    np.testing.assert_allclose(vision.decode_boxes(deltas, anchors), [[1.0, 2, 5, 10]])
    d = lp.tensor(deltas, requires_grad=True)
    vision.decode_boxes(d, anchors).sum().backward()
    assert d.grad.shape == (1, 4)


@pytest.mark.parametrize(
    "bad, message",
    [
        ([[5.0, 0, 1, 3]], "x2 >= x1"),
        ([[0.0, float("nan"), 1, 3]], "not finite"),
        ([[0.0, 1, 2]], r"\(\.\.\., 4\)"),
    ],
)
def test_bad_boxes_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        vision.box_iou(bad, [[0.0, 0, 1, 1]])


# -- NMS against onnxruntime ------------------------------------------------------------


def _ort_nms(boxes, scores, iou_threshold, score_threshold=None, max_per_class=10**6):
    """Run ONNX NonMaxSuppression (one batch, ``scores`` of shape (classes, N))."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    inputs = ["boxes", "scores", "max", "iou"] + (["score"] if score_threshold is not None else [])
    node = helper.make_node("NonMaxSuppression", inputs, ["selected"], center_point_box=0)
    graph = helper.make_graph(
        [node],
        "nms",
        [
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, None, 4]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, None, None]),
            helper.make_tensor_value_info("max", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("iou", TensorProto.FLOAT, [1]),
        ]
        + (
            [helper.make_tensor_value_info("score", TensorProto.FLOAT, [1])]
            if score_threshold is not None
            else []
        ),
        [helper.make_tensor_value_info("selected", TensorProto.INT64, [None, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {
        "boxes": boxes[None].astype(np.float32),
        "scores": scores[None].astype(np.float32),
        "max": np.array([max_per_class], np.int64),
        "iou": np.array([iou_threshold], np.float32),
    }
    if score_threshold is not None:
        feed["score"] = np.array([score_threshold], np.float32)
    return session.run(None, feed)[0]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("iou_threshold", [0.0, 0.3, 0.5, 0.7])
@pytest.mark.parametrize("path", ["sparse", "dense"])
def test_nms_equals_onnxruntime_on_random_boxes(seed, iou_threshold, path, monkeypatch):
    # the pair sweep and the direct loop must agree with the reference alike
    monkeypatch.setattr(nms_module, "_PAIRS_PER_BOX", 0 if path == "dense" else 10**9)
    rng = np.random.default_rng(seed)
    boxes = _random_boxes(rng, 300).astype(np.float32)
    # coarse scores make many ties; the order among them must match
    scores = (rng.integers(0, 20, 300) / 20).astype(np.float32)
    score_threshold = [None, 0.25][seed % 2]
    ref = _ort_nms(boxes, scores[None], iou_threshold, score_threshold)[:, 2]
    ours = vision.non_max_suppression(boxes, scores, iou_threshold, score_threshold)
    np.testing.assert_array_equal(ours, ref)


def test_nms_per_class_and_top_k_equal_onnxruntime():
    rng = np.random.default_rng(7)
    boxes = _random_boxes(rng, 200).astype(np.float32)
    classes = rng.integers(0, 3, 200)
    scores = rng.uniform(0, 1, 200).astype(np.float32)
    per_class = np.zeros((3, 200), np.float32)  # boxes of other classes score 0: below threshold
    per_class[classes, np.arange(200)] = scores
    ref = _ort_nms(boxes, per_class, 0.4, 0.0, max_per_class=5)
    ours = vision.non_max_suppression(boxes, scores, 0.4, 0.0, max_output_size=5, classes=classes)
    for c in range(3):
        want = ref[ref[:, 1] == c, 2]
        got = ours[classes[ours] == c]
        np.testing.assert_array_equal(got, want)
    # the coordinate-offset path without a cap gives the same sets
    ref = _ort_nms(boxes, per_class, 0.4, 0.0)
    ours = vision.non_max_suppression(boxes, scores, 0.4, 0.0, classes=classes)
    assert sorted(ours.tolist()) == sorted(ref[:, 2].tolist())


def test_nms_threshold_edges_by_hand():
    # IoU exactly 0.5 is not greater than 0.5: both survive; a strict score threshold
    boxes = np.array([[0.0, 0, 2, 1], [1, 0, 3, 1], [0, 0, 2, 1]])
    assert vision.non_max_suppression(boxes[:2], [0.9, 0.8], 1 / 3).tolist() == [0, 1]
    assert vision.non_max_suppression(boxes[:2], [0.9, 0.8], 0.33).tolist() == [0]
    assert vision.non_max_suppression(boxes, [0.5, 0.5, 0.5], 0.5).tolist() == [0, 1]
    assert vision.non_max_suppression(
        boxes, [0.5, 0.6, 0.7], 0.9, score_threshold=0.5
    ).tolist() == [2, 1]
    assert vision.non_max_suppression(np.zeros((0, 4)), np.zeros(0)).tolist() == []


def test_nms_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        vision.non_max_suppression([[0.0, 0, 1, 1]], [float("nan")])
    with pytest.raises(ValueError, match="one score per box"):
        vision.non_max_suppression([[0.0, 0, 1, 1]], [0.1, 0.2])
    with pytest.raises(ValueError, match="x2 >= x1"):
        vision.non_max_suppression([[3.0, 0, 1, 1]], [0.1])


def test_soft_nms_by_hand_and_against_a_loop():
    boxes = np.array([[0.0, 0, 2, 1], [1, 0, 3, 1], [10, 10, 11, 11]])
    keep, scores = vision.soft_non_max_suppression(
        boxes, np.array([0.9, 0.8, 0.3]), method="linear"
    )
    # box 1 overlaps box 0 with IoU 1/3 > 0.3: its score becomes 0.8 * (1 - 1/3)
    assert keep.tolist() == [0, 1, 2]
    np.testing.assert_allclose(scores, [0.9, 0.8 * 2 / 3, 0.3])
    keep, scores = vision.soft_non_max_suppression(boxes, np.array([0.9, 0.8, 0.3]), sigma=0.5)
    np.testing.assert_allclose(scores, [0.9, 0.8 * math.exp(-(1 / 9) / 0.5), 0.3])
    # a plain loop over pairs as the reference on random boxes
    rng = np.random.default_rng(3)
    boxes = _random_boxes(rng, 40)
    s = rng.uniform(0, 1, 40)
    cur, alive, want = s.copy(), list(range(40)), []
    while alive:
        i = max(alive, key=lambda k: (cur[k], -k))
        want.append(i)
        alive.remove(i)
        for k in alive:
            cur[k] *= math.exp(
                -(vision.box_iou(boxes[i : i + 1], boxes[k : k + 1])[0, 0] ** 2) / 0.5
            )
        alive = [k for k in alive if cur[k] > 0.001]
    keep, _ = vision.soft_non_max_suppression(boxes, s)
    assert keep.tolist() == want

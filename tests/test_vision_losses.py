"""Anchors, matching, hard-negative mining, the focal loss and SSD's loss, against hand values
and the same formulas written in torch."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import losses, vision
from lapenna.applications import YOLOLoss, yolo_targets

torch = pytest.importorskip("torch")


def test_anchor_grid_by_hand():
    anchors = vision.generate_anchors((8, 8), [(2, 2), (1, 1)], [[4], [8]], [[1.0, 4.0], [1.0]])
    assert anchors.shape == (2 * 2 * 2 + 1, 4)
    np.testing.assert_allclose(anchors[0], [0, 0, 4, 4])
    # ratio 4: width 4 * 2, height 4 / 2, centred on the first cell (2, 2)
    np.testing.assert_allclose(anchors[1], [-2, 1, 6, 3])
    np.testing.assert_allclose(anchors[2], [4, 0, 8, 4])  # next column
    np.testing.assert_allclose(anchors[-1], [0, 0, 8, 8])
    with pytest.raises(ValueError, match="one entry of sizes per feature map"):
        vision.generate_anchors((8, 8), [(2, 2)], [[4], [8]], [[1.0]])


def test_matching_thresholds_and_forced_best_anchor():
    anchors = np.array([[0.0, 0, 4, 4], [0, 0, 4, 2], [10, 10, 14, 14], [20, 20, 21, 21]])
    gt = np.array([[0.0, 0, 4, 4], [19, 19, 24, 24]])
    matches, ious = vision.match_anchors(anchors, gt, 0.6, negative_threshold=0.4)
    # anchor 1 has IoU 0.5 with gt 0: between the thresholds, ignored;
    # gt 1 overlaps anchor 3 only with IoU 1/25, yet claims it as its best anchor
    assert matches.tolist() == [0, vision.IGNORED, vision.BACKGROUND, 1]
    np.testing.assert_allclose(ious, [1.0, 0.5, 0.0, 1 / 25])
    matches, _ = vision.match_anchors(anchors, np.zeros((0, 4)))
    assert (matches == vision.BACKGROUND).all()


def test_hard_negative_mining_picks_the_largest_losses():
    losses = np.array([[0.1, 0.9, 0.5, 0.7, 0.3, 0.2], [0.4, 0.4, 0.4, 0.1, 0.0, 0.0]])
    positive = np.array([[True, False, False, False, False, False], [False] * 6])
    mask = vision.hard_negative_mining(losses, positive, 2, min_negatives=1)
    assert mask.tolist() == [
        [False, True, False, True, False, False],
        [True, False, False, False, False, False],  # ties: the lower index
    ]


def _torch_focal(x, t, alpha=0.25, gamma=2.0):  # torchvision.ops.sigmoid_focal_loss
    p = torch.sigmoid(x)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    return (alpha * t + (1 - alpha) * (1 - t)) * ce * (1 - p_t) ** gamma


def test_focal_loss_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 3, (8, 5))
    t = (rng.uniform(size=(8, 5)) < 0.3).astype(np.float64)
    lp.set_floatx("float64")
    try:
        ours = lp.tensor(x, requires_grad=True)
        loss = vision.focal_loss(ours, t)
        loss.sum().backward()
    finally:
        lp.set_floatx("float32")
    ref_x = torch.tensor(x, requires_grad=True)
    ref = _torch_focal(ref_x, torch.tensor(t))
    ref.sum().backward()
    np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ours.grad.numpy(), ref_x.grad.numpy(), rtol=1e-8, atol=1e-14)
    with pytest.raises(ValueError, match="shaped like the logits"):
        vision.focal_loss(x, t[:2])


def _torch_ssd_loss(y_true, y_pred, ratio=3.0):
    labels = y_true[..., 0].long()
    logits, deltas = y_pred[..., :-4], y_pred[..., -4:]
    conf = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), labels.clamp(min=0).reshape(-1), reduction="none"
    ).reshape(labels.shape)
    pos = labels > 0
    mined = conf.detach().clone()
    mined[labels != 0] = -float("inf")
    order = torch.sort(-mined, dim=1, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(labels.shape[1]).expand_as(order))
    count = torch.minimum(pos.sum(1) * ratio, (labels == 0).sum(1))
    neg = rank < count[:, None]
    box = torch.nn.functional.smooth_l1_loss(deltas, y_true[..., 1:], reduction="none").sum(-1)
    total = (conf * (pos | neg)).sum() + (box * pos).sum()
    return total / max(1, int(pos.sum()))


def test_ssd_loss_matches_torch_in_value_and_gradient():
    rng = np.random.default_rng(4)
    anchors = vision.generate_anchors((32, 32), [(4, 4), (2, 2)], [[8], [16]], [[1.0, 2.0], [1.0]])
    targets = []
    for _ in range(3):
        xy = rng.uniform(0, 20, (2, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(5, 12, (2, 2))], 1)
        targets.append(vision.ssd_targets(anchors, boxes, rng.integers(0, 3, 2)))
    y_true = np.stack(targets).astype(np.float64)
    y_true[0, -1, 0] = -1  # an ignored anchor
    y_pred = rng.normal(0, 1, (3, len(anchors), 4 + 4))
    lp.set_floatx("float64")
    try:
        pred = lp.tensor(y_pred, requires_grad=True)
        loss = vision.SSDLoss()(y_true, pred)
        loss.backward()
    finally:
        lp.set_floatx("float32")
    ref_pred = torch.tensor(y_pred, requires_grad=True)
    ref = _torch_ssd_loss(torch.tensor(y_true), ref_pred)
    ref.backward()
    assert (y_true[..., 0] > 0).sum() >= 6
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-10)
    np.testing.assert_allclose(pred.grad.numpy(), ref_pred.grad.numpy(), rtol=1e-8, atol=1e-12)
    with pytest.raises(ValueError, match="more than the"):
        vision.SSDLoss()(y_true, y_pred[..., 2:])


def test_ssd_targets_encode_matched_boxes():
    anchors = np.array([[0.0, 0, 4, 4], [4, 4, 8, 8]])
    rows = vision.ssd_targets(anchors, [[0.0, 0, 4, 4]], [2])
    np.testing.assert_allclose(rows, [[3, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="integer labels"):
        vision.ssd_targets(anchors, [[0.0, 0, 4, 4]], [0.5])


def test_detection_losses_round_trip_through_their_config():
    rng = np.random.default_rng(9)
    anchors = vision.generate_anchors((32, 32), [(4, 4)], [[8]], [[1.0]])
    boxes = np.array([[2.0, 2, 12, 12], [16, 16, 30, 28]])
    ssd_true = vision.ssd_targets(anchors, boxes, [0, 1])[None]
    yolo_true = yolo_targets((64, 64, 3), boxes, [0, 1])[None]
    box_true = np.array([[0.0, 0, 2, 2], [1, 1, 3, 3]])
    cases = [
        (vision.SSDLoss(neg_pos_ratio=2, box_weight=0.5, reduction="sum"), ssd_true, (1, 16, 7)),
        (YOLOLoss(no_object_weight=0.3, box_weight=2.0), yolo_true, (1, 64, 7)),
        (vision.GIoULoss(reduction="sum"), box_true, (2, 4)),
    ]
    for loss, y_true, shape in cases:
        y_pred = rng.uniform(0.1, 3, shape)
        rebuilt = losses.deserialize(losses.serialize(loss))
        assert type(rebuilt) is type(loss) and rebuilt.get_config() == loss.get_config()
        assert rebuilt(y_true, y_pred).item() == loss(y_true, y_pred).item()

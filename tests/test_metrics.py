"""lapenna.metrics: values by hand and numpy, AUC against a direct trapezoid, resolution
of "accuracy", names and configs."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import losses, metrics
from lapenna.utils import get_registry

rng = np.random.default_rng(3)


def test_mean_and_sum_weight_per_sample_and_reset():
    m = metrics.Mean()
    m.update_state([1.0, 2.0, 6.0])
    assert m.result() == 3.0 and isinstance(m.result(), float)
    m.update_state([[1.0, 3.0], [10.0, 10.0]], sample_weight=[3.0, 0.0])
    # rows are averaged first: 2.0 with weight 3, 10.0 with weight 0
    assert m.result() == pytest.approx((9.0 + 6.0) / 6.0)
    m.reset_state()
    assert m.result() == 0.0 and m.total.dtype == np.float32
    s = metrics.Sum()
    s.update_state([1.0, 2.0], sample_weight=[2.0, 0.5])
    assert s.result() == 3.0


def test_accuracies_by_hand():
    assert metrics.Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]]) == 0.75
    binary = metrics.BinaryAccuracy(threshold=0.7)
    assert binary([1.0, 1.0, 0.0, 0.0], [0.8, 0.6, 0.1, 0.9]) == 0.5
    y_true = [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
    y_pred = [[0.1, 0.6, 0.3], [0.05, 0.95, 0.0], [0.5, 0.2, 0.3]]
    assert metrics.CategoricalAccuracy()(y_true, y_pred) == pytest.approx(2 / 3)
    sparse = metrics.SparseCategoricalAccuracy()
    assert sparse([[2], [1], [0]], y_pred, sample_weight=[2.0, 1.0, 1.0]) == 0.5
    top2 = metrics.TopKCategoricalAccuracy(k=2)
    assert top2(y_true, y_pred) == 1.0
    top1 = metrics.SparseTopKCategoricalAccuracy(k=1)
    assert top1([2, 1, 0], lp.tensor(y_pred)) == pytest.approx(2 / 3)
    # ties count in the target's favour
    assert metrics.SparseTopKCategoricalAccuracy(k=1)([1], [[0.5, 0.5, 0.0]]) == 1.0


def test_metrics_build_no_graph():
    pred = lp.tensor(rng.uniform(size=(4, 3)), requires_grad=True)
    m = metrics.CategoricalCrossentropy()
    m.update_state(np.eye(3)[[0, 1, 2, 0]], pred)
    assert isinstance(m.result(), float) and pred.grad is None


def _direct_counts(labels, preds, weights, threshold):
    positive = preds > threshold
    return (
        (weights * (positive & labels)).sum(),
        (weights * (positive & ~labels)).sum(),
        (weights * (~positive & ~labels)).sum(),
        (weights * (~positive & labels)).sum(),
    )


def test_precision_and_recall_against_direct_counts():
    labels = rng.integers(0, 2, (20, 3))
    preds = rng.uniform(size=(20, 3)).astype(np.float32)
    weights = rng.uniform(size=20)
    thresholds = [0.7, 0.2, 0.5]
    p = metrics.Precision(thresholds=thresholds)
    r = metrics.Recall(thresholds=thresholds)
    for m in (p, r):
        m.update_state(labels[:10], preds[:10], weights[:10])
        m.update_state(labels[10:], preds[10:], weights[10:])
    w = np.broadcast_to(weights[:, None], labels.shape)
    for i, t in enumerate(thresholds):
        tp, fp, _, fn = _direct_counts(labels.astype(bool), preds, w, t)
        assert p.result()[i] == pytest.approx(tp / (tp + fp), rel=1e-5)
        assert r.result()[i] == pytest.approx(tp / (tp + fn), rel=1e-5)


def test_precision_top_k_and_class_id():
    y_true = np.array([[0, 0, 1, 1], [1, 0, 0, 0]])
    y_pred = np.array([[0.1, 0.4, 0.35, 0.8], [0.9, 0.2, 0.3, 0.25]])
    # top-2 positives: (3, 1) in row 0 and (0, 2) in row 1; right: 3 and 0
    assert metrics.Precision(top_k=2)(y_true, y_pred) == 0.5
    assert metrics.Recall(top_k=2)(y_true, y_pred) == pytest.approx(2 / 3)
    # class 2 at threshold 0.5: predictions 0.35 and 0.3 are both negative
    assert metrics.Recall(class_id=2)(y_true, y_pred) == 0.0
    assert metrics.Precision(class_id=0)(y_true, y_pred) == 1.0
    with pytest.raises(ValueError, match=r"expects predictions in \[0, 1\]"):
        metrics.Precision()([1, 0], [2.0, 0.1])
    with pytest.raises(ValueError, match=r"thresholds must be in \[0, 1\], got 1.5"):
        metrics.Precision(thresholds=[0.5, 1.5])


def _trapezoid_roc(labels, preds, weights, thresholds):
    points = []
    for t in thresholds:
        tp, fp, tn, fn = _direct_counts(labels, preds, weights, t)
        points.append((fp / (fp + tn), tp / (tp + fn)))
    fpr, tpr = np.array(points).T
    order = np.lexsort((tpr, fpr))  # along the curve: by fpr, then tpr
    x, y = fpr[order], tpr[order]
    return float(((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2).sum())


def test_auc_roc_against_direct_trapezoid_and_sklearn():
    labels = rng.integers(0, 2, 400).astype(bool)
    preds = np.clip(rng.normal(0.35 + 0.3 * labels, 0.2), 0, 1).astype(np.float32)
    weights = rng.uniform(0.5, 2.0, 400)
    auc = metrics.AUC(num_thresholds=50)
    auc.update_state(labels[:150], preds[:150], weights[:150])
    auc.update_state(labels[150:], preds[150:], weights[150:])
    grid = [-1e-7, *[(i + 1) / 49 for i in range(48)], 1 + 1e-7]
    expected = _trapezoid_roc(labels, preds, weights, np.array(grid, dtype=np.float32))
    assert auc.result() == pytest.approx(expected, rel=1e-5)
    sklearn = pytest.importorskip("sklearn.metrics")
    fine = metrics.AUC(num_thresholds=20001)
    fine.update_state(labels, preds)
    assert fine.result() == pytest.approx(sklearn.roc_auc_score(labels, preds), abs=1e-3)


def test_auc_pr_by_hand():
    y_true, y_pred = [0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9]
    assert metrics.AUC(num_thresholds=3)(y_true, y_pred) == pytest.approx(0.75)
    # two intervals of the PR curve: precision interpolated along tp = (p + 2) / 3 gives
    # (3 + 2 ln 4) / 18, and precision 1 over the last half of recall gives 0.5
    pr = metrics.AUC(num_thresholds=3, curve="PR")(y_true, y_pred)
    assert pr == pytest.approx((3 + 2 * np.log(4)) / 18 + 0.5, rel=1e-6)
    # minoring takes the lower precision of each interval: min(0.5, 1) and min(1, 0)
    low = metrics.AUC(num_thresholds=3, curve="PR", summation_method="minoring")
    assert low(y_true, y_pred) == pytest.approx(0.5 * 0.5)
    logits = metrics.AUC(num_thresholds=3, from_logits=True)
    assert logits(y_true, [-9.0, 0.0, -0.5, 3.0]) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="curve must be 'ROC' or 'PR', got 'XY'"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="num_thresholds must be an integer > 1, got 1"):
        metrics.AUC(num_thresholds=1)


def test_mean_iou_by_hand():
    m = metrics.MeanIoU(num_classes=3)
    y_true = np.array([[0, 0, 1], [1, 2, 2]])
    y_pred = np.array([[0, 1, 1], [1, 2, 0]])
    m.update_state(y_true, y_pred)
    # class 0: tp 1, union 3; class 1: tp 2, union 3; class 2: tp 1, union 2
    assert m.result() == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    scores = np.eye(3)[y_pred]
    ignore = metrics.MeanIoU(3, ignore_class=255, sparse_y_pred=False)
    ignore.update_state(np.where(y_true == 2, 255, y_true), scores)
    # with class-2 pixels ignored: class 0 tp 1 union 2, class 1 tp 2 union 3, class 2 gone
    assert ignore.result() == pytest.approx((1 / 2 + 2 / 3) / 2)
    with pytest.raises(ValueError, match="label 3 is out of range for 3 classes"):
        m.update_state([3], [0])


def test_error_metrics():
    t = rng.uniform(size=(6, 2))
    p = rng.uniform(size=(6, 2))
    w = rng.uniform(size=6)
    per = ((t - p) ** 2).mean(-1)
    assert metrics.MeanSquaredError()(t, p, w) == pytest.approx((per * w).sum() / w.sum(), 1e-5)
    rmse = metrics.RootMeanSquaredError()
    rmse.update_state(t[:3], p[:3])
    rmse.update_state(t[3:], p[3:])
    assert rmse.result() == pytest.approx(np.sqrt(per.mean()), rel=1e-5)
    mae = metrics.MeanAbsoluteError()(t, p)
    assert mae == pytest.approx(np.abs(t - p).mean(), rel=1e-5)


def test_crossentropy_metrics_match_the_losses():
    logits = rng.standard_normal((5, 4)).astype(np.float32)
    ids = rng.integers(0, 4, 5)
    metric = metrics.SparseCategoricalCrossentropy(from_logits=True)(ids, logits)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)(ids, logits).item()
    assert metric == pytest.approx(loss, rel=1e-6)


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        ("binary_crossentropy", metrics.BinaryAccuracy),
        ("categorical_crossentropy", metrics.CategoricalAccuracy),
        ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
        (
            losses.SparseCategoricalCrossentropy(from_logits=True, name="x"),
            metrics.SparseCategoricalAccuracy,
        ),
        (losses.BinaryCrossentropy, metrics.BinaryAccuracy),
        (losses.categorical_crossentropy, metrics.CategoricalAccuracy),
        ("BinaryCrossentropy", metrics.BinaryAccuracy),
        ("mse", metrics.AutoAccuracy),
        (None, metrics.AutoAccuracy),
    ],
)
def test_accuracy_follows_the_loss(loss, expected):
    for name in ("accuracy", "acc"):
        m = metrics.resolve(name, loss=loss)
        assert type(m) is expected and m.name == name


def test_accuracy_from_shapes_at_first_update():
    cases = [
        (np.array([1, 0]), np.array([[0.8], [0.3]]), "binary", 1.0),
        (np.array([2, 0]), np.array([[0.1, 0.2, 0.7], [0.1, 0.8, 0.1]]), "sparse", 0.5),
        (np.eye(3)[[2, 1]], np.array([[0.1, 0.2, 0.7], [0.1, 0.8, 0.1]]), "categorical", 1.0),
        (np.array([[1], [2]]), np.array([[0.1, 0.2, 0.7], [0.1, 0.8, 0.1]]), "sparse", 0.0),
    ]
    for y_true, y_pred, kind, value in cases:
        m = metrics.resolve("accuracy")
        assert m(y_true, y_pred) == value and m.kind == kind
    ce = metrics.resolve("crossentropy")
    assert ce([2], [[0.25, 0.25, 0.5]]) == pytest.approx(np.log(2), rel=1e-6)
    assert ce.kind == "sparse"
    ce_loss = metrics.resolve("ce", losses.CategoricalCrossentropy(from_logits=True))
    assert isinstance(ce_loss, metrics.CategoricalCrossentropy) and ce_loss.fn_kwargs["from_logits"]


def test_get_names_metrics_as_asked():
    assert metrics.get("sparse_categorical_accuracy").name == "sparse_categorical_accuracy"
    assert isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert metrics.get("mse").name == "mse"
    assert metrics.get("AUC").name == "auc" and metrics.get("auc").name == "auc"
    assert metrics.SparseCategoricalAccuracy().name == "sparse_categorical_accuracy"
    assert metrics.MeanIoU(2).name == "mean_io_u"
    wrapped = metrics.get(metrics.binary_accuracy)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "binary_accuracy"
    with pytest.raises(ValueError, match=r"metric 'MeanIoU' needs arguments"):
        metrics.get("MeanIoU")
    with pytest.raises(ValueError, match="Unknown metrics entry"):
        metrics.get("accuracyy")


def test_config_round_trip_for_every_registered_metric():
    special = {
        "MeanMetricWrapper": {"fn": metrics.top_k_categorical_accuracy, "k": 2},
        "MeanIoU": {"num_classes": 3, "ignore_class": 0},
        "Precision": {"thresholds": [0.3, 0.6], "class_id": 1},
        "Recall": {"top_k": 2},
        "AUC": {"num_thresholds": 7, "curve": "PR", "summation_method": "majoring"},
        "BinaryAccuracy": {"threshold": 0.3},
        "TopKCategoricalAccuracy": {"k": 2},
        "SparseTopKCategoricalAccuracy": {"k": 2},
        "CategoricalCrossentropy": {"from_logits": True, "label_smoothing": 0.1},
    }
    for name, cls in get_registry("metrics").classes().items():
        metric = cls(**special.get(name, {}), name="m")
        config = metrics.serialize(metric)
        assert config["class_name"] == name
        rebuilt = metrics.deserialize(config)
        assert type(rebuilt) is cls and rebuilt.get_config() == metric.get_config()

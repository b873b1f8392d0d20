"""lapenna.losses: values against numpy and PyTorch, reductions, weights, names, configs."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import losses
from lapenna.utils import get_registry

rng = np.random.default_rng(5)
Y_TRUE = rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32)
Y_PRED = rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32)


def np_huber(t, p, delta):
    e = np.abs(p - t)
    return np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2).mean(-1)


def np_normalize(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


PER_SAMPLE = {
    "mean_squared_error": lambda t, p: ((t - p) ** 2).mean(-1),
    "mean_absolute_error": lambda t, p: np.abs(t - p).mean(-1),
    "mean_absolute_percentage_error": lambda t, p: 100 * np.abs((t - p) / t).mean(-1),
    "mean_squared_logarithmic_error": lambda t, p: ((np.log1p(p) - np.log1p(t)) ** 2).mean(-1),
    "huber_loss": lambda t, p: np_huber(t, p, 1.0),
    "log_cosh": lambda t, p: np.log(np.cosh(p - t)).mean(-1),
    "cosine_similarity": lambda t, p: -(np_normalize(t) * np_normalize(p)).sum(-1),
    "binary_crossentropy": lambda t, p: -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(-1),
    "kl_divergence": lambda t, p: (t * np.log(t / p)).sum(-1),
    "poisson": lambda t, p: (p - t * np.log(p + 1e-7)).mean(-1),
    "squared_hinge": lambda t, p: (np.maximum(1 - t * p, 0) ** 2).mean(-1),
}
CLASSES = {
    "mean_squared_error": losses.MeanSquaredError,
    "mean_absolute_error": losses.MeanAbsoluteError,
    "mean_absolute_percentage_error": losses.MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": losses.MeanSquaredLogarithmicError,
    "huber_loss": losses.Huber,
    "log_cosh": losses.LogCosh,
    "cosine_similarity": losses.CosineSimilarity,
    "binary_crossentropy": losses.BinaryCrossentropy,
    "kl_divergence": losses.KLDivergence,
    "poisson": losses.Poisson,
    "squared_hinge": losses.SquaredHinge,
}


@pytest.mark.parametrize("name", sorted(PER_SAMPLE))
def test_values_reductions_and_weights(name):
    expected = PER_SAMPLE[name](Y_TRUE.astype(np.float64), Y_PRED.astype(np.float64))
    loss = CLASSES[name]()
    assert loss.name == name
    got = loss(Y_TRUE, lp.tensor(Y_PRED))
    assert got.shape == () and got.dtype == np.float32
    np.testing.assert_allclose(got.item(), expected.mean(), rtol=1e-5)
    weights = np.array([1.0, 0.0, 2.0, 0.5])
    summed = CLASSES[name](reduction="sum")(Y_TRUE, Y_PRED, sample_weight=weights)
    np.testing.assert_allclose(summed.item(), (expected * weights).sum(), rtol=1e-5)
    per_sample = CLASSES[name](reduction="none")(Y_TRUE, Y_PRED, sample_weight=weights)
    np.testing.assert_allclose(per_sample.numpy(), expected * weights, rtol=1e-5)
    weighted_mean = CLASSES[name](reduction="mean_with_sample_weight")
    np.testing.assert_allclose(
        weighted_mean(Y_TRUE, Y_PRED, weights).item(),
        (expected * weights).sum() / weights.sum(),
        rtol=1e-5,
    )


def test_hand_computed_values():
    assert (
        losses.MeanSquaredError()([[0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 0.0]]).item() == 0.5
    )
    # Huber with delta 1: errors 0.5 -> 0.125 and 3 -> 2.5, mean 1.3125
    assert losses.Huber()([[0.0, 0.0]], [[0.5, 3.0]]).item() == pytest.approx(1.3125)
    # hinge converts 0/1 labels to -1/1: max(1 - 0.5, 0) = 0.5 and max(1 - 2, 0) = 0
    assert losses.Hinge()([[1.0, 0.0]], [[0.5, -2.0]]).item() == pytest.approx(0.25)
    # the best wrong score 0.5 trails the true 1.0 by only 0.5 of the margin
    assert losses.CategoricalHinge()([[0, 1, 0]], [[0.5, 1.0, 0.2]]).item() == pytest.approx(0.5)
    cce = losses.CategoricalCrossentropy(label_smoothing=0.1)([[0.0, 1.0]], [[0.2, 0.8]])
    assert cce.item() == pytest.approx(-(0.05 * np.log(0.2) + 0.95 * np.log(0.8)), rel=1e-6)
    bce = losses.BinaryCrossentropy(label_smoothing=0.2)([[1.0]], [[0.9]])
    assert bce.item() == pytest.approx(-(0.9 * np.log(0.9) + 0.1 * np.log(0.1)), rel=1e-6)


def test_categorical_sparse_and_logits_agree():
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    ids = rng.integers(0, 4, 6)
    probs = lp.ops.softmax(logits)
    weights = rng.uniform(0, 1, 6)
    values = [
        losses.SparseCategoricalCrossentropy(from_logits=True)(ids, logits, weights),
        losses.SparseCategoricalCrossentropy()(ids[:, None], probs, weights),
        losses.CategoricalCrossentropy(from_logits=True)(np.eye(4)[ids], logits, weights),
        losses.CategoricalCrossentropy()(np.eye(4)[ids], probs, weights),
    ]
    for v in values[1:]:
        np.testing.assert_allclose(v.item(), values[0].item(), rtol=1e-5)
    # the integer labels stay integers on the way in (no float round trip)
    assert losses.sparse_categorical_crossentropy(ids, logits).shape == (6,)


def test_ignore_class_averages_over_the_rest():
    logits = rng.standard_normal((2, 3, 4)).astype(np.float32)
    ids = np.array([[0, 255, 3], [255, 1, 2]])
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)
    keep = ids != 255
    each = lp.ops.softmax_cross_entropy(np.where(keep, ids, 0), logits, sparse=True).numpy()
    assert loss(ids, logits).item() == pytest.approx(each[keep].mean(), rel=1e-6)
    per = losses.SparseCategoricalCrossentropy(True, 255, reduction="none")(ids, logits).numpy()
    np.testing.assert_allclose(per, np.where(keep, each, 0.0), rtol=1e-6)
    with pytest.raises(ValueError, match="label 255 is out of range for 4 classes"):
        losses.SparseCategoricalCrossentropy(from_logits=True)(ids, logits)


def test_gradients_flow_to_predictions():
    pred = lp.tensor(Y_PRED, requires_grad=True)
    losses.MeanSquaredError()(Y_TRUE, pred).backward()
    np.testing.assert_allclose(pred.grad.numpy(), 2 * (Y_PRED - Y_TRUE) / Y_PRED.size, rtol=1e-5)


def test_shapes_are_matched_like_keras_or_rejected():
    y = np.array([1.0, 0.0, 1.0])
    column = np.array([[0.5], [0.5], [1.0]])
    # (N,) labels against (N, 1) predictions: one loss per sample, not an (N, N) broadcast
    assert losses.MeanSquaredError(reduction="none")(y, column).shape == (3,)
    assert losses.mse(y[:, None], column[:, 0]).shape == (3,)
    with pytest.raises(ValueError, match=r"mean_squared_error expects y_true and y_pred of the"):
        losses.MeanSquaredError()(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="use sparse_categorical_crossentropy"):
        losses.CategoricalCrossentropy()(np.array([1, 2, 0]), np.full((3, 4), 0.25))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(2,\) does not match"):
        losses.MeanSquaredError()(Y_TRUE, Y_PRED, sample_weight=np.ones(2))
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.MeanSquaredError(reduction="average")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got -0.1"):
        losses.CategoricalCrossentropy(label_smoothing=-0.1)
    with pytest.raises(ValueError, match="delta must be >= 0, got -1"):
        losses.Huber(delta=-1)


def test_sequence_losses_take_per_sample_weights():
    t = rng.uniform(size=(2, 5, 3))
    p = rng.uniform(size=(2, 5, 3))
    per = ((t - p) ** 2).mean(-1)
    got = losses.MeanSquaredError()(t, p, sample_weight=np.array([1.0, 3.0]))
    assert got.item() == pytest.approx((per * [[1.0], [3.0]]).mean(), rel=1e-5)


def test_get_resolves_names_classes_functions_and_configs():
    assert isinstance(
        losses.get("sparse_categorical_crossentropy"), losses.SparseCategoricalCrossentropy
    )
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("BinaryCrossentropy"), losses.BinaryCrossentropy)
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    loss = losses.Huber(delta=2.0)
    assert losses.get(loss) is loss
    wrapped = losses.get(losses.mean_absolute_error)
    assert isinstance(wrapped, losses.LossFunctionWrapper) and wrapped.name == "mean_absolute_error"
    assert wrapped([[0.0, 2.0]], [[1.0, 0.0]]).item() == 1.5
    again = losses.deserialize(losses.serialize(wrapped))
    assert again.fn is losses.mean_absolute_error
    assert losses.get(None) is None
    with pytest.raises(ValueError, match="Unknown losses entry 'nope'"):
        losses.get("nope")
    with pytest.raises(ValueError, match="Could not interpret loss identifier 3"):
        losses.get(3)


def test_config_round_trip_for_every_registered_loss():
    special = {
        "LossFunctionWrapper": {"fn": losses.huber, "delta": 0.5, "name": "h"},
        "Huber": {"delta": 0.5},
        "CategoricalCrossentropy": {"from_logits": True, "label_smoothing": 0.1, "axis": 1},
        "BinaryCrossentropy": {"from_logits": True, "label_smoothing": 0.2},
        "SparseCategoricalCrossentropy": {"from_logits": True, "ignore_class": -1},
        "CosineSimilarity": {"axis": 0},
    }
    registry = get_registry("losses")
    for name, cls in registry.classes().items():
        loss = cls(reduction="sum", **special.get(name, {}))
        config = losses.serialize(loss)
        assert config["class_name"] == name
        rebuilt = losses.deserialize(config)
        assert type(rebuilt) is cls and rebuilt.get_config() == loss.get_config()
        if name in ("SSDLoss", "GIoULoss", "YOLOLoss"):
            continue  # boxes and anchors: called on their inputs in tests/test_vision_*.py
        a = loss(Y_TRUE, Y_PRED) if name != "SparseCategoricalCrossentropy" else None
        if a is not None:
            assert rebuilt(Y_TRUE, Y_PRED).item() == a.item()


def test_against_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    lp.set_floatx("float64")  # numpy predictions become floatx tensors
    t, p = Y_TRUE.astype(np.float64), Y_PRED.astype(np.float64)
    tt, tp = torch.tensor(t), torch.tensor(p)
    pairs = [
        (losses.MeanSquaredError(), tf.mse_loss(tp, tt)),
        (losses.MeanAbsoluteError(), tf.l1_loss(tp, tt)),
        (losses.Huber(delta=0.7), tf.huber_loss(tp, tt, delta=0.7)),
        (losses.KLDivergence(reduction="sum"), tf.kl_div(tp.log(), tt, reduction="sum")),
        (losses.Poisson(), tf.poisson_nll_loss(tp, tt, log_input=False, eps=1e-7)),
        (losses.CosineSimilarity(), -tf.cosine_similarity(tt, tp).mean()),
        (
            losses.BinaryCrossentropy(from_logits=True),
            tf.binary_cross_entropy_with_logits(tp, tt),
        ),
    ]
    for loss, reference in pairs:
        assert loss(t, p).item() == pytest.approx(reference.item(), rel=1e-10), loss.name
    logits = rng.standard_normal((5, 4))
    ids = rng.integers(0, 4, 5)
    ours = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)(
        np.eye(4)[ids], logits
    )
    theirs = tf.cross_entropy(torch.tensor(logits), torch.tensor(ids), label_smoothing=0.2)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-10)

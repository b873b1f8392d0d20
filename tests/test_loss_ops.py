"""The fused cross-entropy ops: stability, values against numpy and PyTorch, bad input."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import ops

rng = np.random.default_rng(11)


def np_log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def onehot(ids, classes):
    return np.eye(classes)[ids]


def test_huge_logits_give_finite_losses_and_gradients():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]], dtype=np.float32)
    for labels, sparse in ((np.array([1, 0]), True), (onehot([1, 0], 3), False)):
        x = lp.tensor(logits, requires_grad=True)
        loss = ops.softmax_cross_entropy(labels, x, sparse=sparse, label_smoothing=0.1)
        loss.sum().backward()
        assert np.all(np.isfinite(loss.numpy())) and np.all(np.isfinite(x.grad.numpy()))
        # the wrong class wins by 2e4: the loss is about 2e4 (0.9 of it, plus smoothing)
        assert loss.numpy()[0] == pytest.approx(0.9 * 2e4 + 0.1 / 3 * 3e4, rel=1e-6)
    x = lp.tensor([1e4, -1e4, 0.0], requires_grad=True)
    loss = ops.binary_cross_entropy([0.0, 1.0, 1.0], x, from_logits=True)
    loss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), [1e4, 1e4, np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, -0.5], rtol=1e-6)


def test_dense_and_sparse_agree_with_numpy():
    logits = rng.standard_normal((5, 4)).astype(np.float32)
    ids = rng.integers(0, 4, 5)
    expected = -np_log_softmax(logits.astype(np.float64))[np.arange(5), ids]
    sparse = ops.softmax_cross_entropy(ids, logits, sparse=True)
    dense = ops.softmax_cross_entropy(onehot(ids, 4), logits)
    assert sparse.dtype == np.float32 and dense.dtype == np.float32
    np.testing.assert_allclose(sparse.numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(dense.numpy(), expected, rtol=1e-5)
    # a trailing size-1 label axis and integral float labels are accepted
    again = ops.softmax_cross_entropy(ids[:, None].astype(np.float32), logits, sparse=True)
    np.testing.assert_allclose(again.numpy(), expected, rtol=1e-5)


def test_gradient_is_softmax_minus_onehot():
    logits = rng.standard_normal((3, 5))
    ids = np.array([4, 0, 2])
    for sparse, labels in ((True, ids), (False, onehot(ids, 5))):
        x = lp.tensor(logits, requires_grad=True)
        ops.softmax_cross_entropy(labels, x, sparse=sparse).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), ops.softmax(logits).numpy() - onehot(ids, 5))


def test_from_probabilities_matches_keras_clipping():
    probs = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]], dtype=np.float32)
    labels = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    got = ops.softmax_cross_entropy(labels, probs, from_logits=False).numpy()
    np.testing.assert_allclose(got, [-np.log(1e-7), -np.log(0.5)], rtol=1e-5)
    sparse = ops.softmax_cross_entropy([0, 2], probs, sparse=True, from_logits=False)
    np.testing.assert_allclose(sparse.numpy(), got, rtol=1e-6)
    # unnormalized probabilities are renormalized first
    scaled = ops.softmax_cross_entropy(labels, probs * 3, from_logits=False).numpy()
    np.testing.assert_allclose(scaled, got, rtol=1e-5)
    bce = ops.binary_cross_entropy([1.0, 0.0, 1.0], [0.0, 0.0, 0.7]).numpy()
    np.testing.assert_allclose(
        bce, [-np.log(1e-7), -np.log(1 - 1e-7), -np.log(0.7)], rtol=1e-5, atol=1e-7
    )


def test_label_smoothing_on_another_axis():
    logits = rng.standard_normal((2, 4, 3))
    ids = rng.integers(0, 4, (2, 3))
    target = onehot(ids, 4).transpose(0, 2, 1) * 0.8 + 0.2 / 4
    expected = -(target * np_log_softmax(logits, axis=1)).sum(axis=1)
    dense = ops.softmax_cross_entropy(
        onehot(ids, 4).transpose(0, 2, 1), logits, axis=1, label_smoothing=0.2
    )
    sparse = ops.softmax_cross_entropy(ids, logits, axis=1, sparse=True, label_smoothing=0.2)
    np.testing.assert_allclose(dense.numpy(), expected)
    np.testing.assert_allclose(sparse.numpy(), expected)


def test_bad_labels_are_named():
    logits = np.zeros((3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"label 7 is out of range for 4 classes"):
        ops.softmax_cross_entropy([0, 7, 1], logits, sparse=True)
    with pytest.raises(ValueError, match=r"label -1 is out of range"):
        ops.softmax_cross_entropy([0, -1, 1], logits, sparse=True)
    with pytest.raises(ValueError, match=r"expects integer labels of shape \(3,\)"):
        ops.softmax_cross_entropy([0, 1], logits, sparse=True)
    with pytest.raises(ValueError, match="integer class ids"):
        ops.softmax_cross_entropy([0.5, 1, 2], logits, sparse=True)
    with pytest.raises(ValueError, match=r"labels shaped like the predictions \(3, 4\)"):
        ops.softmax_cross_entropy(np.zeros((3, 5)), logits)
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        ops.binary_cross_entropy(np.zeros((3, 4)), logits, label_smoothing=1.5)


def test_against_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    logits = rng.standard_normal((6, 5))
    ids = rng.integers(0, 5, 6)
    soft = rng.dirichlet(np.ones(5), 6)
    for labels, sparse, torch_labels in (
        (ids, True, torch.tensor(ids)),
        (soft, False, torch.tensor(soft)),
    ):
        for smoothing in (0.0, 0.3):
            x = lp.tensor(logits, requires_grad=True)
            ops.softmax_cross_entropy(
                labels, x, sparse=sparse, label_smoothing=smoothing
            ).sum().backward()
            tx = torch.tensor(logits, requires_grad=True)
            loss = tf.cross_entropy(tx, torch_labels, reduction="none", label_smoothing=smoothing)
            loss.sum().backward()
            np.testing.assert_allclose(
                ops.softmax_cross_entropy(
                    labels, logits, sparse=sparse, label_smoothing=smoothing
                ).numpy(),
                loss.detach().numpy(),
                rtol=1e-10,
            )
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    z = rng.uniform(0, 1, (4, 3))
    x = lp.tensor(logits[:4, :3] * 5, requires_grad=True)
    ops.binary_cross_entropy(z, x, from_logits=True).sum().backward()
    tx = torch.tensor(logits[:4, :3] * 5, requires_grad=True)
    tf.binary_cross_entropy_with_logits(tx, torch.tensor(z), reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    p = rng.uniform(0.05, 0.95, (4, 3))
    np.testing.assert_allclose(
        ops.binary_cross_entropy(z, p).numpy(),
        tf.binary_cross_entropy(torch.tensor(p), torch.tensor(z), reduction="none").numpy(),
        rtol=1e-10,
    )

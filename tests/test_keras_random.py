"""``keras.random`` through ``import lapenna as keras``: Keras 3's signatures, dtypes and
ranges (compared with real Keras), and reproducibility from lapenna's seeded generator."""

import numpy as np
import pytest

import lapenna as lp
from lapenna.testing.keras_reference import keras_module


@pytest.fixture(scope="module")
def keras():
    return keras_module()


def _np(x):
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def _keras_np(x):
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)


CASES = [
    ("normal", ((2000,),), {"mean": 2.0, "stddev": 0.5}),
    ("normal", ((3, 4),), {"dtype": "float64"}),
    ("truncated_normal", ((2000,),), {"mean": -1.0, "stddev": 2.0}),
    ("uniform", ((2000,),), {"minval": -3.0, "maxval": 5.0}),
    ("uniform", ((2, 3, 4),), {}),
    ("randint", ((2000,), 3, 9), {}),
    ("randint", ((5, 2), 0, 4), {"dtype": "int64"}),
]


@pytest.mark.parametrize("name, args, kwargs", CASES)
def test_draws_match_keras_in_shape_dtype_and_range(keras, name, args, kwargs):
    ours = _np(getattr(lp.random, name)(*args, seed=3, **kwargs))
    theirs = _keras_np(getattr(keras.random, name)(*args, seed=3, **kwargs))
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype
    if ours.size >= 1000:  # same distribution: ranges and first moments agree
        assert ours.min() >= theirs.min() - 0.2 * theirs.std() or name == "normal"
        assert abs(ours.mean() - theirs.mean()) < 0.15 * max(theirs.std(), 1)
        assert abs(ours.std() - theirs.std()) < 0.1 * theirs.std()
    if name == "uniform":
        lo, hi = kwargs.get("minval", 0.0), kwargs.get("maxval", 1.0)
        assert ours.min() >= lo and ours.max() < hi
    if name == "randint":
        assert ours.min() >= args[1] and ours.max() < args[2]
        if ours.size >= 1000:
            assert set(np.unique(ours)) == set(range(args[1], args[2]))
    if name == "truncated_normal":
        mean, stddev = kwargs["mean"], kwargs["stddev"]
        assert np.abs(ours - mean).max() <= 2 * stddev + 1e-6
        assert np.abs(theirs - mean).max() <= 2 * stddev + 1e-6


def test_seeds_make_draws_reproducible():
    same = [lp.random.normal((3, 2), seed=5).numpy() for _ in range(2)]
    np.testing.assert_array_equal(*same)  # an int seed gives the same numbers each call
    assert not np.array_equal(same[0], lp.random.normal((3, 2), seed=6).numpy())
    lp.set_seed(11)
    first = [lp.random.uniform((4,)).numpy(), lp.random.randint((4,), 0, 100).numpy()]
    assert not np.array_equal(first[0], lp.random.uniform((4,)).numpy())  # the stream moves on
    lp.utils.set_random_seed(11)
    again = [lp.random.uniform((4,)).numpy(), lp.random.randint((4,), 0, 100).numpy()]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    stream = lp.random.SeedGenerator(42)
    draws = [lp.random.normal((3,), seed=stream).numpy() for _ in range(2)]
    assert not np.array_equal(*draws)
    replay = lp.random.SeedGenerator(42)
    np.testing.assert_array_equal(lp.random.normal((3,), seed=replay).numpy(), draws[0])


def test_shuffle_permutes_along_an_axis_like_keras(keras):
    x = np.arange(24, dtype="float32").reshape(6, 4)
    ours = lp.random.shuffle(x, seed=1).numpy()
    theirs = _keras_np(keras.random.shuffle(x, seed=1))
    assert ours.shape == theirs.shape == x.shape and ours.dtype == theirs.dtype
    for result in (ours, theirs):  # the same rows in another order, each kept whole
        assert not np.array_equal(result, x)
        np.testing.assert_array_equal(result[np.argsort(result[:, 0])], x)
    # along axis 1 lapenna moves whole columns (as numpy and JAX); Keras's torch backend
    # permutes each row separately there, so only the multiset of each row is shared
    columns = lp.random.shuffle(x, axis=1, seed=3).numpy()
    assert not np.array_equal(columns, x)
    np.testing.assert_array_equal(columns[:, np.argsort(columns[0])], x)
    np.testing.assert_array_equal(
        np.sort(columns, axis=1),
        np.sort(_keras_np(keras.random.shuffle(x, axis=1, seed=3)), axis=1),
    )
    np.testing.assert_array_equal(
        lp.random.shuffle(x, seed=1).numpy(), lp.random.shuffle(x, seed=1).numpy()
    )
    assert not np.array_equal(lp.random.shuffle(np.arange(50), seed=1).numpy(), np.arange(50))
    t = lp.tensor(x, requires_grad=True)
    (
        lp.random.shuffle(t, seed=2) * lp.tensor(np.arange(6, dtype="float32")[:, None])
    ).sum().backward()
    assert sorted(t.grad.numpy()[:, 0].tolist()) == [0, 1, 2, 3, 4, 5]  # gradients follow the rows


def test_dropout_scales_kept_entries_like_keras(keras):
    x = np.full((200, 50), 2.0, dtype="float32")
    ours = lp.random.dropout(x, 0.25, seed=4).numpy()
    theirs = _keras_np(keras.random.dropout(keras.ops.convert_to_tensor(x), 0.25, seed=4))
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert set(np.unique(ours)) == set(np.unique(theirs)) == {0.0, np.float32(2.0 / 0.75)}
    assert abs((ours == 0).mean() - 0.25) < 0.02
    masked = lp.random.dropout(x, 0.5, noise_shape=(200, 1), seed=4).numpy()
    assert all(len(set(row)) == 1 for row in masked)  # whole rows kept or dropped


def test_bad_arguments_name_what_came():
    with pytest.raises(
        ValueError, match="seed must be None, a non-negative int or a SeedGenerator, got 'a'"
    ):
        lp.random.normal((2,), seed="a")
    with pytest.raises(ValueError, match="dtype must be an integer type, got float32"):
        lp.random.randint((2,), 0, 3, dtype="float32")
    with pytest.raises(ValueError, match="minval must be below maxval, got 5 and 5"):
        lp.random.randint((2,), 5, 5)
    with pytest.raises(ValueError, match="shape must be a tuple of ints, got 'ab'"):
        lp.random.uniform("ab")
    with pytest.raises(ValueError, match="dtype must be a float type, got int32"):
        lp.random.normal((2,), dtype="int32")

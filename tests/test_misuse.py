"""Misuse that used to pass silently or fail in numpy's words: each raises a clear error
naming what was expected and what came, before any state changes."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers, ops


def _bn_model():
    inputs = layers.Input((6, 6, 1))
    h = layers.BatchNormalization()(layers.Conv2D(2, 3)(inputs))
    model = lp.Model(inputs, layers.Dense(3, activation="softmax")(layers.Flatten()(h)))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def _data(n=8):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 6, 6, 1)).astype(np.float32), rng.integers(0, 3, n)


def _unchanged(model, before):
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_set_floatx_none_is_refused_and_changes_nothing():
    before = lp.floatx()
    with pytest.raises(ValueError, match="got None"):
        lp.set_floatx(None)
    assert lp.floatx() == before


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"batch_size": 0}, "batch_size must be an int >= 1, got 0"),
        ({"batch_size": 2.0}, "batch_size"),
        ({"steps_per_epoch": 0}, "steps_per_epoch must be an int >= 1, got 0"),
        ({"epochs": -1}, "epochs must be an int >= 1, got -1"),
        ({"epochs": 0}, "epochs must be an int >= 1, got 0"),
        ({"epochs": 2.5}, "epochs must be an int >= 1, got 2.5"),
        ({"epochs": True}, "epochs"),
        ({"validation_freq": 0}, "validation_freq"),
        ({"initial_epoch": -2}, "initial_epoch"),
    ],
)
def test_bad_fit_counts_are_refused_before_training(kwargs, named):
    model = _bn_model()
    before = model.get_weights()
    x, y = _data()
    with pytest.raises(ValueError, match=named):
        model.fit(x, y, verbose=0, **{"epochs": 1, **kwargs})
    _unchanged(model, before)
    assert model.optimizer.iterations == 0


def test_empty_x_is_refused():
    model = _bn_model()
    with pytest.raises(ValueError, match="x is empty"):
        model.fit(np.zeros((0, 6, 6, 1), np.float32), np.zeros((0,), np.int64), verbose=0)


def test_labels_of_the_wrong_shape_leave_batch_norm_statistics_alone():
    model = _bn_model()
    before = model.get_weights()  # moving mean and variance included
    x, _ = _data()
    wrong = np.zeros((8, 5, 2), np.float32)
    with pytest.raises(ValueError, match="targets y do not fit the outputs"):
        model.fit(x, wrong, verbose=0)
    _unchanged(model, before)


def test_validation_data_of_the_wrong_size_is_named_before_the_first_epoch():
    model = _bn_model()
    before = model.get_weights()
    x, y = _data()
    val = (np.zeros((4, 7, 7, 1), np.float32), np.zeros(4, np.int64))
    with pytest.raises(ValueError, match=r"validation_data's x does not fit .* \(7, 7, 1\)"):
        model.fit(x, y, validation_data=val, verbose=0)
    _unchanged(model, before)


def test_string_labels_are_named_with_a_remedy():
    model = _bn_model()
    x, _ = _data(4)
    with pytest.raises(ValueError, match=r"y holds strings .*numpy.unique"):
        model.fit(x, np.array(["cat", "dog", "cat", "fox"]), verbose=0)


def test_ragged_lists_are_named():
    model = lp.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="ragged"):
        model.fit([[1.0, 2.0], [3.0]], [1.0, 2.0], verbose=0)
    with pytest.raises(ValueError, match="ragged"):
        ops.sum([[1.0, 2.0], [3.0]])


def test_ops_on_strings_say_so():
    with pytest.raises(TypeError, match="Tensor expects numbers.*strings"):
        ops.sum(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="Tensor expects numbers"):
        lp.Tensor(np.array([object()]))


@pytest.mark.parametrize("method", ["evaluate", "predict"])
@pytest.mark.parametrize(
    ("kwargs", "named"), [({"batch_size": 0}, "batch_size"), ({"steps": 0}, "steps")]
)
def test_evaluate_and_predict_refuse_zero_batches(method, kwargs, named):
    model = _bn_model()
    x, y = _data()
    args = (x, y) if method == "evaluate" else (x,)
    with pytest.raises(ValueError, match=f"{method}: {named} must be an int >= 1, got 0"):
        getattr(model, method)(*args, verbose=0, **kwargs)

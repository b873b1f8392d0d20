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


# fit's checks of arrays run on the first batch of a Dataset, a generator or a PyDataset:
# the same message, before any weight or moving statistic changes
class _Batches:  # a keras.utils.PyDataset-style source
    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        return self.batches[index]


def _source(kind, x, y, batch=4):
    batches = [(x[i : i + batch], y[i : i + batch]) for i in range(0, len(x), batch)]
    if kind == "dataset":
        return lp.data.Dataset.from_tensor_slices((x, y)).batch(batch)
    if kind == "generator":
        return (b for b in batches)
    return _Batches(batches)


def _bad_case(case):
    x, y = _data()
    if case == "labels_of_the_wrong_shape":
        return x, np.zeros((8, 5, 2), np.float32)
    if case == "string_labels":
        return x, np.array(["cat", "dog", "cat", "fox"] * 2)
    if case == "inputs_of_the_wrong_size":
        return np.zeros((8, 7, 7, 1), np.float32), y
    x[:2, 0, 0, 0] = np.nan  # in the first batch
    return x, y


def _message(call):
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize("kind", ["dataset", "generator", "pydataset"])
@pytest.mark.parametrize(
    "case", ["labels_of_the_wrong_shape", "string_labels", "inputs_of_the_wrong_size", "nan"]
)
def test_batch_sources_get_the_checks_of_arrays_before_any_state_changes(kind, case):
    x, y = _bad_case(case)
    model = _bn_model()
    before = model.get_weights()  # moving mean and variance included
    expected = _message(lambda: model.fit(x, y, batch_size=4, verbose=0))
    source = _source(kind, x, y)
    message = _message(lambda: model.fit(source, steps_per_epoch=2, verbose=0))
    assert message == expected
    _unchanged(model, before)
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("kind", ["dataset", "generator", "pydataset"])
def test_validation_batch_sources_are_checked_before_the_first_epoch(kind):
    x, y = _data()
    model = _bn_model()
    before = model.get_weights()
    val_x, val_y = np.zeros((4, 7, 7, 1), np.float32), np.zeros(4, np.int64)
    expected = _message(lambda: model.fit(x, y, validation_data=(val_x, val_y), verbose=0))
    assert "validation_data's x does not fit" in expected
    message = _message(
        lambda: model.fit(x, y, validation_data=_source(kind, val_x, val_y), verbose=0)
    )
    assert message == expected
    _unchanged(model, before)


def test_a_checked_generator_loses_no_batch_and_a_peeked_dataset_no_random_draw():
    x, y = _data()
    lp.set_seed(4)
    model = _bn_model()
    shuffled = lp.data.Dataset.from_tensor_slices((x, y)).shuffle(8).batch(4)
    val = ((x[i : i + 4], y[i : i + 4]) for i in range(0, 8, 4))
    history = model.fit(x, y, batch_size=4, validation_data=val, verbose=0)
    # the validation generator's first batch, drawn to check it, is still evaluated
    want = model.evaluate(x, y, batch_size=8, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(want, rel=1e-6)
    # peeking at a shuffled validation Dataset leaves the shuffle stream where it was
    lp.set_seed(4)
    first = [b[1].tolist() for b in shuffled]
    lp.set_seed(4)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, validation_data=shuffled, verbose=0)
    lp.set_seed(4)
    assert [b[1].tolist() for b in shuffled] == first

"""The tree rule and the one data adapter: every kind of source trains the same model the
same way."""

import math

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.data import adapter
from lapenna.utils import tree


def test_one_rule_for_lists():
    a, b = np.zeros((4, 3)), np.ones((4, 2))
    assert tree.flatten([a, b])[1] is b  # a list of arrays is structure
    assert tree.flatten([[1.0, 2.0], [3.0, 4.0]]) == [[[1.0, 2.0], [3.0, 4.0]]]  # data
    assert tree.flatten((1, 2)) == [1, 2]  # tuples are always structure
    nested = ({"k": [a, b]}, [None, "s"], ["x", "y"])
    assert tree.pack_like(nested, tree.flatten(nested))[0]["k"][1] is b
    assert tree.map_structure(lambda v: 0, nested) == ({"k": [0, 0]}, [0, 0], 0)
    assert tree.signature([a, b]) != tree.signature((a, b))
    with pytest.raises(ValueError, match="3 leaves, got 2"):
        tree.pack_like((1, [a, b]), [1, 2])


def test_the_rooms_agree_on_lists():
    x = [np.arange(6.0).reshape(3, 2), np.arange(3.0)]
    ds = lp.data.as_dataset(x, np.arange(3), batch_size=2)
    bx, by = next(iter(ds))
    assert isinstance(bx, list) and [v.shape for v in bx] == [(2, 2), (2,)]
    assert lp.data.Dataset.from_tensor_slices([[1.0, 2.0], [3.0, 4.0]]).element_spec.shape == (2,)
    batches = adapter.make_batches(x, np.arange(3), batch_size=2)
    assert [v.shape for v in next(batches.epoch())[0]] == [(2, 2), (2,)]


def _two_input_model():
    lp.set_seed(3)
    a, b = layers.Input((3,), name="a"), layers.Input((2,), name="b")
    h = layers.Concatenate()([a, b])
    model = lp.Model([a, b], layers.Dense(2, activation="softmax")(h))
    model.compile(optimizer=lp.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    return model


def _data(n=12):
    rng = np.random.default_rng(0)
    x1 = rng.standard_normal((n, 3)).astype(np.float32)
    x2 = rng.standard_normal((n, 2)).astype(np.float32)
    return x1, x2, (x1[:, 0] > 0).astype(np.int64)


class _Batches:
    """A ``keras.utils.PyDataset``-style object: ``__len__`` and ``__getitem__`` only."""

    def __init__(self, x1, x2, y, batch_size):
        self.parts, self.batch_size, self.epochs_ended = (x1, x2, y), batch_size, 0

    def __len__(self):
        return math.ceil(len(self.parts[2]) / self.batch_size)

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        x1, x2, y = (p[s] for p in self.parts)
        return [x1, x2], y

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_every_source_trains_alike():
    x1, x2, y = _data()

    def trained(x, y=None, **kwargs):
        model = _two_input_model()
        model.fit(x, y, epochs=2, verbose=0, shuffle=False, **kwargs)
        return [w.copy() for w in model.get_weights()]

    reference = trained([x1, x2], y, batch_size=4)
    assert not np.allclose(reference[0], _two_input_model().get_weights()[0])

    def generator():
        for _ in range(2):
            for i in range(0, 12, 4):
                yield (x1[i : i + 4], x2[i : i + 4]), y[i : i + 4]

    sequence = _Batches(x1, x2, y, 4)
    sources = {
        "tuple of arrays": trained((x1, x2), y, batch_size=4),
        "Dataset": trained(lp.data.as_dataset([x1, x2], y, batch_size=4)),
        "generator": trained(generator(), steps_per_epoch=3),
        "PyDataset-style": trained(sequence),
    }
    assert sequence.epochs_ended == 2
    for name, weights in sources.items():
        for got, want in zip(weights, reference):
            np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=name)


def test_dict_inputs_and_keras_pydataset():
    keras = pytest.importorskip("keras")
    x1, x2, y = _data()
    names = ["a", "b"]
    model = _two_input_model()

    class Keyed(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            s = slice(4 * i, 4 * i + 4)
            return {names[0]: x1[s], names[1]: x2[s]}, y[s]

    model.fit(Keyed(), epochs=2, verbose=0)
    by_pydataset = model.get_weights()
    model = _two_input_model()
    model.fit({names[0]: x1, names[1]: x2}, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for got, want in zip(model.get_weights(), by_pydataset):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert model.predict(Keyed(), verbose=0).shape == (12, 2)


def test_validation_split_is_keras_rule():
    array_slicing = pytest.importorskip("keras.src.trainers.data_adapters.array_slicing")
    for n in (7, 10, 33):
        x = np.arange(n)
        for fraction in (0.1, 0.25, 0.3, 0.5):
            ((ours, none), _), (keras_train, _) = (
                adapter.split_validation((x, None), fraction),
                array_slicing.train_validation_split((x,), fraction),
            )
            assert none is None and len(ours) == len(keras_train[0]), (n, fraction)


def test_bad_sources_are_refused_first():
    x1, x2, y = _data()
    model = _two_input_model()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="y must not be given"):
        model.fit(_Batches(x1, x2, y, 4), y, verbose=0)
    with pytest.raises(ValueError, match="validation_split needs arrays"):
        model.fit(_Batches(x1, x2, y, 4), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit([x1, x2[:5]], y, verbose=0)
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("module", [tree, adapter])
def test_docstring_examples(module):
    import doctest

    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def _generator_model():
    lp.set_seed(0)
    model = lp.Sequential([lp.layers.Input((4,)), lp.layers.Dense(2)])
    model.compile(optimizer=lp.optimizers.SGD(0.1), loss="mse")
    return model


def _five_batches():
    rng = np.random.default_rng(3)
    return [(rng.standard_normal((3, 4)), rng.standard_normal((3, 2))) for _ in range(5)]


def test_a_generator_without_steps_per_epoch_runs_until_it_is_exhausted():
    batches = _five_batches()
    model, reference = _generator_model(), _generator_model()
    history = model.fit((b for b in batches), epochs=1, verbose=0)
    x, y = (np.concatenate(parts) for parts in zip(*batches))
    reference.fit(x, y, batch_size=3, shuffle=False, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    loss = model.evaluate((b for b in batches), verbose=0)
    np.testing.assert_allclose(loss, reference.evaluate(x, y, batch_size=3, verbose=0), rtol=1e-6)
    assert model.predict((b[0] for b in batches), verbose=0).shape == (15, 2)


def test_an_exhausted_generator_ends_training_with_keras_warning():
    model = _generator_model()
    with pytest.warns(UserWarning, match="ran out of data; interrupting training"):
        history = model.fit((b for b in _five_batches()), epochs=3, verbose=1)
    assert len(history.history["loss"]) == 1

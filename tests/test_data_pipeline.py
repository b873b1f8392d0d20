"""The Dataset pipeline: structure, sizes, transformations, shuffling and determinism."""

import time

import numpy as np
import pytest

import lapenna as lp
from lapenna.data import INFINITE, UNKNOWN, ArraySpec, Dataset, split, unpack_x_y_sample_weight


def _values(dataset):
    return [int(element) for element in dataset]


def test_from_tensor_slices_mirrors_tuples_and_dicts():
    x, y = np.arange(12, dtype=np.float32).reshape(6, 2), np.arange(6)
    ds = Dataset.from_tensor_slices(({"a": x, "b": x * 2}, y))
    first = next(iter(ds))
    assert isinstance(first, tuple) and set(first[0]) == {"a", "b"}
    np.testing.assert_array_equal(first[0]["b"], [0.0, 2.0])
    assert first[0]["a"].dtype == np.float32 and isinstance(first[1], np.ndarray)
    assert first[1].shape == ()
    assert len(ds) == 6
    assert ds.element_spec == ({"a": ArraySpec((2,), np.dtype("float32")),
                                "b": ArraySpec((2,), np.dtype("float32"))},
                               ArraySpec((), y.dtype))  # fmt: skip


def test_slices_are_copies_so_maps_cannot_corrupt_the_source():
    x = np.zeros((3, 2), np.float32)
    for element in Dataset.from_tensor_slices(x):
        element += 1
    assert not x.any()


def test_lists_become_floatx_arrays_and_bad_inputs_raise():
    ds = Dataset.from_tensor_slices([[1.0, 2.0], [3.0, 4.0]])
    assert next(iter(ds)).dtype == np.float32
    with pytest.raises(ValueError, match="same first dimension"):
        Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="at least one axis"):
        Dataset.from_tensor_slices(np.float32(1.0))


def test_batch_sizes_remainder_and_cardinality():
    ds = Dataset.range(10)
    assert [b.tolist() for b in ds.batch(4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(ds.batch(4)) == 3 and len(ds.batch(4, drop_remainder=True)) == 2
    assert [b.shape for b in ds.batch(4, drop_remainder=True)] == [(4,), (4,)]
    assert ds.batch(4).element_spec == ArraySpec((None,), np.dtype("int64"))


def test_batch_of_the_element_path_matches_the_index_path():
    x = np.random.default_rng(0).random((11, 3)).astype(np.float32)
    fast = Dataset.from_tensor_slices((x, np.arange(11))).shuffle(11, seed=4).batch(4)
    slow = (
        Dataset.from_tensor_slices((x, np.arange(11)))
        .map(lambda a, b: (a, b))
        .shuffle(11, seed=4)
        .batch(4)
    )
    for (xa, ya), (xb, yb) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_batch_of_ragged_elements_names_the_shapes():
    ds = Dataset.from_generator(lambda: iter([np.zeros(2), np.zeros(3)])).batch(2)
    with pytest.raises(ValueError, match=r"Dataset.batch: component 0 has different shapes"):
        list(ds)


def test_unbatch_inverts_batch():
    ds = Dataset.from_tensor_slices((np.arange(7), np.arange(7) * 10)).batch(3).unbatch()
    assert [(int(a), int(b)) for a, b in ds] == [(i, 10 * i) for i in range(7)]
    with pytest.raises(TypeError, match="unknown"):
        len(ds)


def test_map_spreads_tuples_and_converts_outputs():
    ds = Dataset.from_tensor_slices((np.arange(4), np.ones(4, np.float32)))
    out = list(ds.map(lambda a, b: {"sum": a + b, "const": 0.5}))
    assert out[2]["sum"] == 3.0 and out[2]["const"].dtype == np.float32


def test_parallel_map_keeps_input_order():
    rng = np.random.default_rng(0)
    delays = rng.random(40) * 0.002

    def slow_square(i):
        time.sleep(delays[int(i)])
        return i * i

    ds = Dataset.range(40).map(slow_square, num_parallel_calls=4)
    assert _values(ds) == [i * i for i in range(40)]
    assert len(ds) == 40
    with pytest.raises(ValueError, match="num_parallel_calls"):
        Dataset.range(3).map(abs, num_parallel_calls=0)


def test_filter_take_skip_repeat_concatenate_enumerate():
    ds = Dataset.range(10)
    assert _values(ds.filter(lambda v: v % 3 == 0)) == [0, 3, 6, 9]
    assert ds.filter(lambda v: v > 2).cardinality() == UNKNOWN
    assert _values(ds.take(3)) == [0, 1, 2] and _values(ds.skip(8)) == [8, 9]
    assert _values(ds.take(-1)) == list(range(10)) and _values(ds.skip(-1)) == []
    assert _values(ds.take(2).repeat(3)) == [0, 1] * 3
    forever = ds.repeat()
    assert forever.cardinality() == INFINITE and _values(forever.take(12)) == list(range(10)) + [
        0,
        1,
    ]
    with pytest.raises(TypeError, match="infinite"):
        len(forever)
    assert _values(ds.take(2).concatenate(ds.skip(8))) == [0, 1, 8, 9]
    assert [(int(i), int(v)) for i, v in ds.skip(5).take(2).enumerate()] == [(0, 5), (1, 6)]
    assert _values(Dataset.from_generator(lambda: iter([])).repeat()) == []


def test_generic_take_skip_repeat_on_generators():
    gen = Dataset.from_generator(lambda: iter(range(6)))
    assert _values(gen.take(2)) == [0, 1] and _values(gen.skip(4)) == [4, 5]
    assert _values(gen.repeat(2)) == list(range(6)) * 2
    with pytest.raises(TypeError, match="unknown"):
        len(gen)


def test_zip_tuple_and_dict_stop_at_the_shortest():
    a, b = Dataset.range(5), Dataset.range(3).map(lambda v: v * 2)
    assert [(int(x), int(y)) for x, y in Dataset.zip(a, b)] == [(0, 0), (1, 2), (2, 4)]
    assert len(Dataset.zip((a, Dataset.range(3)))) == 3
    pairs = list(Dataset.zip({"x": a, "y": Dataset.range(2)}))
    assert [int(p["y"]) for p in pairs] == [0, 1]
    with pytest.raises(TypeError):
        Dataset.zip(np.arange(3))


def test_concatenate_checks_structure():
    mixed = Dataset.range(2).concatenate(Dataset.from_tensor_slices((np.arange(2), np.arange(2))))
    with pytest.raises(ValueError, match="same element structure"):
        list(mixed)


def test_cache_runs_the_map_once_and_freezes_elements():
    calls = []

    def record(v):
        calls.append(int(v))
        return v

    ds = Dataset.range(4).map(record).cache()
    assert _values(ds) == _values(ds) == [0, 1, 2, 3]
    assert calls == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="read-only"):
        next(iter(ds))[...] = 5


def test_from_generator_signature_casts_and_checks():
    spec = (ArraySpec((None,), np.dtype("float32")), ArraySpec((), np.dtype("int64")))
    ds = Dataset.from_generator(lambda: iter([([1, 2], 0), ([3], 1)]), output_signature=spec)
    x, y = next(iter(ds))
    assert x.dtype == np.float32 and ds.element_spec == spec
    bad = Dataset.from_generator(lambda: iter([(np.zeros((2, 2)), 0)]), output_signature=spec)
    with pytest.raises(ValueError, match="element 0, component 0"):
        list(bad)
    with pytest.raises(TypeError, match="callable"):
        Dataset.from_generator(iter([1, 2]))


def test_shuffle_reshuffles_each_of_three_epochs():
    ds = Dataset.range(30).shuffle(30)
    epochs = [_values(ds) for _ in range(3)]
    assert all(sorted(e) == list(range(30)) for e in epochs)
    assert epochs[0] != epochs[1] and epochs[1] != epochs[2] and epochs[0] != epochs[2]
    fixed = Dataset.range(30).shuffle(30, reshuffle_each_iteration=False)
    assert _values(fixed) == _values(fixed) == _values(fixed)


def test_small_buffer_shuffle_is_a_local_permutation():
    ds = Dataset.range(50).shuffle(5, seed=1)
    out = _values(ds)
    assert sorted(out) == list(range(50)) and out != list(range(50))
    # an element can leave only after the buffer has seen it: position >= value - buffer + 1
    assert all(pos >= value - 4 for pos, value in enumerate(out))
    assert _values(Dataset.range(10).shuffle(1, seed=3)) == list(range(10))


def test_shuffle_seed_gives_the_same_epoch_sequence():
    def epochs(ds):
        return [_values(ds) for _ in range(3)]

    assert epochs(Dataset.range(20).shuffle(20, seed=7)) == epochs(
        Dataset.range(20).shuffle(20, seed=7)
    )
    assert epochs(Dataset.range(20).shuffle(20, seed=7)) != epochs(
        Dataset.range(20).shuffle(20, seed=8)
    )


def test_pipeline_is_deterministic_under_set_seed():
    images = np.random.default_rng(0).random((16, 6, 6, 1)).astype(np.float32)

    def run(seed):
        lp.set_seed(seed)
        ds = (
            Dataset.from_tensor_slices((images, np.arange(16)))
            .shuffle(8)
            .batch(4)
            .map(lambda x, y: (lp.data.augment.random_flip(x), y))
            .prefetch(2)
        )
        return [(x.copy(), y.copy()) for _ in range(2) for x, y in ds]

    a, b, c = run(3), run(3), run(4)
    assert all(np.array_equal(p[0], q[0]) and np.array_equal(p[1], q[1]) for p, q in zip(a, b))
    assert any(not np.array_equal(p[1], q[1]) for p, q in zip(a, c))


def test_element_kind_and_unpack_follow_the_fit_convention():
    x, y, w = np.zeros((4, 2)), np.zeros(4), np.ones(4)
    assert Dataset.from_tensor_slices(x).batch(2).element_kind == "x"
    assert Dataset.from_tensor_slices((x, y)).batch(2).element_kind == "x_y"
    assert Dataset.from_tensor_slices((x, y, w)).element_kind == "x_y_sample_weight"
    assert Dataset.from_tensor_slices(((x, x), y)).element_kind == "x_y"
    assert Dataset.from_tensor_slices({"a": x}).element_kind == "x"
    # computed from the first element when the pipeline has a map
    assert Dataset.from_tensor_slices(x).map(lambda v: (v, v)).batch(2).element_kind == "x_y"
    assert Dataset.from_tensor_slices(x).map(lambda v: (v, v)).batch(2).element_spec[0].shape == (
        None,
        2,
    )
    batch = next(iter(Dataset.from_tensor_slices((x, y, w)).batch(4)))
    bx, by, bw = unpack_x_y_sample_weight(batch)
    assert bx.shape == (4, 2) and bw is not None
    assert unpack_x_y_sample_weight(x)[1] is None
    with pytest.raises(ValueError, match="4 parts"):
        unpack_x_y_sample_weight((x, y, w, w))


def test_split_arrays_and_datasets():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    train, val, test = split((x, y), (0.6, 0.2, 0.2), seed=0)
    assert [len(part[1]) for part in (train, val, test)] == [6, 2, 2]
    together = np.sort(np.concatenate([train[1], val[1], test[1]]))
    np.testing.assert_array_equal(together, np.arange(10))
    np.testing.assert_array_equal(train[0][:, 0] // 2, train[1])  # rows stay paired
    assert split(y, (0.5, 0.5), seed=0)[0].tolist() == split(y, (0.5, 0.5), seed=0)[0].tolist()
    parts = split(Dataset.from_tensor_slices(y), (0.7, 0.3), seed=1)
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(_values(parts[0]) + _values(parts[1])) == list(range(10))
    gen_parts = split(Dataset.from_generator(lambda: iter(range(10))), (0.5, 0.5), shuffle=False)
    assert _values(gen_parts[0]) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="sum to 1"):
        split(y, (0.5, 0.2))
    with pytest.raises(ValueError, match="infinite"):
        split(Dataset.range(3).repeat(), (0.5, 0.5))


def test_bad_arguments_raise_clear_errors():
    ds = Dataset.range(3)
    with pytest.raises(ValueError, match="buffer_size"):
        ds.shuffle(0)
    with pytest.raises(ValueError, match="batch_size"):
        ds.batch(0)
    with pytest.raises(ValueError, match="prefetch"):
        ds.prefetch(0)
    with pytest.raises(ValueError, match="take"):
        ds.take(-2)
    with pytest.raises(ValueError, match="one bool"):
        list(Dataset.from_tensor_slices(np.zeros((2, 2))).filter(lambda v: v > 0))
    assert "cardinality=3" in repr(ds)


def test_rooms_are_exposed_on_the_package():
    assert lp.data.Dataset is Dataset and callable(lp.datasets.mnist_sample.load_data)
    assert lp.data.DatasetFormatError is lp.datasets.DatasetFormatError
    assert issubclass(lp.datasets.DatasetNotFoundError, FileNotFoundError)


def test_as_dataset_builds_what_fit_iterates():
    x, y, w = np.zeros((10, 3), np.float32), np.arange(10), np.ones(10, np.float32)
    assert lp.data.as_dataset(x, batch_size=4).element_kind == "x"
    ds = lp.data.as_dataset(x, y, w, batch_size=4, shuffle=True)
    assert len(ds) == 3 and ds.element_kind == "x_y_sample_weight"
    epochs = [np.concatenate([b[1] for b in ds]).tolist() for _ in range(2)]
    assert sorted(epochs[0]) == list(range(10)) and epochs[0] != epochs[1]
    multi = lp.data.as_dataset({"a": x, "b": x}, y, batch_size=5)
    assert set(next(iter(multi))[0]) == {"a", "b"}
    assert lp.data.as_dataset(ds) is ds
    with pytest.raises(ValueError, match="must yield"):
        lp.data.as_dataset(ds, y)
    with pytest.raises(ValueError, match="same first dimension"):
        lp.data.as_dataset(x, y[:5])


def test_split_validation_takes_the_last_fraction():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    (tx, ty), (vx, vy) = lp.data.split_validation((x, y), 0.2)
    assert ty.tolist() == list(range(8)) and vy.tolist() == [8, 9] and vx.shape == (2, 2)
    # Keras's rule, the one fit uses: floor(n * (1 - split)) samples train
    (_, ty), (_, vy) = lp.data.split_validation((x, y), 0.25)
    assert ty.tolist() == list(range(7)) and vy.tolist() == [7, 8, 9]
    train, val = lp.data.split_validation(y, 0.0)
    assert len(train) == 10 and len(val) == 0
    with pytest.raises(ValueError, match="validation_split"):
        lp.data.split_validation(y, 1.0)

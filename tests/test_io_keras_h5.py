"""Keras weight files built with h5py exactly as Keras 2 and Keras 3 lay them out."""

import json

import numpy as np
import pytest

from lapenna.io import FormatError, keras3_layer_keys, read_keras_weights

h5py = pytest.importorskip("h5py")


def _layers():
    """(name, class, [(weight name, array)]) in model order, weights in Keras layouts."""
    rng = np.random.default_rng(0)

    def w(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    return [
        ("conv2d", "Conv2D", [("kernel", w(3, 3, 1, 4)), ("bias", w(4))]),
        (
            "batch_normalization",
            "BatchNormalization",
            [("gamma", w(4)), ("beta", w(4)), ("moving_mean", w(4)), ("moving_variance", w(4))],
        ),
        # Conv2DTranspose kernel is (kh, kw, out, in): 4 channels in, 2 out
        ("conv2d_transpose", "Conv2DTranspose", [("kernel", w(3, 3, 2, 4)), ("bias", w(2))]),
        # DepthwiseConv2D kernel is (kh, kw, in, multiplier)
        (
            "depthwise_conv2d",
            "DepthwiseConv2D",
            [("depthwise_kernel", w(3, 3, 2, 1)), ("bias", w(2))],
        ),
        ("flatten", "Flatten", []),
        ("dense", "Dense", [("kernel", w(8, 3)), ("bias", w(3))]),
        ("dense_1", "Dense", [("kernel", w(3, 2)), ("bias", w(2))]),
    ]


def _names(strings):
    return np.array([s.encode() for s in strings], dtype="S")


def _write_keras2_group(group, layers):
    group.attrs["layer_names"] = _names(name for name, _, _ in layers)
    group.attrs["backend"] = "tensorflow"
    group.attrs["keras_version"] = "2.15.0"
    for name, _, weights in layers:
        layer = group.create_group(name)
        weight_names = [f"{name}/{wname}:0" for wname, _ in weights]
        layer.attrs["weight_names"] = _names(weight_names)
        for wname, (_, array) in zip(weight_names, weights):
            layer.create_dataset(wname, data=array)


def _expected(layers, include_empty=False):
    return [(n, [a for _, a in ws]) for n, _, ws in layers if ws or include_empty]


def _assert_layers(got, expected):
    assert [name for name, _ in got] == [name for name, _ in expected]
    for (name, arrays), (_, want) in zip(got, expected):
        assert len(arrays) == len(want), name
        for a, b in zip(arrays, want):
            assert a.dtype == b.dtype and a.shape == b.shape, name
            np.testing.assert_array_equal(a, b)


def test_keras2_weights_only_file(tmp_path):
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:
        _write_keras2_group(f, _layers())
    _assert_layers(read_keras_weights(path), _expected(_layers()))
    with_empty = read_keras_weights(path, include_empty=True)
    _assert_layers(with_empty, _expected(_layers(), include_empty=True))


def test_keras2_full_model_file(tmp_path):
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {}})
        f.attrs["training_config"] = json.dumps({"loss": "mse"})
        _write_keras2_group(f.create_group("model_weights"), _layers())
        opt = f.create_group("optimizer_weights")
        opt.attrs["weight_names"] = _names(["Adam/iter:0"])
        opt.create_dataset("Adam/iter:0", data=np.int64(3))
    got = read_keras_weights(path)
    _assert_layers(got, _expected(_layers()))
    kernel, bias = dict(got)["conv2d_transpose"]
    assert kernel.shape == (3, 3, 2, 4) and bias.shape == (2,)
    gamma, beta, mean, var = dict(got)["batch_normalization"]
    np.testing.assert_array_equal(var, _layers()[1][2][3][1])


def test_keras2_nested_model_weights_and_chunked_layer_names(tmp_path):
    path = tmp_path / "nested.h5"
    inner = np.arange(6, dtype=np.float32).reshape(2, 3)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names0"] = _names(["input_1", "sequential"])  # split like a long list
        f.attrs["layer_names1"] = _names(["dense_2"])
        f.create_group("input_1").attrs["weight_names"] = _names([])
        seq = f.create_group("sequential")
        seq.attrs["weight_names"] = _names(["dense/kernel:0", "dense_1/kernel:0"])
        seq.create_dataset("dense/kernel:0", data=inner)
        seq.create_dataset("dense_1/kernel:0", data=inner.T)
        d2 = f.create_group("dense_2")
        d2.attrs["weight_names"] = _names(["dense_2/kernel:0"])
        d2.create_dataset("dense_2/kernel:0", data=np.ones((3, 1), np.float64))
    got = read_keras_weights(path)
    assert [name for name, _ in got] == ["sequential", "dense_2"]
    np.testing.assert_array_equal(got[0][1][1], inner.T)
    assert got[1][1][0].dtype == np.float64


def _write_keras3_layers(group, layers, keys):
    for key, (_, _, weights) in zip(keys, layers):
        vars_group = group.create_group(key).create_group("vars")
        for i, (_, array) in enumerate(weights):
            vars_group.create_dataset(str(i), data=array)


def test_keras3_weights_file_sequential(tmp_path):
    layers = _layers()
    keys = keras3_layer_keys([cls for _, cls, _ in layers])
    assert keys == [name for name, _, _ in layers]  # Keras names by class and counter
    path = tmp_path / "model.weights.h5"
    with h5py.File(path, "w") as f:
        f.create_group("vars")
        _write_keras3_layers(f.create_group("layers"), layers, keys)
        opt = f.create_group("optimizer").create_group("vars")
        opt.create_dataset("0", data=np.int64(10))
    got = dict(read_keras_weights(path))
    assert set(got) == {name for name, _, ws in layers if ws}
    for name, _, weights in layers:
        if weights:
            _assert_layers([(name, got[name])], [(name, [a for _, a in weights])])
    assert "flatten" in dict(read_keras_weights(path, include_empty=True))


def test_keras3_natural_order_and_nested_models(tmp_path):
    path = tmp_path / "functional.weights.h5"
    with h5py.File(path, "w") as f:
        f.create_group("vars")
        top = f.create_group("layers")
        top.create_group("input_layer").create_group("vars")
        for i in (0, 2, 10, 1):
            key = "dense" if i == 0 else f"dense_{i}"
            top.create_group(key).create_group("vars").create_dataset("0", data=np.full(2, i))
        seq = top.create_group("sequential")
        seq.create_group("vars")
        inner = seq.create_group("layers").create_group("conv2d").create_group("vars")
        inner.create_dataset("0", data=np.ones((1, 1, 2, 2), np.float32))
        inner.create_dataset("1", data=np.zeros(2, np.float32))
        # a layer that owns layers as attributes (a residual block, say)
        block = top.create_group("residual_block")
        block.create_group("vars")
        block.create_group("conv_a").create_group("vars").create_dataset("0", data=np.eye(2))
    got = read_keras_weights(path)
    assert [name for name, _ in got] == [
        "dense",
        "dense_1",
        "dense_2",
        "dense_10",
        "residual_block/conv_a",
        "sequential/conv2d",
    ]
    assert [int(arrays[0][0]) for _, arrays in got[:4]] == [0, 1, 2, 10]
    assert [a.shape for a in dict(got)["sequential/conv2d"]] == [(1, 1, 2, 2), (2,)]


def test_keras3_subclassed_model_without_a_layers_group(tmp_path):
    path = tmp_path / "sub.weights.h5"
    with h5py.File(path, "w") as f:
        f.create_group("vars")
        f.create_group("dense1").create_group("vars").create_dataset("0", data=np.ones((2, 2)))
        f.create_group("optimizer").create_group("vars").create_dataset("0", data=np.int64(1))
        f.create_group("compile_metrics").create_group("vars").create_dataset("0", data=1.0)
    assert [name for name, _ in read_keras_weights(path)] == ["dense1"]


def test_keras3_layer_keys_follow_keras_snake_case():
    assert keras3_layer_keys(
        ["Dense", "DepthwiseConv2D", "Dense", "SeparableConv2D", "Conv1D", "GlobalAveragePooling2D"]
    ) == [
        "dense",
        "depthwise_conv2d",
        "dense_1",
        "separable_conv2d",
        "conv1d",
        "global_average_pooling2d",
    ]


# ---------------------------------------------------------------- hostile files


def _keras2(path, build):
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = _names(["dense"])
        layer = f.create_group("dense")
        layer.attrs["weight_names"] = _names(["dense/kernel:0"])
        build(f, layer)
    return path


def test_non_numeric_dtypes_are_refused_with_the_dataset_named(tmp_path):
    path = _keras2(
        tmp_path / "s.h5", lambda f, g: g.create_dataset("dense/kernel:0", data=[b"a", b"b"])
    )
    with pytest.raises(FormatError, match=r"s\.h5: '/dense/dense/kernel:0' has non-numeric dtype"):
        read_keras_weights(path)
    compound = np.zeros(2, dtype=[("a", "f4"), ("b", "i4")])
    path = _keras2(
        tmp_path / "c.h5", lambda f, g: g.create_dataset("dense/kernel:0", data=compound)
    )
    with pytest.raises(FormatError, match="non-numeric"):
        read_keras_weights(path)


def test_links_that_leave_the_file_or_the_tree_are_refused(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("w", data=np.ones(2))

    def external(f, g):
        g["dense"] = h5py.ExternalLink(str(other), "/")

    with pytest.raises(FormatError, match="ExternalLink; refused"):
        read_keras_weights(_keras2(tmp_path / "e.h5", external))

    def soft(f, g):
        f.create_dataset("real", data=np.ones(2))
        g.create_group("dense")["kernel:0"] = h5py.SoftLink("/real")

    with pytest.raises(FormatError, match="SoftLink; refused"):
        read_keras_weights(_keras2(tmp_path / "s.h5", soft))


def test_external_raw_storage_is_refused(tmp_path):
    canary = tmp_path / "canary.bin"
    canary.write_bytes(bytes(range(16)))

    def external_storage(f, g):
        g.create_dataset("dense/kernel:0", shape=(2,), dtype="<f8", external=[(str(canary), 0, 16)])

    with pytest.raises(FormatError, match="stores its data in other files"):
        read_keras_weights(_keras2(tmp_path / "x.h5", external_storage))


@pytest.mark.parametrize(
    "weight_name, message",
    [("../other:0", "unsafe name"), ("/abs:0", "unsafe name"), ("missing:0", "no entry")],
)
def test_bad_weight_names_are_refused(tmp_path, weight_name, message):
    def build(f, g):
        g.attrs["weight_names"] = _names([weight_name])
        f.create_dataset("other:0", data=np.ones(1))

    with pytest.raises(FormatError, match=message):
        read_keras_weights(_keras2(tmp_path / "n.h5", build))


def test_structural_problems_are_refused(tmp_path):
    path = tmp_path / "gap.weights.h5"
    with h5py.File(path, "w") as f:
        v = f.create_group("layers").create_group("dense").create_group("vars")
        v.create_dataset("0", data=np.ones(1))
        v.create_dataset("2", data=np.ones(1))
    with pytest.raises(FormatError, match="datasets named 0..1"):
        read_keras_weights(path)

    path = tmp_path / "loop.weights.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("layers").create_group("block")
        g["again"] = g  # a hard link back to itself
    with pytest.raises(FormatError, match="linked twice"):
        read_keras_weights(path)

    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.ones(1))
    with pytest.raises(FormatError, match="not a Keras weights file"):
        read_keras_weights(path)

    path = tmp_path / "ints.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([1, 2])
    with pytest.raises(FormatError, match="must list strings"):
        read_keras_weights(path)


def test_not_hdf5_and_size_bound(tmp_path):
    path = tmp_path / "pickle.h5"
    path.write_bytes(b"\x80\x04\x95\x00")
    with pytest.raises(FormatError, match=r"pickle\.h5: not an HDF5 file"):
        read_keras_weights(path)
    with pytest.raises(OSError):
        read_keras_weights(tmp_path / "missing.h5")
    path = _keras2(
        tmp_path / "big.h5", lambda f, g: g.create_dataset("dense/kernel:0", data=np.ones(100))
    )
    with pytest.raises(FormatError, match="bound on weight bytes"):
        read_keras_weights(path, max_bytes=799)
    assert read_keras_weights(path, max_bytes=800)[0][1][0].shape == (100,)

"""Saving and loading models: the .lpn format, weight files, JSON, and refusals."""

import json
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import lapenna as lp
from extras import requires
from lapenna import layers


def _model(seed=0):
    lp.set_seed(seed)
    inputs = layers.Input((5,), name="features")
    h = layers.Dense(8, activation="relu", kernel_regularizer="l2", name="hidden")(inputs)
    out = layers.Dense(3, activation="softmax", name="probs")(h)
    model = lp.Model(inputs, out, name="net")
    model.compile(
        optimizer=lp.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _data(n=64):
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, 5)).astype(np.float32), rng.integers(0, 3, n)


def test_round_trip_in_a_fresh_process_gives_same_predictions_and_next_step(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "net.lpn"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    script = textwrap.dedent(f"""
        import numpy as np, lapenna as lp
        model = lp.models.load_model({str(path)!r})
        x, y = np.load({str(tmp_path / "x.npy")!r}), np.load({str(tmp_path / "y.npy")!r})
        np.save({str(tmp_path / "pred.npy")!r}, model.predict(x, verbose=0))
        model.train_on_batch(x, y)
        np.savez({str(tmp_path / "after.npz")!r}, *model.get_weights())
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), model.predict(x, verbose=0))
    model.train_on_batch(x, y)
    after = np.load(tmp_path / "after.npz")
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_array_equal(after[f"arr_{i}"], w)


def test_sequential_and_compile_settings_survive(tmp_path):
    model = lp.Sequential([layers.Input((4,)), layers.Dense(2, name="d")], name="seq")
    model.compile(optimizer=lp.optimizers.SGD(0.05, momentum=0.9), loss="mse", metrics=["mae"])
    model.save(tmp_path / "s.lpn", include_optimizer=False)
    loaded = lp.models.load_model(tmp_path / "s.lpn")
    assert isinstance(loaded, lp.Sequential) and loaded.name == "seq"
    assert loaded.optimizer.get_config()["momentum"] == 0.9
    assert [m.name for m in loaded.metrics] == ["mae"]
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])
    raw = lp.models.load_model(tmp_path / "s.lpn", compile=False)
    assert raw.optimizer is None


@pytest.mark.parametrize(
    "suffix", [".safetensors", ".npz", pytest.param(".h5", marks=requires("h5py"))]
)
def test_weight_files_round_trip(tmp_path, suffix):
    model, other = _model(0), _model(1)
    path = tmp_path / f"w{suffix}"
    model.save_weights(path)
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_failed_load_leaves_the_model_unchanged(tmp_path):
    model = _model()
    model.save_weights(tmp_path / "w.safetensors")
    inputs = layers.Input((5,), name="features")
    h = layers.Dense(8, name="hidden")(inputs)
    wrong = lp.Model(inputs, layers.Dense(4, name="probs")(h))
    before = wrong.get_weights()
    with pytest.raises(lp.io.FormatError, match=r"weight 'probs/kernel' is float32\(8, 3\)"):
        wrong.load_weights(tmp_path / "w.safetensors")
    for a, b in zip(before, wrong.get_weights()):
        np.testing.assert_array_equal(a, b)
    wrong.load_weights(tmp_path / "w.safetensors", skip_mismatch=True)
    np.testing.assert_array_equal(wrong.get_weights()[0], model.get_weights()[0])


def test_json_round_trip_rebuilds_the_architecture():
    model = _model()
    clone = lp.models.model_from_json(model.to_json())
    assert [layer.name for layer in clone.layers] == ["hidden", "probs"]
    assert clone.count_params() == model.count_params()


def test_lambda_needs_custom_objects(tmp_path):
    def double(t):
        return t * 2

    inputs = layers.Input((3,))
    model = lp.Model(inputs, layers.Lambda(double)(layers.Dense(2)(inputs)))
    model.save(tmp_path / "lam.lpn")
    with pytest.raises(ValueError, match="function|Lambda"):
        lp.models.load_model(tmp_path / "lam.lpn")
    loaded = lp.models.load_model(
        tmp_path / "lam.lpn", safe_mode=False, custom_objects={"double": double}
    )
    x = np.ones((1, 3), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def _rewrite_config(src, dst, edit):
    with zipfile.ZipFile(src) as zin:
        config = json.loads(zin.read("config.json"))
        weights = zin.read("model.safetensors")
    edit(config)
    with zipfile.ZipFile(dst, "w") as zout:
        zout.writestr("config.json", json.dumps(config))
        zout.writestr("model.safetensors", weights)


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c["model"].update(class_name="os.system"),
        lambda c: c["model"].update(class_name="system", module="os"),
        lambda c: c["model"]["config"]["layers"][1].update(class_name="__import__"),
    ],
)
def test_hostile_configs_are_refused_and_run_nothing(tmp_path, edit):
    model = _model()
    model.save(tmp_path / "ok.lpn")
    _rewrite_config(tmp_path / "ok.lpn", tmp_path / "bad.lpn", edit)
    canary = tmp_path / "canary"
    with pytest.raises(ValueError):
        lp.models.load_model(tmp_path / "bad.lpn")
    assert not canary.exists()


def test_save_refuses_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match=r"\.lpn .*\.keras"):
        _model().save(tmp_path / "model.h5")
    with pytest.raises(ValueError, match="checkpoints are .lpn"):
        lp.io.save_checkpoint(_model(), tmp_path / "model.keras")
    assert not list(tmp_path.iterdir())


def test_keras_h5_weights_load_in_order(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = lp.Sequential(
        [layers.Input((4,)), layers.Dense(3, name="d1"), layers.Dense(2, name="d2")]
    )
    rng = np.random.default_rng(0)
    arrays = {
        "dense": [rng.standard_normal((4, 3)), rng.standard_normal(3)],
        "dense_1": [rng.standard_normal((3, 2)), rng.standard_normal(2)],
    }
    path = tmp_path / "keras.h5"
    with h5py.File(path, "w") as f:  # the Keras 2 weights-only layout
        f.attrs["layer_names"] = [b"dense", b"dense_1"]
        for name, (kernel, bias) in arrays.items():
            g = f.create_group(name)
            g.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            g.create_dataset(f"{name}/kernel:0", data=kernel.astype(np.float32))
            g.create_dataset(f"{name}/bias:0", data=bias.astype(np.float32))
    lp.io.load_keras_weights(model, path)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    expected = (x @ arrays["dense"][0] + arrays["dense"][1]) @ arrays["dense_1"][0] + arrays[
        "dense_1"
    ][1]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5)


def _write_keras2_h5(h5py, path, layer_weights):
    """Write ``[(layer_name, [(weight_name, array), ...]), ...]`` the way Keras 2 does."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode() for name, _ in layer_weights]
        for name, weights in layer_weights:
            g = f.create_group(name)
            g.attrs["weight_names"] = [f"{name}/{w}:0".encode() for w, _ in weights]
            for w, array in weights:
                g.create_dataset(f"{name}/{w}:0", data=array)


def test_keras_h5_conv_family_loads_with_keras_layouts(tmp_path):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(3)

    def r(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    def build():
        inputs = layers.Input((6, 6, 2))
        x = layers.Conv2D(4, 3, padding="same")(inputs)
        x = layers.BatchNormalization()(x)
        x = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(x)
        x = layers.Conv2DTranspose(3, 2, strides=2)(x)
        return lp.Model(inputs, layers.Dense(2)(layers.GlobalAveragePooling2D()(x)))

    model = build()
    weights = [
        ("conv2d", [("kernel", r(3, 3, 2, 4)), ("bias", r(4))]),
        (
            "batch_normalization",
            [
                ("gamma", r(4)),
                ("beta", r(4)),
                ("moving_mean", r(4)),
                ("moving_variance", np.abs(r(4)) + 0.5),
            ],
        ),
        ("depthwise_conv2d", [("depthwise_kernel", r(3, 3, 4, 2)), ("bias", r(8))]),
        ("conv2d_transpose", [("kernel", r(2, 2, 3, 8)), ("bias", r(3))]),
        ("dense", [("kernel", r(3, 2)), ("bias", r(2))]),
    ]
    _write_keras2_h5(h5py, tmp_path / "keras.h5", weights)
    lp.io.load_keras_weights(model, tmp_path / "keras.h5")
    reference = build()  # fresh layers, given the arrays directly in Keras order
    reference.set_weights([a for _, ws in weights for _, a in ws])
    x = r(2, 6, 6, 2)
    np.testing.assert_array_equal(model.predict(x, verbose=0), reference.predict(x, verbose=0))
    # the batch-norm layer in inference mode is the affine map of the stored statistics
    bn = model.layers[1]
    gamma, beta, mean, var = (w.numpy() for w in bn.weights)
    feature = r(1, 6, 6, 4)
    expected = (feature - mean) / np.sqrt(var + bn.epsilon) * gamma + beta
    np.testing.assert_allclose(bn(feature).numpy(), expected, rtol=1e-5, atol=1e-5)
    # a file for a different architecture is refused and changes nothing
    before = model.get_weights()
    _write_keras2_h5(h5py, tmp_path / "wrong.h5", weights[:2] + weights[3:])
    with pytest.raises(lp.io.FormatError):
        lp.io.load_keras_weights(model, tmp_path / "wrong.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)

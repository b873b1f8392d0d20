"""Keras model JSON (Keras 2 ``to_json`` and Keras 3 configs) built as lapenna models."""

import doctest
import json
import sys

import numpy as np
import pytest

import lapenna as lp
from keras_specs import KERAS2_CNN, k2_layer, k3, k3_cnn, keras2_skip, keras3_skip
from lapenna.io import FormatError, keras_json, model_from_keras_json

CNN_LAYERS = [
    # name, output shape, parameters
    ("conv2d", (None, 28, 28, 6), 5 * 5 * 6 + 6),
    ("max_pooling2d", (None, 14, 14, 6), 0),
    ("batch_normalization", (None, 14, 14, 6), 4 * 6),
    ("conv2d_1", (None, 10, 10, 16), 5 * 5 * 6 * 16 + 16),
    ("leaky_re_lu", (None, 10, 10, 16), 0),
    ("flatten", (None, 1600), 0),
    ("dropout", (None, 1600), 0),
    ("dense", (None, 10), 1600 * 10 + 10),
]


def _layer_table(model):
    table, shape = [], model.input.shape
    for layer in model.layers:
        shape = layer.compute_output_shape(shape)
        table.append((layer.name, shape, layer.count_params()))
    return table


def test_keras2_sequential_cnn():
    model = model_from_keras_json(KERAS2_CNN)
    assert isinstance(model, lp.Sequential) and model.name == "lenet"
    assert model.input.name == "conv2d_input"
    assert _layer_table(model) == CNN_LAYERS
    conv, bn, conv1, leaky = model.layers[0], model.layers[2], model.layers[3], model.layers[4]
    assert conv.padding == "same" and lp.activations.serialize(conv.activation) == "relu"
    assert bn.axis == 3 and bn.epsilon == pytest.approx(1e-3)
    assert lp.initializers.serialize(conv1.kernel_initializer)["config"]["scale"] == 2.0
    assert len(model.losses) == 1  # the L2 kernel regularizer
    assert leaky.negative_slope == pytest.approx(0.1)  # Keras 2 "alpha"
    assert model.layers[-1].kernel_constraint is not None


def test_keras3_sequential_cnn():
    model = model_from_keras_json(json.dumps(k3_cnn()))
    assert model.input.name == "x"
    assert _layer_table(model) == CNN_LAYERS
    assert model.layers[4].negative_slope == pytest.approx(0.1)


# -- functional models with a skip connection ---------------------------------------------
@pytest.mark.parametrize("spec", [keras2_skip, keras3_skip], ids=["keras2", "keras3"])
def test_functional_skip_connection(spec):
    model = model_from_keras_json(json.dumps(spec()))
    assert isinstance(model, lp.Model) and model.name == "skip"
    assert [layer.name for layer in model.layers] == ["stem", "branch", "add", "gap", "logits"]
    assert model.count_params() == (27 * 4 + 4) + (36 * 4 + 4) + (4 * 3 + 3)
    assert model.output_shape == (None, 3)
    add = model.get_layer("add")
    inbound = [t.node.layer.name for t in add._inbound_nodes[0].inputs]
    assert inbound == ["branch", "stem"]
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype(np.float32)
    stem = model.get_layer("stem")(x)
    expected = model.get_layer("logits")(
        model.get_layer("gap")(model.get_layer("branch")(stem) + stem)
    )
    np.testing.assert_allclose(model.predict(x, verbose=0), expected.numpy(), rtol=1e-6)


def test_nested_models_shift_keras_node_indices():
    """A Keras functional model nested in another counts its own call as node 0."""
    inner = keras2_skip()
    inner["config"]["name"] = "inner"
    outer_layers = [
        k2_layer("InputLayer", "outer_input", [], batch_input_shape=[None, 8, 8, 3]),
        {
            "class_name": "Functional",
            "config": inner["config"],
            "name": "inner",
            "inbound_nodes": [[["outer_input", 0, 0, {}]]],
        },
        k2_layer("Dense", "head", [], units=2),
    ]
    outer_layers[2]["inbound_nodes"] = [[["inner", 1, 0, {}]]]
    config = {"name": "outer", "layers": outer_layers}
    config.update(input_layers=[["outer_input", 0, 0]], output_layers=[["head", 0, 0]])
    model = model_from_keras_json(json.dumps({"class_name": "Model", "config": config}))
    assert [layer.name for layer in model.layers] == ["inner", "head"]
    assert model.output_shape == (None, 2)


# -- weights from a Keras-layout HDF5 file --------------------------------------------------
KERAS2_MLP = """{"class_name": "Sequential", "config": {"name": "mlp", "layers": [
 {"class_name": "Dense", "config": {"name": "hidden", "trainable": true,
  "batch_input_shape": [null, 3], "dtype": "float32", "units": 4, "activation": "relu",
  "use_bias": true}},
 {"class_name": "Dense", "config": {"name": "out", "trainable": true, "dtype": "float32",
  "units": 2, "activation": "softmax", "use_bias": true}}]}, "keras_version": "2.4.0"}"""


def test_dense_model_with_keras_h5_weights_matches_hand_computation(tmp_path):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(3)
    w1, b1 = rng.standard_normal((3, 4)), rng.standard_normal(4)
    w2, b2 = rng.standard_normal((4, 2)), rng.standard_normal(2)
    path = tmp_path / "mlp.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"hidden", b"out"])
        for name, arrays in (("hidden", (w1, b1)), ("out", (w2, b2))):
            group = f.create_group(name)
            names = [f"{name}/kernel:0", f"{name}/bias:0"]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            for n, a in zip(names, arrays):
                group.create_dataset(n, data=a.astype(np.float32))
    model = model_from_keras_json(KERAS2_MLP)
    assert model.input.shape == (None, 3)
    lp.io.load_keras_weights(model, path)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    hidden = np.maximum(x @ w1 + b1, 0)
    logits = hidden @ w2 + b2
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    # and on to ONNX, the course's route from Keras to a deployment runtime
    ort = pytest.importorskip("onnxruntime")
    lp.io.export_onnx(model, tmp_path / "mlp.onnx")
    session = ort.InferenceSession(tmp_path / "mlp.onnx", providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"hidden_input": x})
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


# -- refusals -----------------------------------------------------------------------------
def test_unknown_layers_and_arguments_are_all_listed():
    spec = json.loads(KERAS2_MLP)
    layers = spec["config"]["layers"]
    layers.insert(1, {"class_name": "ConvLSTM3D", "config": {"name": "lstm", "filters": 3}})
    layers.insert(2, {"class_name": "MyAttention", "config": {"name": "mine"}})
    layers.insert(3, {"class_name": "Lambda", "config": {"name": "fn", "function": "x"}})
    layers[0]["config"]["data_format"] = "channels_first"
    layers[-1]["config"]["activation"] = "not_an_activation"
    with pytest.raises(ValueError) as info:
        model_from_keras_json(json.dumps(spec))
    message = str(info.value)
    for part in (
        "layer 'lstm' (ConvLSTM3D): unknown layer class",
        "layer 'mine' (MyAttention): unknown layer class",
        "layer 'fn' (Lambda): unknown layer class",
        "layer 'hidden' (Dense): argument 'data_format'='channels_first'",
        "unknown activation 'not_an_activation'",
    ):
        assert part in message


CANARY = "lapenna_canary_module"


def test_names_of_modules_and_callables_never_import_anything(tmp_path, monkeypatch):
    flag = tmp_path / "ran"
    (tmp_path / f"{CANARY}.py").write_text(f"open({str(flag)!r}, 'w').close()\nEvil = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    function = k3(CANARY, "function", "Evil", "function")
    spec = k3_cnn()
    layers = spec["config"]["layers"]
    layers[-1]["config"]["activation"] = function  # the Dense layer
    layers[-1]["config"]["kernel_initializer"] = k3(CANARY, "Evil", {})
    layers.append(k3(CANARY, "Evil", {"name": "evil"}, f"{CANARY}>Evil"))
    layers.append({"class_name": f"{CANARY}.Evil", "config": {"name": "dotted"}})
    lambda_layer = k3("keras.layers", "Lambda", {"name": "code", "function": function})
    layers.append(lambda_layer)
    with pytest.raises(ValueError) as info:
        model_from_keras_json(json.dumps(spec))
    message = str(info.value)
    assert f"layer 'evil' (Evil): a class from module '{CANARY}'" in message
    assert f"layer 'dotted' ({CANARY}.Evil): unknown layer class" in message
    assert "layer 'code' (Lambda): unknown layer class" in message
    assert f"argument 'kernel_initializer': refers to module '{CANARY}'" in message
    assert f"argument 'activation': refers to module '{CANARY}'" in message
    assert not flag.exists() and CANARY not in sys.modules


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{not json", "not valid JSON"),
        ('{"class_name": "Dense", "config": {"units": 2}}', "not a Sequential or functional"),
        ('{"class_name": "Functional", "config": {"layers": []}}', "has no graph"),
        ("[1, 2]", "expected an object"),
    ],
)
def test_malformed_text(text, expected):
    with pytest.raises(FormatError, match=expected):
        model_from_keras_json(text)


def test_docstring_examples():
    result = doctest.testmod(keras_json, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_keras2_mobile_and_unet_layers():
    """Keras 2 writes groups=1 for Conv2DTranspose and data_format everywhere."""
    conv = {"strides": [1, 1], "padding": "same", "data_format": "channels_last"}
    conv.update(dilation_rate=[1, 1], activation="linear", use_bias=False)
    layers = [
        k2_layer("InputLayer", "image", [], batch_input_shape=[None, 8, 8, 4]),
        k2_layer("ZeroPadding2D", "pad", ["image"], padding=[[1, 1], [1, 1]]),
        k2_layer(
            "DepthwiseConv2D",
            "depthwise",
            ["pad"],
            kernel_size=[3, 3],
            depth_multiplier=2,
            depthwise_initializer={"class_name": "GlorotUniform", "config": {"seed": None}},
            **{**conv, "padding": "valid"},
        ),
        k2_layer("ReLU", "relu6", ["depthwise"], max_value=6.0, negative_slope=0.0, threshold=0.0),
        k2_layer("SeparableConv2D", "separable", ["relu6"], filters=6, kernel_size=[3, 3], **conv),
        k2_layer(
            "MaxPooling2D",
            "pool",
            ["separable"],
            pool_size=[2, 2],
            strides=[2, 2],
            padding="valid",
            data_format="channels_last",
        ),
        k2_layer(
            "Conv2DTranspose",
            "up",
            ["pool"],
            filters=4,
            kernel_size=[2, 2],
            groups=1,
            output_padding=None,
            **{**conv, "strides": [2, 2]},
        ),
        k2_layer(
            "UpSampling2D",
            "resize",
            ["pool"],
            size=[2, 2],
            data_format="channels_last",
            interpolation="bilinear",
        ),
        k2_layer("Concatenate", "concat", ["up", "resize", "image"], axis=-1),
    ]
    config = {"name": "mobile_unet", "layers": layers}
    config.update(input_layers=[["image", 0, 0]], output_layers=[["concat", 0, 0]])
    model = model_from_keras_json(json.dumps({"class_name": "Functional", "config": config}))
    assert model.output_shape == (None, 8, 8, 4 + 6 + 4)
    params = {layer.name: layer.count_params() for layer in model.layers}
    assert params == {
        "pad": 0,
        "depthwise": 3 * 3 * 4 * 2,
        "relu6": 0,
        "separable": 3 * 3 * 8 + 8 * 6,
        "pool": 0,
        "up": 2 * 2 * 6 * 4,
        "resize": 0,
        "concat": 0,
    }
    assert model.get_layer("resize").interpolation == "bilinear"
    assert model.get_layer("relu6").max_value == 6.0

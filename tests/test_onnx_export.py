"""ONNX export: reference models run in onnxruntime and match ``model.predict``."""

import doctest
import importlib
import os

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers as L

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOLERANCE = 1e-5  # max |onnx - lapenna| relative to the largest output magnitude


def _randomize(model, seed=0):
    """Random biases and BatchNormalization parameters and statistics (the kernels keep
    their Glorot initialisation, so activations stay of order one)."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if w.ndim != 1:
            continue
        value = rng.uniform(-0.5, 0.5, w.shape)
        if w.path.endswith(("moving_variance", "gamma")):
            value = rng.uniform(0.5, 2.0, w.shape)
        w.assign(value.astype(w.dtype))
    return model


def _relative_error(model, path, batch, seed=1):
    """Run the file in onnxruntime on random inputs of the declared shapes."""
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    declared = session.get_inputs()
    xs = [rng.standard_normal((batch, *i.shape[1:])).astype(np.float32) for i in declared]
    got = session.run(None, {i.name: x for i, x in zip(declared, xs)})
    expected = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    worst = 0.0
    for e, o in zip(expected, got):
        assert o.shape == e.shape
        worst = max(worst, float(np.max(np.abs(o - e)) / max(np.max(np.abs(e)), 1e-6)))
    return worst


def _export_and_compare(model, tmp_path, name, opset=17):
    path = os.fspath(tmp_path / f"{name}.onnx")
    lp.io.export_onnx(model, path, opset=opset)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    for batch in (1, 3):
        assert _relative_error(model, path, batch) <= TOLERANCE
    return onnx.load(path)


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


# -- reference models ----------------------------------------------------------------------
def lenet5():
    return lp.Sequential(
        [
            L.Input((28, 28, 1)),
            L.Conv2D(6, 5, padding="same", activation="tanh"),
            L.AveragePooling2D(2),
            L.Conv2D(16, 5, activation="tanh"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dense(120, activation="tanh"),
            L.Dense(84, activation="tanh"),
            L.Dense(10, activation="softmax"),
        ]
    )


def _residual_block(x, filters, strides=1):
    shortcut = x
    y = L.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    y = L.BatchNormalization()(y)
    y = L.Activation("relu")(y)
    y = L.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = L.BatchNormalization()(y)
    if strides != 1 or x.shape[-1] != filters:
        shortcut = L.Conv2D(filters, 1, strides=strides, use_bias=False)(x)
        shortcut = L.BatchNormalization()(shortcut)
    return L.Activation("relu")(L.Add()([y, shortcut]))


def small_resnet():
    inputs = L.Input((15, 15, 3))
    x = L.Conv2D(8, 3, padding="same")(inputs)
    x = _residual_block(x, 8)
    x = _residual_block(x, 16, strides=2)  # odd size: "same" pads at the bottom/right
    x = L.GlobalAveragePooling2D()(x)
    return lp.Model(inputs, L.Dense(5)(x))


def small_unet():
    inputs = L.Input((16, 16, 2))
    c1 = L.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    p1 = L.MaxPooling2D(2)(c1)
    c2 = L.Conv2D(8, 3, padding="same", activation="relu")(p1)
    p2 = L.MaxPooling2D(2)(c2)
    bottom = L.Conv2D(16, 3, padding="same", activation="relu")(p2)
    u2 = L.Conv2DTranspose(8, 2, strides=2, padding="same")(bottom)
    c3 = L.Conv2D(8, 3, padding="same", activation="relu")(L.Concatenate()([u2, c2]))
    u1 = L.Conv2DTranspose(4, 3, strides=2, padding="same")(c3)
    c4 = L.Conv2D(4, 3, padding="same", activation="relu")(L.Concatenate()([u1, c1]))
    return lp.Model(inputs, L.Conv2D(3, 1, activation="sigmoid")(c4))


def mobilenet_block():
    inputs = L.Input((12, 12, 8))
    x = L.Conv2D(16, 1, use_bias=False)(inputs)  # expand
    x = L.BatchNormalization()(x)
    x = L.Activation("relu6")(x)
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu6")(x)
    x = L.Conv2D(8, 1, use_bias=False)(x)  # project
    x = L.BatchNormalization()(x)
    return lp.Model(inputs, L.Add()([inputs, x]))


def mlp():
    return lp.Sequential(
        [
            L.Input((6,)),
            L.Dense(16, activation="relu"),
            L.Dense(16, activation="swish"),
            L.Dense(4, activation="softmax"),
        ]
    )


@pytest.mark.parametrize(
    "build", [lenet5, small_resnet, small_unet, mobilenet_block, mlp], ids=lambda f: f.__name__
)
def test_reference_models_match_onnxruntime(build, tmp_path):
    proto = _export_and_compare(_randomize(build()), tmp_path, build.__name__)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_convolution_chains_stay_channels_first(tmp_path):
    """Transposes appear only at the layout changes: the input, and before Flatten."""
    proto = _export_and_compare(_randomize(lenet5()), tmp_path, "lenet")
    assert _ops(proto).count("Transpose") == 2
    proto = _export_and_compare(_randomize(mobilenet_block()), tmp_path, "mobile")
    assert _ops(proto).count("Transpose") == 2  # NHWC -> NCHW in, NCHW -> NHWC out
    assert _ops(proto).count("BatchNormalization") == 3


def test_per_channel_layers_stay_channels_first(tmp_path):
    per_channel = _image_model(
        L.Conv2D(4, 3, padding="same"),
        L.PReLU(shared_axes=[1, 2]),
        L.Rescaling([1.0, 2.0, 3.0, 4.0], offset=0.5),
        L.Conv2D(2, 3),
    )
    proto = _export_and_compare(_randomize(per_channel), tmp_path, "per_channel")
    assert _ops(proto).count("Transpose") == 2


def test_unknown_spatial_sizes(tmp_path):
    """A fully convolutional model exports once and runs at any image size."""
    inputs = L.Input((None, None, 3))
    x = L.Conv2D(4, 3, strides=2, padding="same", dilation_rate=1, activation="relu")(inputs)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = L.Conv2D(4, 3, padding="same", dilation_rate=2)(x)
    x = L.Conv2DTranspose(4, 3, strides=2, padding="same")(x)
    x = L.Conv2DTranspose(3, 2, strides=3, padding="valid")(x)
    x = L.AveragePooling2D(2, padding="same")(x)
    model = _randomize(lp.Model(inputs, L.UpSampling2D(2, interpolation="bilinear")(x)))
    path = os.fspath(tmp_path / "fcn.onnx")
    proto = lp.io.export_onnx(model, path)
    assert [d.dim_param for d in proto.graph.input[0].type.tensor_type.shape.dim[:3]] == [
        "batch",
        "input_layer_dim1",
        "input_layer_dim2",
    ]
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for size in ((9, 7), (16, 16), (5, 12)):
        x = rng.standard_normal((2, *size, 3)).astype(np.float32)
        expected = model.predict(x, verbose=0)
        (got,) = session.run(None, {session.get_inputs()[0].name: x})
        assert got.shape == expected.shape
        assert np.max(np.abs(got - expected)) <= TOLERANCE * np.max(np.abs(expected))


class _Subclassed(lp.Model):
    def __init__(self):
        super().__init__()
        self.conv = L.Conv2D(4, 3, padding="same", activation="relu")
        self.pool = L.GlobalMaxPooling2D()
        self.head = L.Dense(3)

    def call(self, inputs, training=False):
        return self.head(self.pool(self.conv(inputs)))


def test_subclassed_model_is_traced(tmp_path):
    model = _Subclassed()
    model.build((None, 9, 9, 2))
    _export_and_compare(_randomize(model), tmp_path, "subclassed")
    assert model.conv._inbound_nodes == []  # tracing left no nodes behind


def test_subclassed_model_with_raw_operations_is_refused(tmp_path):
    class Raw(_Subclassed):
        def call(self, inputs, training=False):
            return self.head(self.pool(self.conv(inputs))) * 2.0

    model = Raw()
    model.build((None, 9, 9, 2))
    with pytest.raises(ValueError, match="does more than chain layer calls"):
        lp.io.export_onnx(model, tmp_path / "raw.onnx")
    assert not os.listdir(tmp_path)


def test_unsupported_layers_are_all_listed_and_nothing_is_written(tmp_path):
    inputs = L.Input((4,))
    x = L.Lambda(lambda t: t * 2, name="doubler")(inputs)
    x = L.Dense(3, activation=lambda t: t, name="custom_act")(x)
    model = lp.Model(inputs, L.Dense(2)(x))
    path = tmp_path / "bad.onnx"
    with pytest.raises(ValueError) as info:
        lp.io.export_onnx(model, path)
    message = str(info.value)
    assert "'doubler' (Lambda" in message
    assert "'custom_act' (Dense: activation 'function'" in message
    assert not os.listdir(tmp_path)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="opset must be an int from 13"):
        lp.io.export_onnx(mlp(), tmp_path / "m.onnx", opset=7)
    with pytest.raises(TypeError, match="expects a lapenna model"):
        lp.io.export_onnx(L.Dense(2), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="not built"):
        lp.io.export_onnx(_Subclassed(), tmp_path / "m.onnx")


# -- layer coverage ------------------------------------------------------------------------
def _image_model(*layers, shape=(11, 10, 4)):
    return lp.Sequential([L.Input(shape), *layers])


@pytest.mark.parametrize(
    "layers",
    [
        [L.Conv2D(6, 3, strides=2, padding="same", dilation_rate=1, groups=2)],
        [L.Conv2D(4, 3, padding="same", dilation_rate=2, activation="elu")],
        [L.Conv2D(4, (3, 2), strides=(2, 3), padding="valid", activation="selu")],
        [L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2)],
        [L.SeparableConv2D(5, 3, padding="same", depth_multiplier=2, activation="relu")],
        [L.Conv2DTranspose(3, 3, strides=2, padding="valid", output_padding=1)],
        [L.Conv2DTranspose(3, 4, strides=3, padding="same", dilation_rate=1)],
        [L.MaxPooling2D(3, strides=2, padding="same"), L.AveragePooling2D(2, padding="same")],
        [L.AveragePooling2D((3, 2), strides=1, padding="same")],
        [L.GlobalMaxPooling2D(keepdims=True), L.Flatten()],
        [L.ZeroPadding2D(((1, 2), (0, 3))), L.Cropping2D(((2, 0), (1, 1)))],
        [L.UpSampling2D((2, 3)), L.UpSampling2D(2, interpolation="bilinear")],
        [L.Permute((3, 1, 2)), L.Reshape((10, 11, 4)), L.Activation("softmax")],
        [L.BatchNormalization(axis=1), L.BatchNormalization(scale=False, center=False)],
        [L.Conv2D(3, 1), L.LayerNormalization(), L.LayerNormalization(axis=[1, 3])],
    ],
    ids=lambda layers: "-".join(type(layer).__name__ for layer in layers),
)
def test_image_layers(layers, tmp_path):
    _export_and_compare(_randomize(_image_model(*layers)), tmp_path, "image")


# built inside the test: these layer classes live in their own room
ACTIVATION_AND_NOISE_LAYERS = {
    "rescaling": lambda: [
        L.Rescaling(1 / 127.5, offset=-1.0),
        L.Rescaling([1.0, 2.0, 3.0, 4.0], offset=0.5),
    ],
    "leaky-elu-prelu": lambda: [
        L.Conv2D(4, 1),
        L.LeakyReLU(0.1),
        L.ELU(0.7),
        L.PReLU(shared_axes=[1, 2]),
    ],
    "relu-softmax": lambda: [
        L.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2),
        L.ReLU(max_value=6.0),
        L.Softmax(axis=1),
    ],
    "softmax-axes": lambda: [L.Permute((3, 1, 2)), L.Softmax(axis=(2, 3))],
    "noise": lambda: [
        L.Dropout(0.5),
        L.SpatialDropout2D(0.3),
        L.GaussianNoise(1.0),
        L.GaussianDropout(0.2),
    ],
}


@pytest.mark.parametrize("case", sorted(ACTIVATION_AND_NOISE_LAYERS))
def test_activation_preprocessing_and_noise_layers(case, tmp_path):
    model = _image_model(*ACTIVATION_AND_NOISE_LAYERS[case]())
    _export_and_compare(_randomize(model), tmp_path, case)


def test_sequence_layers(tmp_path):
    model = lp.Sequential(
        [
            L.Input((12, 3)),
            L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu"),
            L.Conv1D(5, 3, strides=2, padding="same"),
            L.MaxPooling1D(2, padding="same"),
            L.AveragePooling1D(2, strides=1),
            L.UpSampling1D(3),
            L.ZeroPadding1D((1, 2)),
            L.Cropping1D((2, 1)),
            L.GlobalAveragePooling1D(),
            L.BatchNormalization(),
        ]
    )
    _export_and_compare(_randomize(model), tmp_path, "sequence")


ACTIVATIONS = sorted(
    ["linear", "relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid", "hard_sigmoid"]
    + ["silu", "hard_silu", "gelu", "tanh", "softplus", "softsign", "mish", "exponential"]
    + ["softmax", "log_softmax"]
)


def test_every_activation(tmp_path):
    inputs = L.Input((5,))
    outputs = [L.Dense(3, activation=name, name=name)(inputs) for name in ACTIVATIONS]
    model = _randomize(lp.Model(inputs, outputs))
    proto = _export_and_compare(model, tmp_path, "activations")
    assert [o.name for o in proto.graph.output] == ACTIVATIONS


def test_merges_several_inputs_and_a_nested_model(tmp_path):
    a, b = L.Input((4, 4, 3), name="a"), L.Input((4, 4, 3), name="b")
    inner = lp.Sequential([L.Input((4, 4, 3)), L.Conv2D(3, 3, padding="same")], name="inner")
    x = inner(a)
    merged = [
        L.Subtract()([x, b]),
        L.Multiply()([x, b, a]),
        L.Average()([x, b]),
        L.Maximum()([x, b]),
        L.Minimum()([a, x]),
    ]
    y = L.Concatenate(axis=1)([L.Add()(merged), x])
    model = _randomize(lp.Model([a, b], [y, L.Dense(2)(L.Flatten()(y))]))
    proto = _export_and_compare(model, tmp_path, "merges")
    assert [i.name for i in proto.graph.input] == ["a", "b"]


@pytest.mark.parametrize("opset", [13, 18, 21])
def test_other_opsets(opset, tmp_path):
    proto = _export_and_compare(_randomize(small_resnet()), tmp_path, "resnet", opset=opset)
    assert proto.opset_import[0].version == opset


def test_fixed_batch(tmp_path):
    path = os.fspath(tmp_path / "fixed.onnx")
    model = _randomize(mlp())
    proto = lp.io.export_onnx(model, path, dynamic_batch=False)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1
    assert _relative_error(model, path, 1) <= TOLERANCE
    with pytest.raises(Exception, match="dimension"):
        _relative_error(model, path, 3)


@pytest.mark.parametrize("module", ["lapenna.io.onnx_export", "lapenna.models.export"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0

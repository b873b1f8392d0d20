"""Every layer class lapenna shares with Keras 3, checked against real Keras.

Each case builds ``Input -> layer`` in both frameworks from the same source, copies Keras's
weights into lapenna and compares parameter counts, weight shapes, the output shape, the
outputs and one SGD step (loss and the change of every weight). Random layers are the
identity at inference in both and are compared there; their training-time draws come from
different generators. ``test_every_shared_layer_is_covered`` fails when a class that both
frameworks have is neither tested here nor listed in ``NOT_COMPARED`` with its reason.
"""

import re
from pathlib import Path

import numpy as np
import pytest

import lapenna as lp

pytest.importorskip("keras")
from lapenna.testing.keras_reference import compare_with_keras, keras_module  # noqa: E402

# class name -> list of (constructor kwargs, input shape(s) without the batch axis)
CASES = {
    "Dense": [({"units": 5, "activation": "relu"}, (7,)), ({"units": 3}, (4, 6))],
    "Conv1D": [({"filters": 4, "kernel_size": 3, "padding": "same", "strides": 2}, (11, 3))],
    "Conv2D": [
        ({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (9, 9, 3)),
        ({"filters": 4, "kernel_size": 3, "dilation_rate": 2, "use_bias": False}, (9, 9, 2)),
        ({"filters": 4, "kernel_size": (3, 1), "groups": 2, "activation": "relu"}, (6, 6, 4)),
    ],
    "Conv3D": [({"filters": 2, "kernel_size": 3, "padding": "same"}, (5, 5, 5, 2))],
    "Conv1DTranspose": [({"filters": 3, "kernel_size": 3, "strides": 2}, (6, 2))],
    "Conv2DTranspose": [
        ({"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (5, 5, 2)),
        ({"filters": 2, "kernel_size": 4, "strides": 2}, (4, 4, 3)),
    ],
    "Conv3DTranspose": [({"filters": 2, "kernel_size": 2, "strides": 2}, (3, 3, 3, 2))],
    "DepthwiseConv2D": [({"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (6, 6, 3))],
    "SeparableConv2D": [({"filters": 4, "kernel_size": 3, "depth_multiplier": 2}, (7, 7, 3))],
    "MaxPooling1D": [({"pool_size": 2}, (8, 3))],
    "MaxPooling2D": [({"pool_size": 3, "strides": 2, "padding": "same"}, (7, 7, 2))],
    "MaxPooling3D": [({"pool_size": 2}, (4, 4, 4, 2))],
    "AveragePooling1D": [({"pool_size": 3, "strides": 1, "padding": "same"}, (8, 3))],
    "AveragePooling2D": [
        ({"pool_size": 2}, (6, 6, 2)),
        ({"pool_size": 2, "padding": "same"}, (5, 5, 2)),
    ],
    "AveragePooling3D": [({"pool_size": 2}, (4, 4, 4, 2))],
    "GlobalAveragePooling1D": [({}, (5, 3))],
    "GlobalAveragePooling2D": [({}, (4, 4, 3)), ({"keepdims": True}, (4, 4, 3))],
    "GlobalAveragePooling3D": [({}, (3, 3, 3, 2))],
    "GlobalMaxPooling1D": [({}, (5, 3))],
    "GlobalMaxPooling2D": [({}, (4, 4, 3))],
    "GlobalMaxPooling3D": [({}, (3, 3, 3, 2))],
    "BatchNormalization": [({}, (5, 5, 3)), ({"momentum": 0.9, "center": False}, (6,))],
    "LayerNormalization": [({}, (4, 6)), ({"axis": [2, 3]}, (3, 4, 2))],
    "GroupNormalization": [({"groups": 2}, (4, 4, 6))],
    "Normalization": [({"mean": 0.5, "variance": 4.0}, (5,))],
    "Dropout": [({"rate": 0.5}, (6,))],
    "SpatialDropout1D": [({"rate": 0.5}, (5, 3))],
    "SpatialDropout2D": [({"rate": 0.5}, (4, 4, 3))],
    "SpatialDropout3D": [({"rate": 0.5}, (3, 3, 3, 2))],
    "GaussianDropout": [({"rate": 0.3}, (6,))],
    "GaussianNoise": [({"stddev": 0.3}, (6,))],
    "ActivityRegularization": [({"l1": 0.01, "l2": 0.02}, (6,))],
    "Activation": [
        ({"activation": name}, (6,))
        for name in (
            "relu",
            "sigmoid",
            "tanh",
            "softmax",
            "swish",
            "silu",
            "gelu",
            "elu",
            "selu",
            "softplus",
            "softsign",
            "hard_sigmoid",
            "exponential",
            "linear",
            "relu6",
            "leaky_relu",
            "mish",
            "log_softmax",
            "hard_silu",
        )
    ],  # fmt: skip
    "ReLU": [({}, (6,)), ({"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.2}, (6,))],
    "LeakyReLU": [({"negative_slope": 0.2}, (6,))],
    "ELU": [({"alpha": 0.5}, (6,))],
    "PReLU": [({}, (4, 3)), ({"shared_axes": [1]}, (4, 3))],
    "Softmax": [({}, (3, 5)), ({"axis": 1}, (3, 5))],
    "Flatten": [({}, (3, 4, 2))],
    "Reshape": [({"target_shape": (4, -1)}, (3, 4, 2))],
    "Permute": [({"dims": (2, 1)}, (3, 4))],
    "RepeatVector": [({"n": 3}, (4,))],
    "Identity": [({}, (4,))],
    "Lambda": [({"function": lambda x: x * 2.0 + 1.0}, (4,))],
    "Cropping1D": [({"cropping": (1, 2)}, (7, 2))],
    "Cropping2D": [({"cropping": ((1, 0), (2, 1))}, (6, 6, 2))],
    "Cropping3D": [({"cropping": 1}, (4, 4, 4, 1))],
    "ZeroPadding1D": [({"padding": (1, 2)}, (5, 2))],
    "ZeroPadding2D": [({"padding": ((1, 0), (2, 1))}, (4, 4, 2))],
    "ZeroPadding3D": [({"padding": 1}, (2, 2, 2, 1))],
    "UpSampling1D": [({"size": 3}, (4, 2))],
    "UpSampling2D": [({"size": 2}, (3, 3, 2)), ({"interpolation": "bilinear"}, (3, 4, 2))],
    "UpSampling3D": [({"size": 2}, (2, 2, 2, 1))],
    "Rescaling": [({"scale": 1 / 255.0, "offset": -0.5}, (4, 4, 3))],
    "Resizing": [({"height": 6, "width": 5}, (4, 4, 3))],
    "CenterCrop": [({"height": 3, "width": 2}, (5, 5, 3))],
    "RandomFlip": [({}, (4, 4, 3))],
    "RandomRotation": [({"factor": 0.2}, (4, 4, 3))],
    "RandomTranslation": [({"height_factor": 0.2, "width_factor": 0.2}, (4, 4, 3))],
    "RandomZoom": [({"height_factor": 0.2}, (4, 4, 3))],
    "RandomContrast": [({"factor": 0.2}, (4, 4, 3))],
    "RandomBrightness": [({"factor": 0.2}, (4, 4, 3))],
    "Add": [({}, [(4,), (4,)])],
    "Subtract": [({}, [(4,), (4,)])],
    "Multiply": [({}, [(4,), (4,), (4,)])],
    "Average": [({}, [(3, 2), (3, 2)])],
    "Maximum": [({}, [(4,), (4,)])],
    "Minimum": [({}, [(4,), (4,)])],
    "Concatenate": [({}, [(2, 3), (2, 4)]), ({"axis": 1}, [(2, 3), (4, 3)])],
    "Dot": [({"axes": 1}, [(4,), (4,)]), ({"axes": (2, 2), "normalize": True}, [(2, 3), (4, 3)])],
}
# draws of these differ between frameworks; both are the identity (or the center crop) at
# inference, which is what is compared
RANDOM_AT_TRAINING = {
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
    "GaussianNoise", "RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation",
    "RandomZoom", "RandomContrast", "RandomBrightness",
}  # fmt: skip
# class names both have that are not layers to compare, with the reason
NOT_COMPARED = {
    "RandomCrop": "at inference Keras 3.15 returns the uncropped input, against its own "
    "documentation and compute_output_shape; lapenna center-crops (tested below)",
    "Layer": "the base class; custom layers are compared in test_keras_workflows",
    "InputLayer": "the graph's entry; every case here starts with Input",
    "InputSpec": "an input check, not a layer",
    "TextVectorization": "Keras 3 builds its text layers on TensorFlow ops, which are not "
    "installed; tests/test_layers_text.py follows Keras's docstring examples and rules",
    "StringLookup": "as TextVectorization",
    "IntegerLookup": "as TextVectorization",
}
# layers compared with Keras in their own files (outputs, gradients, masks, states)
COMPARED_ELSEWHERE = {
    "test_layers_rnn_keras.py": (
        "SimpleRNN LSTM GRU RNN SimpleRNNCell LSTMCell GRUCell ConvLSTM2D StackedRNNCells"
    ),
    "test_layers_sequence_keras.py": "Embedding Masking Bidirectional TimeDistributed",
    "test_layers_attention_keras.py": "Attention AdditiveAttention MultiHeadAttention",
}
ALIASES = {
    "AvgPool1D": "AveragePooling1D", "AvgPool2D": "AveragePooling2D",
    "AvgPool3D": "AveragePooling3D", "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D",
    "MaxPool3D": "MaxPooling3D", "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D", "GlobalAvgPool3D": "GlobalAveragePooling3D",
    "GlobalMaxPool1D": "GlobalMaxPooling1D", "GlobalMaxPool2D": "GlobalMaxPooling2D",
    "GlobalMaxPool3D": "GlobalMaxPooling3D", "Convolution1D": "Conv1D",
    "Convolution2D": "Conv2D", "Convolution3D": "Conv3D",
    "Convolution2DTranspose": "Conv2DTranspose", "Convolution3DTranspose": "Conv3DTranspose",
}  # fmt: skip

PARAMS = [
    pytest.param(name, kwargs, shape, id=f"{name}-{i}")
    for name, cases in CASES.items()
    for i, (kwargs, shape) in enumerate(cases)
]


def _build(name, kwargs, shape):
    def build(k):
        layer = getattr(k.layers, name)(**kwargs)
        if isinstance(shape, list):
            inputs = [k.Input(s) for s in shape]
            return k.Model(inputs, layer(inputs))
        return k.Sequential([k.Input(shape), layer])

    return build


@pytest.mark.parametrize(("name", "kwargs", "shape"), PARAMS)
def test_layer_matches_keras(name, kwargs, shape):
    rng = np.random.default_rng(0)
    shapes = shape if isinstance(shape, list) else [shape]
    xs = [rng.standard_normal((4, *s)).astype("float32") for s in shapes]
    x = xs if isinstance(shape, list) else xs[0]
    build = _build(name, kwargs, shape)
    keras_out = build(keras_module()).compute_output_shape(
        [(4, *s) for s in shape] if isinstance(shape, list) else (4, *shape)
    )
    y = rng.standard_normal(keras_out).astype("float32")
    train = name not in RANDOM_AT_TRAINING
    compare_with_keras(build, x, y, train=train, check_shapes=True)


def test_every_shared_layer_is_covered():
    keras = keras_module()
    shared = {
        n
        for n in lp.layers.__all__
        if isinstance(getattr(lp.layers, n), type) and hasattr(keras.layers, n)
    }
    elsewhere = set()
    for name, layers in COMPARED_ELSEWHERE.items():
        source = (Path(__file__).parent / name).read_text()
        elsewhere |= set(layers.split())
        # StackedRNNCells is what keras.layers.RNN builds from a list of cells
        named = [n for n in layers.split() if n != "StackedRNNCells"]
        assert all(re.search(rf"\b{n}\b", source) for n in named), name
    missing = shared - set(CASES) - set(NOT_COMPARED) - set(ALIASES) - elsewhere
    assert not missing, f"layers both frameworks have but not compared with Keras: {missing}"
    for alias, target in ALIASES.items():
        assert getattr(lp.layers, alias) is getattr(lp.layers, target)


def test_random_crop_at_inference_has_the_shape_keras_infers():
    keras = keras_module()
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 3)).astype("float32")
    want = keras.layers.RandomCrop(3, 3).compute_output_shape(x.shape)
    got = lp.layers.RandomCrop(3, 3)(x, training=False)
    assert tuple(want) == got.shape == (2, 3, 3, 3)


def test_strided_same_average_pooling_keeps_tensorflows_windows():
    """Keras on torch averages the last window of a strided 1-D "same" pooling as
    (6 + 7 + 7) / 3; TensorFlow, whose padding rule Keras documents and lapenna follows,
    averages the real cells 6 and 7 only."""
    x = np.arange(8, dtype="float32").reshape(1, 8, 1)
    got = lp.layers.AveragePooling1D(3, padding="same")(x).numpy().ravel()
    np.testing.assert_allclose(got, [1.0, 4.0, 6.5])

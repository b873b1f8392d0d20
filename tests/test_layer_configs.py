"""Every registered layer survives to_json / model_from_json with its config intact.

The layers under test come from the registry, not from a list: a layer whose constructor
needs no argument is built with its defaults on the first of a few standard inputs it
accepts; ``SAMPLES`` adds a case with arguments (non-default ones, which a round trip must
keep), and is the only place a new layer that needs arguments has to be named."""

import inspect

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.utils import get_registry

IMG = (6, 6, 3)
SAMPLES = {
    # class name: (constructor kwargs, one input's sample shape, number of inputs)
    "Activation": ({"activation": "tanh"}, (4,), 1),
    "ActivityRegularization": ({"l1": 0.01}, (4,), 1),
    "AveragePooling1D": ({"pool_size": 2}, (6, 3), 1),
    "AveragePooling2D": ({"pool_size": 2, "padding": "same"}, IMG, 1),
    "AveragePooling3D": ({"pool_size": 2}, (4, 4, 4, 2), 1),
    "BatchNormalization": ({"momentum": 0.9}, IMG, 1),
    "CenterCrop": ({"height": 4, "width": 4}, IMG, 1),
    "Concatenate": ({"axis": -1}, (4,), 2),
    "Conv1D": ({"filters": 2, "kernel_size": 3, "padding": "causal"}, (6, 3), 1),
    "Conv1DTranspose": ({"filters": 2, "kernel_size": 3, "strides": 2}, (6, 3), 1),
    "Conv2D": (
        {
            "filters": 4,
            "kernel_size": 3,
            "strides": 2,
            "activation": "relu",
            "kernel_regularizer": "l2",
            "kernel_constraint": "max_norm",
        },
        IMG,
        1,
    ),
    "Conv2DTranspose": ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, IMG, 1),
    "Conv3D": ({"filters": 2, "kernel_size": 2}, (4, 4, 4, 2), 1),
    "Conv3DTranspose": ({"filters": 2, "kernel_size": 2}, (4, 4, 4, 2), 1),
    "Cropping1D": ({"cropping": 1}, (6, 3), 1),
    "Cropping2D": ({"cropping": ((1, 0), (0, 2))}, IMG, 1),
    "Cropping3D": ({"cropping": 1}, (4, 4, 4, 2), 1),
    "Dense": ({"units": 3, "activation": "gelu", "use_bias": False}, (4,), 1),
    "DepthwiseConv2D": ({"kernel_size": 3, "depth_multiplier": 2}, IMG, 1),
    "Dot": ({"axes": 1}, (4,), 2),
    "Dropout": ({"rate": 0.3}, (4,), 1),
    "ELU": ({"alpha": 0.5}, (4,), 1),
    "GaussianDropout": ({"rate": 0.2}, (4,), 1),
    "GaussianNoise": ({"stddev": 0.1}, (4,), 1),
    "VAESampling": ({"kl_weight": 0.5, "seed": 1}, (4,), 2),
    "GlobalAveragePooling2D": ({"keepdims": True}, IMG, 1),
    "GroupNormalization": ({"groups": 3}, IMG, 1),
    "LayerNormalization": ({"axis": -1}, (4,), 1),
    "LeakyReLU": ({"negative_slope": 0.1}, (4,), 1),
    "MaxPooling1D": ({"pool_size": 2}, (6, 3), 1),
    "MaxPooling2D": ({"pool_size": 3, "strides": 2}, IMG, 1),
    "MaxPooling3D": ({"pool_size": 2}, (4, 4, 4, 2), 1),
    "Normalization": ({"mean": [0.0, 1.0, 2.0], "variance": [1.0, 2.0, 3.0]}, IMG, 1),
    "PReLU": ({"shared_axes": [1, 2]}, IMG, 1),
    "Permute": ({"dims": (2, 1)}, (6, 3), 1),
    "RandomBrightness": ({"factor": 0.2, "seed": 1}, IMG, 1),
    "RandomContrast": ({"factor": 0.2, "seed": 1}, IMG, 1),
    "RandomCrop": ({"height": 4, "width": 4, "seed": 1}, IMG, 1),
    "RandomFlip": ({"mode": "horizontal", "seed": 1}, IMG, 1),
    "RandomRotation": ({"factor": 0.1, "seed": 1}, IMG, 1),
    "RandomTranslation": ({"height_factor": 0.1, "width_factor": 0.1, "seed": 1}, IMG, 1),
    "RandomZoom": ({"height_factor": 0.1, "seed": 1}, IMG, 1),
    "ReLU": ({"max_value": 6.0}, (4,), 1),
    "RepeatVector": ({"n": 3}, (4,), 1),
    "Rescaling": ({"scale": 1 / 255}, IMG, 1),
    "Reshape": ({"target_shape": (2, 2)}, (4,), 1),
    "Resizing": ({"height": 3, "width": 4, "interpolation": "nearest"}, IMG, 1),
    "SeparableConv2D": ({"filters": 4, "kernel_size": 3, "padding": "same"}, IMG, 1),
    "Softmax": ({"axis": -1}, (4,), 1),
    "SpatialDropout1D": ({"rate": 0.2}, (6, 3), 1),
    "SpatialDropout2D": ({"rate": 0.2}, IMG, 1),
    "SpatialDropout3D": ({"rate": 0.2}, (4, 4, 4, 2), 1),
    "UpSampling1D": ({"size": 2}, (6, 3), 1),
    "UpSampling2D": ({"size": 2, "interpolation": "bilinear"}, IMG, 1),
    "UpSampling3D": ({"size": 2}, (4, 4, 4, 2), 1),
    "ZeroPadding1D": ({"padding": 2}, (6, 3), 1),
    "ZeroPadding2D": ({"padding": ((1, 2), (0, 1))}, IMG, 1),
    "ZeroPadding3D": ({"padding": 1}, (4, 4, 4, 2), 1),
    # sequence layers
    "PositionEmbedding": ({"sequence_length": 8}, (5, 3), 1),
    "SinePositionEncoding": ({"max_wavelength": 100.0}, (5, 3), 1),
    "TransformerDecoder": ({"intermediate_dim": 4, "num_heads": 1}, (5, 3), 1),
    "TransformerEncoder": (
        {"intermediate_dim": 4, "num_heads": 1, "normalize_first": True},
        (5, 3),
        1,
    ),
    "AdditiveAttention": ({"use_scale": True}, (5, 3), 2),
    "Attention": ({"score_mode": "concat"}, (5, 3), 2),
    "MultiHeadAttention": ({"num_heads": 2, "key_dim": 2, "value_dim": 3}, (5, 3), 2),
    "ConvLSTM2D": ({"filters": 2, "kernel_size": 2, "padding": "same"}, (3, 4, 4, 2), 1),
    "Bidirectional": ({"layer": lp.layers.GRU(3, return_sequences=True)}, (5, 3), 1),
    "GRU": ({"units": 3, "reset_after": False, "go_backwards": True}, (5, 3), 1),
    "LSTM": ({"units": 3, "return_sequences": True, "recurrent_dropout": 0.2}, (5, 3), 1),
    "Masking": ({"mask_value": 0.5}, (5, 3), 1),
    "RNN": ({"cell": [{"class_name": "LSTMCell", "config": {"units": 3}}]}, (5, 3), 1),
    "SimpleRNN": ({"units": 3, "activation": "relu"}, (5, 3), 1),
    "TimeDistributed": ({"layer": lp.layers.Dense(2)}, (5, 3), 1),
}
# the model containers and the graph's entry are exercised by every model below; a Lambda
# holds code and is refused by design (tests/test_saving.py)
NOT_STANDALONE = {"Functional", "Sequential", "InputLayer", "Lambda", "MaxUnpooling2D"}
# cells take (inputs, states) and run inside RNN; Embedding takes integer ids: both are
# round-tripped in tests/test_layers_rnn.py
NOT_STANDALONE |= {"SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells", "Embedding"}
NOT_STANDALONE |= {
    "TokenAndPositionEmbedding",
    "ConvLSTM2DCell",
}  # integer ids too: tests/test_transformer.py
# models of two networks: their save/load round trips are in test_gan.py and test_wgan.py
NOT_STANDALONE |= {"GAN", "WGAN", "WGANGP", "ConditionalGAN", "Pix2Pix"}
# text layers take strings on the host, outside symbolic graphs: tests/test_layers_text.py
NOT_STANDALONE |= {"IntegerLookup", "StringLookup", "TextVectorization"}


# the inputs a layer built with its defaults is tried on, in order: (shape, inputs)
STANDARD_INPUTS = [((4,), 1), ((6, 3), 1), (IMG, 1), ((4, 4, 4, 2), 1), ((4,), 2), ((5, 3), 2)]
# GroupNormalization's default is 32 groups, as in Keras
STANDARD_INPUTS.append(((4, 4, 32), 1))


def _needs_arguments(cls):
    return any(
        p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
    )


def _default_sample(cls):
    """``({}, shape, n_inputs)`` for the first standard input ``cls()`` builds on."""
    for shape, n_inputs in STANDARD_INPUTS:
        inputs = [layers.Input(shape) for _ in range(n_inputs)]
        try:
            cls()(inputs if n_inputs > 1 else inputs[0])
        except (ValueError, TypeError):
            continue
        return {}, shape, n_inputs
    return None


def _cases():
    cases = []
    for name in sorted(set(get_registry("layers").classes()) - NOT_STANDALONE):
        cls = get_registry("layers").lookup(name)
        if name in SAMPLES:
            cases.append(pytest.param(name, SAMPLES[name], id=f"{name}-arguments"))
        if not _needs_arguments(cls):
            cases.append(pytest.param(name, None, id=f"{name}-defaults"))
        elif name not in SAMPLES:  # fails below, naming what to add
            cases.append(pytest.param(name, "missing", id=f"{name}-missing"))
    return cases


def test_the_cases_cover_the_registry_and_both_kinds():
    ids = [case.id for case in _cases()]
    assert not [i for i in ids if i.endswith("-missing")]
    assert sum(i.endswith("-defaults") for i in ids) >= 30
    assert sum(i.endswith("-arguments") for i in ids) >= len(SAMPLES) - 1
    assert not set(SAMPLES) - {i.rsplit("-", 1)[0] for i in ids}, "a row for no layer"


@pytest.mark.parametrize(("name", "sample"), _cases())
def test_json_round_trip(name, sample):
    cls = get_registry("layers").lookup(name)
    assert sample != "missing", (
        f"{name}'s constructor needs arguments: add a row to SAMPLES in {__name__}"
    )
    if sample is None:
        sample = _default_sample(cls)
        assert sample is not None, f"{name}() builds on none of {STANDARD_INPUTS}"
    kwargs, shape, n_inputs = sample
    inputs = [layers.Input(shape) for _ in range(n_inputs)]
    layer = cls(**kwargs)
    outputs = layer(inputs if n_inputs > 1 else inputs[0])
    model = lp.Model(inputs if n_inputs > 1 else inputs[0], outputs)
    clone = lp.models.model_from_json(model.to_json())
    original, rebuilt = model.layers[-1], clone.layers[-1]
    assert type(rebuilt) is cls
    assert rebuilt.get_config() == original.get_config()
    assert clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    x = [
        np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32)
        for _ in range(n_inputs)
    ]
    x = x if n_inputs > 1 else x[0]
    np.testing.assert_allclose(
        clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6
    )


def test_unpooling_round_trip_in_its_graph():
    inputs = layers.Input((4, 4, 2))
    values, indices = layers.MaxPooling2D(2, return_indices=True)(inputs)
    model = lp.Model(inputs, layers.MaxUnpooling2D(2)([values, indices]))
    clone = lp.models.model_from_json(model.to_json())
    assert clone.layers[-1].get_config() == model.layers[-1].get_config()
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))

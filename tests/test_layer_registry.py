"""What a new layer must come with, derived from the registry rather than kept by hand."""

import lapenna as lp
from lapenna.io.onnx_graph import CONVERTERS
from lapenna.utils import get_registry

# registered layers that export_onnx refuses (with a clear error) or does not need to
# convert: graph containers are flattened, InputLayer becomes a graph input
WITHOUT_ONNX_CONVERTER = {
    "CenterCrop",
    "Dot",
    "Functional",
    "GroupNormalization",
    "InputLayer",
    "Lambda",
    "MaxUnpooling2D",
    "Normalization",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "RepeatVector",
    "Resizing",
    "Sequential",
    # sequence layers: the cells export through SimpleRNN/LSTM/GRU/Bidirectional; attention,
    # positional layers, transformer blocks, ConvLSTM2D and TimeDistributed have no converter yet
    "AdditiveAttention",
    "Attention",
    "ConvLSTM2D",
    "ConvLSTM2DCell",
    "GRUCell",
    "LSTMCell",
    "Masking",
    "MultiHeadAttention",
    "PositionEmbedding",
    "RNN",
    "SimpleRNNCell",
    "SinePositionEncoding",
    "StackedRNNCells",
    "TimeDistributed",
    "TokenAndPositionEmbedding",
    "TransformerDecoder",
    "TransformerEncoder",
    # models of two networks (their networks export one by one) and the VAE's sampling layer
    "ConditionalGAN",
    "GAN",
    "Pix2Pix",
    "VAESampling",
    "WGAN",
    "WGANGP",
    # text layers run on the host in the input pipeline, on strings
    "IntegerLookup",
    "StringLookup",
    "TextVectorization",
}


def test_layers_all_is_every_layer_class_it_binds():
    registered = {
        name
        for name, cls in get_registry("layers").classes().items()
        if cls.__module__.startswith("lapenna.layers.")
    }
    assert registered <= set(lp.layers.__all__)
    assert {"Conv2D", "Convolution2D", "MaxPool2D", "BaseConv", "Input", "InputSpec"} <= set(
        lp.layers.__all__
    )
    assert all(hasattr(lp.layers, name) for name in lp.layers.__all__)
    assert len(set(lp.layers.__all__)) == len(lp.layers.__all__)


def test_layers_without_an_onnx_converter_are_the_listed_ones():
    layers = set(get_registry("layers").classes())
    without = layers - set(CONVERTERS)
    assert without == WITHOUT_ONNX_CONVERTER, (
        f"new layers without a converter: {sorted(without - WITHOUT_ONNX_CONVERTER)}; "
        f"listed but converted now: {sorted(WITHOUT_ONNX_CONVERTER - without)}"
    )

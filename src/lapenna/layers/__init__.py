"""Layers: the bricks networks are built from, with the Keras lifecycle and names."""

# ruff: noqa: F401 - the imports are the public names; __all__ is derived from them below

from lapenna.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from lapenna.layers.affine_augmentation import RandomRotation, RandomTranslation, RandomZoom
from lapenna.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from lapenna.layers.base import Layer, register_layer, trace_calls
from lapenna.layers.conv_lstm import ConvLSTM2D, ConvLSTM2DCell
from lapenna.layers.conv_transpose import (
    BaseConvTranspose,
    Conv1DTranspose,
    Conv2DTranspose,
    Conv3DTranspose,
)
from lapenna.layers.convolutional import BaseConv, Conv1D, Conv2D, Conv3D
from lapenna.layers.core import (
    Activation,
    Dense,
    Flatten,
    Identity,
    Input,
    InputLayer,
    Lambda,
    Reshape,
)
from lapenna.layers.depthwise_conv import DepthwiseConv2D, SeparableConv2D
from lapenna.layers.embedding import Embedding, Masking
from lapenna.layers.global_pooling import (
    BaseGlobalPooling,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
)
from lapenna.layers.image_augmentation import (
    BaseImageAugmentationLayer,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
)
from lapenna.layers.image_preprocessing import CenterCrop, Resizing
from lapenna.layers.input_spec import InputSpec
from lapenna.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Merge,
    Minimum,
    Multiply,
    Subtract,
)
from lapenna.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
)
from lapenna.layers.padding import (
    BaseCropping,
    BaseZeroPadding,
    Cropping1D,
    Cropping2D,
    Cropping3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)
from lapenna.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    BasePooling,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
    MaxUnpooling2D,
)
from lapenna.layers.positional import (
    PositionEmbedding,
    SinePositionEncoding,
    TokenAndPositionEmbedding,
)
from lapenna.layers.preprocessing import Normalization, Rescaling
from lapenna.layers.regularization import (
    ActivityRegularization,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from lapenna.layers.reshaping import (
    BaseUpSampling,
    Permute,
    RepeatVector,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
)
from lapenna.layers.rnn import GRU, LSTM, RNN, SimpleRNN
from lapenna.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from lapenna.layers.seeding import SeededLayer
from lapenna.layers.symbolic import SymbolicTensor
from lapenna.layers.text import IntegerLookup, StringLookup, TextVectorization
from lapenna.layers.wrappers import Bidirectional, TimeDistributed


def _is_layer_class(obj):
    return isinstance(obj, type) and issubclass(obj, Layer)


# Keras's shorter spellings of the same classes
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution2DTranspose, Convolution3DTranspose = Conv2DTranspose, Conv3DTranspose
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
)
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
)

# every Layer class bound above, under each of its names (the Keras spellings too), so a
# new layer needs only its import line; plus the helpers that are not layers
__all__ = [
    "InputSpec",
    "SymbolicTensor",
    "register_layer",
    "trace_calls",
    "Input",
    *sorted(name for name, obj in dict(globals()).items() if _is_layer_class(obj)),
]

from lapenna.layers import experimental  # noqa: E402, F401 - tf.keras 2 spelling

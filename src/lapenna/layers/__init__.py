"""Layers: the bricks networks are built from, with the Keras lifecycle and names."""

from lapenna.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from lapenna.layers.affine_augmentation import RandomRotation, RandomTranslation, RandomZoom
from lapenna.layers.base import Layer, register_layer, trace_calls
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
from lapenna.layers.seeding import SeededLayer
from lapenna.layers.symbolic import SymbolicTensor

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

__all__ = [
    "Layer",
    "InputSpec",
    "SymbolicTensor",
    "register_layer",
    "trace_calls",
    "Input",
    "InputLayer",
    "Dense",
    "Activation",
    "Identity",
    "Lambda",
    "Flatten",
    "Reshape",
    # convolution
    "BaseConv",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "BaseConvTranspose",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "Convolution1D",
    "Convolution2D",
    "Convolution3D",
    "Convolution2DTranspose",
    "Convolution3DTranspose",
    # pooling
    "BasePooling",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "MaxUnpooling2D",
    "BaseGlobalPooling",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
    # normalization
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    # merging
    "Merge",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
    "Dot",
    # reshaping
    "Permute",
    "RepeatVector",
    "BaseUpSampling",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "BaseZeroPadding",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "BaseCropping",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    # regularization
    "SeededLayer",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "ActivityRegularization",
    # activations
    "ReLU",
    "LeakyReLU",
    "ELU",
    "PReLU",
    "Softmax",
    # preprocessing and augmentation
    "Rescaling",
    "Normalization",
    "Resizing",
    "CenterCrop",
    "BaseImageAugmentationLayer",
    "RandomFlip",
    "RandomCrop",
    "RandomRotation",
    "RandomZoom",
    "RandomTranslation",
    "RandomContrast",
    "RandomBrightness",
]

from lapenna.layers import experimental  # noqa: E402, F401 - tf.keras 2 spelling

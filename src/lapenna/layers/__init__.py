"""Layers: the bricks networks are built from, with the Keras lifecycle and names."""

from lapenna.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from lapenna.layers.affine_augmentation import RandomRotation, RandomTranslation, RandomZoom
from lapenna.layers.base import Layer, register_layer, trace_calls
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
from lapenna.layers.image_augmentation import (
    BaseImageAugmentationLayer,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
)
from lapenna.layers.image_preprocessing import CenterCrop, Resizing
from lapenna.layers.input_spec import InputSpec
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
from lapenna.layers.seeding import SeededLayer
from lapenna.layers.symbolic import SymbolicTensor

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
    "SeededLayer",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "ActivityRegularization",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "PReLU",
    "Softmax",
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

"""Layers: the bricks networks are built from, with the Keras lifecycle and names."""

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
from lapenna.layers.input_spec import InputSpec
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
]

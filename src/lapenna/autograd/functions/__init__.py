"""The primitives: one ``Function`` subclass each, forward and backward side by side."""

from lapenna.autograd.functions.conv import Conv, ConvKernelGrad, ConvTranspose
from lapenna.autograd.functions.elementwise import (
    Abs,
    Add,
    Cast,
    Clip,
    Divide,
    Exp,
    Log,
    Maximum,
    Minimum,
    Multiply,
    Negative,
    Power,
    Relu,
    Sigmoid,
    Sign,
    Sqrt,
    Subtract,
    Tanh,
    Where,
)
from lapenna.autograd.functions.linalg import MatMul, matmul
from lapenna.autograd.functions.losses import (
    SigmoidCrossEntropy,
    SoftmaxCrossEntropy,
    SparseSoftmaxCrossEntropy,
)
from lapenna.autograd.functions.norm import Normalize
from lapenna.autograd.functions.pool import (
    AvgPool,
    AvgPoolAdjoint,
    MaxPool,
    MaxPoolGather,
    MaxPoolScatter,
)
from lapenna.autograd.functions.reduction import Max, Sum
from lapenna.autograd.functions.shape import (
    BroadcastTo,
    Concatenate,
    GetItem,
    IndexAdd,
    Pad,
    Reshape,
    Transpose,
)
from lapenna.autograd.functions.softmax import LogSoftmax, Softmax
from lapenna.autograd.functions.special import Erf

__all__ = [
    "Abs",
    "Add",
    "Cast",
    "Clip",
    "Divide",
    "Exp",
    "Log",
    "Maximum",
    "Minimum",
    "Multiply",
    "Negative",
    "Power",
    "Relu",
    "Sigmoid",
    "Sign",
    "Sqrt",
    "Subtract",
    "Tanh",
    "Where",
    "MatMul",
    "matmul",
    "Max",
    "Sum",
    "BroadcastTo",
    "Concatenate",
    "GetItem",
    "IndexAdd",
    "Pad",
    "Reshape",
    "Transpose",
    "LogSoftmax",
    "Softmax",
    "Erf",
    "SigmoidCrossEntropy",
    "SoftmaxCrossEntropy",
    "SparseSoftmaxCrossEntropy",
    "Conv",
    "ConvKernelGrad",
    "ConvTranspose",
    "Normalize",
    "AvgPool",
    "AvgPoolAdjoint",
    "MaxPool",
    "MaxPoolGather",
    "MaxPoolScatter",
]

"""lapenna: a deep-learning framework in which every computation is visible linear algebra.

>>> import lapenna as lp
>>> x = lp.tensor([1.0, 2.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad.numpy().tolist()
[2.0, 4.0]
"""

from lapenna import activations  # noqa: I001 - one room per line keeps merges simple
from lapenna import applications
from lapenna import backend
from lapenna import callbacks
from lapenna import constraints
from lapenna import data
from lapenna import datasets
from lapenna import distributed
from lapenna import initializers
from lapenna import io
from lapenna import layers
from lapenna import losses
from lapenna import metrics
from lapenna import models
from lapenna import ops
from lapenna import optimizers
from lapenna import plot
from lapenna import random
from lapenna import regularizers
from lapenna import rl
from lapenna import keras_utils
from lapenna import utils  # the level-0 internals, given the keras.utils names below
from lapenna.keras_utils import preprocessing  # keras.preprocessing.sequence.pad_sequences
from lapenna import vision
from lapenna.autograd import (
    Function,
    GradientTape,
    Tensor,
    Variable,
    enable_grad,
    grad,
    no_grad,
    tensor,
)
from lapenna.autograd.captured import function
from lapenna.models import Model, Sequential
from lapenna.layers import Input  # Keras's ``keras.Input``
from lapenna.backend import (
    DeviceError,
    floatx,
    get_device,
    get_num_threads,
    get_rng_state,
    set_device,
    set_floatx,
    set_num_threads,
    set_rng_state,
    set_seed,
)

from lapenna.utils.version import __version__

# keras.utils: lapenna.utils.to_categorical and `from lapenna.utils import pad_sequences`
utils.bind_keras_names(
    {name: getattr(keras_utils, name) for name in keras_utils.__all__ if name not in vars(utils)}
)

__all__ = [
    "Model",
    "Input",
    "Sequential",
    "layers",
    "models",
    "Tensor",
    "Variable",
    "Function",
    "function",
    "tensor",
    "grad",
    "no_grad",
    "enable_grad",
    "GradientTape",
    "floatx",
    "set_floatx",
    "set_device",
    "get_device",
    "DeviceError",
    "set_seed",
    "get_rng_state",
    "set_rng_state",
    "get_num_threads",
    "set_num_threads",
    "applications",
    "backend",
    "callbacks",
    "io",
    "data",
    "datasets",
    "distributed",
    "ops",
    "plot",
    "utils",
    "preprocessing",
    "vision",
    "initializers",
    "random",
    "regularizers",
    "rl",
    "constraints",
    "activations",
    "losses",
    "metrics",
    "optimizers",
    "__version__",
]

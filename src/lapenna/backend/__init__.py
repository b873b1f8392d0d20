"""The array backend: the one place that imports numpy (and cupy, for a GPU).

Everything above this room works on the array namespace ``xp`` (numpy, or cupy after
``set_device("cuda")``: see ``device``) and the helpers here: the
default float type, the seeded random streams (one per purpose), and BLAS thread control.
Code whose arrays stay on the host (file formats, the data pipeline, host-side metrics)
imports ``host_np`` (numpy itself) instead, and says so by that import:
``from lapenna.backend import host_np as np``.
Raw kernels that are pure array manipulation live beside them: ``conv`` (im2col, GEMMs,
col2im) and ``winograd``, ``pool``, ``norm`` and ``resample``.
"""

# first: it must run before numpy is imported (see its docstring)
from lapenna.backend import process  # noqa: F401, I001
from lapenna.backend.conv import (
    conv_forward,
    conv_input_grad,
    conv_kernel_grad,
    conv_output_size,
    pad_spatial,
)
from lapenna.backend.core import (
    as_array,
    cast_like,
    floatx,
    host_np,
    is_float_dtype,
    set_floatx,
    to_dtype,
    xp,
)
from lapenna.backend.device import (
    DEVICES,
    DeviceError,
    array_device,
    check_same_device,
    device_description,
    get_device,
    gpu_memory,
    is_device_array,
    set_device,
    synchronize,
    to_device,
    to_host,
)
from lapenna.backend.elementwise import relu, relu_grad
from lapenna.backend.fused import adam_, sgd_momentum_
from lapenna.backend.norm import axis_sum, moments, normalize, normalize_backward
from lapenna.backend.parallel import map_chunks, matmul, single_blas, workers
from lapenna.backend.pool import (
    argmax_positions,
    avg_pool,
    avg_pool_adjoint,
    max_pool,
    max_pool_gather,
    max_pool_values,
    max_pool_scatter,
    pool_output_size,
)
from lapenna.backend.budget import WeightBudgetError, charge_weight, weight_budget
from lapenna.backend.random import (
    DATA_PURPOSES,
    MODEL_PURPOSES,
    PURPOSES,
    dropout_mask,
    generator,
    get_rng_state,
    make_generator,
    set_rng_state,
    set_seed,
)
from lapenna.backend.resample import interpolation_matrix
from lapenna.backend.threads import get_num_threads, set_num_threads

__all__ = [
    "xp",
    "host_np",
    "DEVICES",
    "DeviceError",
    "array_device",
    "check_same_device",
    "device_description",
    "get_device",
    "gpu_memory",
    "synchronize",
    "set_device",
    "is_device_array",
    "to_device",
    "to_host",
    "floatx",
    "set_floatx",
    "as_array",
    "cast_like",
    "is_float_dtype",
    "to_dtype",
    "set_seed",
    "generator",
    "make_generator",
    "get_rng_state",
    "set_rng_state",
    "weight_budget",
    "charge_weight",
    "WeightBudgetError",
    "PURPOSES",
    "DATA_PURPOSES",
    "MODEL_PURPOSES",
    "get_num_threads",
    "matmul",
    "relu",
    "relu_grad",
    "adam_",
    "sgd_momentum_",
    "single_blas",
    "map_chunks",
    "workers",
    "set_num_threads",
    "conv_forward",
    "conv_input_grad",
    "conv_kernel_grad",
    "conv_output_size",
    "pad_spatial",
    "max_pool",
    "max_pool_values",
    "max_pool_scatter",
    "max_pool_gather",
    "argmax_positions",
    "avg_pool",
    "avg_pool_adjoint",
    "pool_output_size",
    "axis_sum",
    "moments",
    "normalize",
    "normalize_backward",
    "dropout_mask",
    "interpolation_matrix",
]

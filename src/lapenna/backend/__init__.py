"""The array backend: the one place that imports numpy.

Everything above this room works on the array namespace ``xp`` and the helpers here:
the default float type, the single seeded random generator, and BLAS thread control.
Raw kernels that are pure array manipulation (im2col, col2im, window views) live in
``backend.kernels``.
"""

from lapenna.backend.core import (
    as_array,
    cast_like,
    floatx,
    is_float_dtype,
    set_floatx,
    to_dtype,
    xp,
)
from lapenna.backend.random import (
    generator,
    get_rng_state,
    make_generator,
    set_rng_state,
    set_seed,
)
from lapenna.backend.threads import get_num_threads, set_num_threads

__all__ = [
    "xp",
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
    "get_num_threads",
    "set_num_threads",
]

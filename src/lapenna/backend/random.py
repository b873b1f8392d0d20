"""One seeded generator that every random draw in lapenna comes from."""

import numpy as xp

_generator = xp.random.default_rng()


def set_seed(seed):
    """Seed the global generator: initializers, dropout, shuffling and augmentation.

    The same seed gives bit-identical training on the same machine.
    """
    global _generator
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_seed expects a non-negative int, got {seed!r}")
    _generator = xp.random.default_rng(seed)


def generator():
    """Return the global ``numpy.random.Generator``."""
    return _generator


def make_generator(seed=None):
    """Return ``seed`` if it is already a Generator, a new one for an int, else the global one."""
    if seed is None:
        return _generator
    if isinstance(seed, xp.random.Generator):
        return seed
    return xp.random.default_rng(seed)


def get_rng_state():
    """Return the global generator's state as a JSON-safe dict (for checkpoints)."""
    return _generator.bit_generator.state


def set_rng_state(state):
    """Restore the global generator from :func:`get_rng_state`'s dict."""
    if not isinstance(state, dict) or "bit_generator" not in state:
        raise ValueError(f"set_rng_state expects a generator state dict, got {type(state)}")
    bit_gen = getattr(xp.random, state["bit_generator"], None)
    if bit_gen is None or state["bit_generator"] not in (
        "PCG64",
        "PCG64DXSM",
        "Philox",
        "MT19937",
        "SFC64",
    ):
        raise ValueError(f"unknown bit generator {state['bit_generator']!r} in RNG state")
    global _generator
    bg = bit_gen()
    bg.state = state
    _generator = xp.random.Generator(bg)


def dropout_mask(shape, rate, dtype, generator=None):
    """Inverted-dropout multipliers: 0 with probability ``rate``, else ``1 / (1 - rate)``.

    Draws from ``make_generator(generator)`` (the global seeded generator by default) and
    returns an array of ``dtype`` (float32 draws for float32 work, never float64).
    """
    dtype = xp.dtype(dtype)
    draw = xp.float64 if dtype == xp.float64 else xp.float32
    keep = make_generator(generator).random(shape, dtype=draw) >= rate
    mask = keep.astype(dtype)
    mask *= dtype.type(1.0 / (1.0 - rate))
    return mask

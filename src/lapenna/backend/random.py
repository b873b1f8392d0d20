"""The seeded generators every random draw in lapenna comes from: one per purpose.

``set_seed(n)`` seeds four independent streams derived from ``n`` (numpy's
``SeedSequence`` spawn keys, the way modern frameworks split one seed):

- ``"default"``: weight initializers and anything that names no purpose;
- ``"shuffle"``: the order of shuffled arrays and ``Dataset.shuffle``;
- ``"augment"``: the augmentation functions of ``lapenna.data.augment`` in a pipeline;
- ``"noise"``: randomness inside the model while it trains (dropout, noise layers,
  augmentation layers).

The split is what makes a resumed run exact: the data pipeline's draws (shuffle,
augmentation) and the model's (dropout) never interleave in one stream, so a resumed epoch
can replay the pipeline from the epoch's start while the model's stream continues from the
saved batch. The streams are numpy generators on the host on every device: their state is
what a checkpoint saves, and the same seed draws the same initial weights on the CPU and on
a GPU (the draws are copied to the device). ``get_rng_state`` returns every stream's state
as one JSON-safe dict.
"""

import numpy as host_np

from lapenna.backend.device import to_device

PURPOSES = ("default", "shuffle", "augment", "noise")
DATA_PURPOSES = ("default", "shuffle", "augment")
MODEL_PURPOSES = ("noise",)
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "MT19937", "SFC64")

_generators = {purpose: host_np.random.default_rng() for purpose in PURPOSES}


def _streams(seed):
    """The generators of ``seed``: ``default`` is ``default_rng(seed)`` itself, so weights
    drawn under a seed are the same as before the streams were split."""
    streams = {"default": host_np.random.default_rng(seed)}
    for index, purpose in enumerate(PURPOSES[1:], start=1):
        streams[purpose] = host_np.random.default_rng(
            host_np.random.SeedSequence(seed, spawn_key=(index,))
        )
    return streams


def set_seed(seed):
    """Seed every stream from one int: initializers, shuffling, augmentation, dropout.

    The same seed gives bit-identical training on the same machine.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_seed expects a non-negative int, got {seed!r}")
    _generators.update(_streams(seed))


def _check_purpose(purpose):
    if purpose not in _generators:
        raise ValueError(f"unknown random purpose {purpose!r}; expected one of {PURPOSES}")


def generator(purpose="default"):
    """Return the ``numpy.random.Generator`` of ``purpose`` (see the module docstring)."""
    _check_purpose(purpose)
    return _generators[purpose]


def make_generator(seed=None, purpose="default"):
    """``seed`` if it is a Generator, a new one for an int, else the stream of ``purpose``."""
    if seed is None:
        return generator(purpose)
    if isinstance(seed, host_np.random.Generator):
        return seed
    return host_np.random.default_rng(seed)


def get_rng_state(purposes=PURPOSES):
    """Every stream's state as a JSON-safe dict ``{"streams": {purpose: state}}``."""
    for purpose in purposes:
        _check_purpose(purpose)
    return {"streams": {p: _generators[p].bit_generator.state for p in purposes}}


def set_rng_state(state, purposes=None):
    """Restore streams from :func:`get_rng_state`'s dict (only ``purposes`` when given).

    A single generator's state (the format of files written before the streams were
    split) restores the ``default`` stream. Everything is checked before any stream
    changes.
    """
    if isinstance(state, dict) and "bit_generator" in state:
        state = {"streams": {"default": state}}
    if not isinstance(state, dict) or not isinstance(state.get("streams"), dict):
        raise ValueError(f"set_rng_state expects get_rng_state()'s dict, got {_describe(state)}")
    streams = state["streams"]
    wanted = [p for p in (purposes if purposes is not None else streams) if p in streams]
    built = {}
    for purpose in wanted:
        _check_purpose(purpose)
        built[purpose] = _generator_from_state(purpose, streams[purpose])
    _generators.update(built)


def _generator_from_state(purpose, state):
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if not isinstance(name, str) or name not in _BIT_GENERATORS:
        raise ValueError(f"unknown bit generator {name!r} in the RNG state of {purpose!r}")
    bit_generator = getattr(host_np.random, name)()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as err:
        raise ValueError(f"bad RNG state for {purpose!r}: {err}") from None
    return host_np.random.Generator(bit_generator)


def _describe(value):
    return (
        f"a dict with keys {sorted(map(str, value))[:6]}"
        if isinstance(value, dict)
        else (type(value).__name__)
    )


def dropout_mask(shape, rate, dtype, generator=None):
    """Inverted-dropout multipliers: 0 with probability ``rate``, else ``1 / (1 - rate)``.

    Draws from ``make_generator(generator, "noise")`` (the seeded ``noise`` stream by
    default) and returns an array of ``dtype`` (float32 draws for float32 work, never
    float64).
    """
    dtype = host_np.dtype(dtype)
    draw = host_np.float64 if dtype == host_np.float64 else host_np.float32
    keep = make_generator(generator, "noise").random(shape, dtype=draw) >= rate
    mask = keep.astype(dtype)
    mask *= dtype.type(1.0 / (1.0 - rate))
    return to_device(mask)

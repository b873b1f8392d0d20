"""Fuzzing the IDX and CIFAR readers: any input loads or raises DatasetFormatError.

Never an unhandled numpy error, an IndexError, a MemoryError from a lying header, or a hang.
"""

import gzip

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_builders import cifar_bytes, cifar_like, idx_bytes
from lapenna.datasets import DatasetFormatError, parse_cifar_binary, parse_idx
from lapenna.datasets.idx import gunzip_if_needed

FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALID_IDX = idx_bytes(np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4))
VALID_CIFAR = cifar_bytes(*cifar_like(2))


def _loads_or_refuses(parse, data):
    try:
        result = parse(data)
    except DatasetFormatError:
        return None
    return result


@FUZZ
@given(st.binary(max_size=200))
def test_idx_random_bytes(data):
    out = _loads_or_refuses(lambda d: parse_idx(d, "fuzz"), data)
    assert out is None or isinstance(out, np.ndarray)


@FUZZ
@given(
    type_code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x0A, 0xFF]),
    dims=st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 6), min_size=0, max_size=5),
    declared=st.integers(0, 255),
    body=st.binary(max_size=300),
)
def test_idx_structured_headers(type_code, dims, declared, body):
    ndim = declared if declared < 6 else len(dims)
    header = bytes([0, 0, type_code, ndim]) + b"".join(d.to_bytes(4, "big") for d in dims)
    out = _loads_or_refuses(lambda d: parse_idx(d, "fuzz"), header + body)
    if out is not None:
        assert out.ndim == ndim and out.dtype.isnative


@FUZZ
@given(st.data())
def test_idx_mutated_valid_file(data):
    blob = bytearray(VALID_IDX)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(blob) - 1))
        blob[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(blob)))
    _loads_or_refuses(lambda d: parse_idx(d, "fuzz"), bytes(blob[:cut]))


@FUZZ
@given(st.data())
def test_gzip_streams_corrupted_anywhere(data):
    blob = bytearray(gzip.compress(VALID_IDX))
    position = data.draw(st.integers(0, len(blob) - 1))
    blob[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(2, len(blob)))
    try:
        content = gunzip_if_needed(bytes(blob[:cut]), "fuzz.gz")
    except DatasetFormatError:
        return
    _loads_or_refuses(lambda d: parse_idx(d, "fuzz.gz"), content)


@FUZZ
@given(
    records=st.integers(0, 3),
    extra=st.integers(-3, 3),
    labels=st.lists(st.integers(0, 255), min_size=6, max_size=6),
    two_labels=st.booleans(),
)
def test_cifar_sizes_and_labels(records, extra, labels, two_labels):
    classes = (20, 100) if two_labels else (10,)
    record = len(classes) + 3072
    blob = bytearray(
        np.random.default_rng(records).integers(0, 256, record * records, dtype=np.uint8)
    )
    for i in range(records):
        blob[i * record : i * record + len(classes)] = bytes(labels[2 * i : 2 * i + len(classes)])
    blob = bytes(blob[: max(0, len(blob) + extra)]) if extra < 0 else bytes(blob) + b"\x07" * extra
    out = _loads_or_refuses(lambda d: parse_cifar_binary(d, "fuzz.bin", classes), blob)
    if out is not None:
        images, found = out
        assert images.shape == (records, 32, 32, 3) and found.shape == (records, len(classes))


@FUZZ
@given(st.binary(max_size=7000))
def test_cifar_random_bytes(data):
    _loads_or_refuses(lambda d: parse_cifar_binary(d, "fuzz.bin"), data)
    _loads_or_refuses(
        lambda d: parse_cifar_binary(d, "fuzz.bin", (20, 100)), VALID_CIFAR[:1] + data
    )

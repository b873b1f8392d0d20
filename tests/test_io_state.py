import numpy as np
import pytest

import lapenna as lp
from lapenna.io import (
    FormatError,
    dumps_config,
    flatten_state,
    load_state,
    loads_config,
    save_state,
    unflatten_state,
)


def test_flatten_and_unflatten_invert_each_other():
    nested = {
        "model": {"dense": {"kernel": np.ones((2, 3), np.float32), "bias": np.zeros(3)}},
        "optimizer": {"iterations": 7, "dense": {"kernel": {"m": np.zeros((2, 3), np.float32)}}},
        "flag": True,
        "empty": {},
    }
    flat = flatten_state(nested)
    assert list(flat) == [
        "model/dense/kernel",
        "model/dense/bias",
        "optimizer/iterations",
        "optimizer/dense/kernel/m",
        "flag",
    ]
    assert flat["optimizer/iterations"].dtype == np.int64 and flat["flag"].dtype == np.bool_
    back = unflatten_state(flat)
    assert back["optimizer"]["dense"]["kernel"]["m"].shape == (2, 3)
    assert "empty" not in back
    assert list(flatten_state({"x": np.zeros(1)}, prefix="optimizer")) == ["optimizer/x"]


def test_tensors_and_variables_are_stored_by_their_arrays():
    v = lp.Variable(np.arange(3, dtype=np.float32), name="v")
    flat = flatten_state({"v": v, "t": lp.tensor([1.0, 2.0])})
    assert flat["v"] is v.data and flat["t"].dtype == np.float32


def test_bad_keys_and_leaves_are_refused():
    with pytest.raises(ValueError, match="free of '/'"):
        flatten_state({"a/b": np.zeros(1)})
    with pytest.raises(ValueError, match="non-empty"):
        flatten_state({"": np.zeros(1)})
    with pytest.raises(TypeError, match="keys must be strings"):
        flatten_state({1: np.zeros(1)})
    with pytest.raises(TypeError, match="wrap floats"):
        flatten_state({"lr": 0.1})
    with pytest.raises(TypeError, match="must be an array, got list"):
        flatten_state({"w": [1, 2]})


@pytest.mark.parametrize(
    "flat, message",
    [
        ({"a": 1, "a/b": 2}, "extends 'a', which is an array"),
        ({"a/b": 1, "a": 2}, "both an array and a prefix"),
        ({"a//b": 1}, "empty part"),
        ({"/a": 1}, "empty part"),
    ],
)
def test_conflicting_names_from_files_are_format_errors(flat, message):
    with pytest.raises(FormatError, match=message):
        unflatten_state(flat)


def test_checkpoint_with_rng_state_in_metadata_round_trips(tmp_path):
    lp.set_seed(3)
    lp.backend.generator().random(5)
    state = {"model": {"w": np.arange(4, dtype=np.float32)}, "optimizer": {"iterations": 2}}
    meta = {"epoch": "4", "rng_state": dumps_config(lp.get_rng_state())}
    path = tmp_path / "ckpt.safetensors"
    save_state(state, path, meta)
    expected_next = lp.backend.generator().random(3)
    loaded, loaded_meta = load_state(path)
    lp.set_seed(99)
    lp.set_rng_state(loads_config(loaded_meta["rng_state"]))
    np.testing.assert_array_equal(lp.backend.generator().random(3), expected_next)
    np.testing.assert_array_equal(loaded["model"]["w"], state["model"]["w"])
    assert int(loaded["optimizer"]["iterations"]) == 2 and loaded_meta["epoch"] == "4"

import json
import math

import numpy as np
import pytest

from lapenna.io import FormatError, check_safe, dumps_config, loads_config

LAYER = {
    "class_name": "Dense",
    "registered_name": None,
    "module": None,
    "config": {
        "name": "block1.dense",  # names are labels: dots are fine there
        "units": 4,
        "activation": "relu",
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "use_bias": True,
        "rate": 0.5,
        "shape": [None, 3],
    },
}


def test_round_trip_of_a_plain_config():
    text = dumps_config(LAYER)
    assert loads_config(text) == LAYER
    assert loads_config(text.encode()) == LAYER
    assert dumps_config((1, 2)) == "[1, 2]"


@pytest.mark.parametrize(
    "value, error, message",
    [
        ({"x": np.float32(1.0)}, TypeError, r"config\['x'\]: float32 .* \.item\(\)"),
        ({"x": np.int64(1)}, TypeError, "int64"),
        ({"x": np.zeros(2)}, TypeError, "tolist"),
        ({"x": [1, {2, 3}]}, TypeError, r"config\['x'\]\[1\]: set"),
        ({"x": math.nan}, ValueError, "nan is not valid JSON"),
        ({"x": -math.inf}, ValueError, "-inf"),
        ({1: "a"}, TypeError, "key 1 is not a string"),
        ({"f": print}, TypeError, "builtin_function_or_method"),
    ],
)
def test_dumps_refuses_values_json_cannot_hold(value, error, message):
    with pytest.raises(error, match=message):
        dumps_config(value)


def _with(**changes):
    return json.dumps({"class_name": "Dense", "config": {"units": 1, **changes}})


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"class_name": "os.system"}', "class_name 'os.system' is not a plain identifier"),
        ('{"class_name": "keras.layers.Dense"}', "not a plain identifier"),
        ('{"class_name": ["Dense"]}', "not a plain identifier"),
        ('{"class_name": "__tensor__"}', "reserved"),
        ('{"class_name": "Dense", "module": "os"}', r"may not name a module \('os'\)"),
        ('{"class_name": "Dense", "module": {"a": 1}}', "may not name a module"),
        ('{"registered_name": "evil_pkg>Payload"}', "registered_name"),
        (_with(activation="os.system"), r"\['activation'\]: string 'os.system' reads as"),
        (_with(activation="subprocess:call"), "reads as a Python module path"),
        (_with(__reduce__=1), "key '__reduce__' is reserved"),
        (_with(function={"class_name": "__lambda__", "config": {"code": "YQ=="}}), "function"),
        ('{"class_name": "Lambda", "config": {}}', "wraps a Python callable"),
        ('{"class_name": "Dense", "config": {"function_type": "lambda"}}', "function_type"),
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ('{"a": NaN}', "NaN is not valid JSON"),
        ('{"a": ', "not valid JSON"),
        ("[" * 200 + "]" * 200, "nested deeper than 100"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ],
)
def test_loads_refuses_module_paths_callables_and_bad_json(text, message):
    with pytest.raises(FormatError, match=message):
        loads_config(text)


def test_the_nested_path_of_the_refusal_is_reported():
    config = {"layers": [LAYER, {"class_name": "Dense", "config": {"activation": "os.system"}}]}
    with pytest.raises(FormatError, match=r"config\['layers'\]\[1\]\['config'\]\['activation'\]"):
        check_safe(config)


def test_safe_mode_false_lets_lambdas_through_but_never_module_paths():
    lam = {"class_name": "Lambda", "config": {"function": {"class_name": "__lambda__"}}}
    check_safe(lam, safe_mode=False)
    with pytest.raises(FormatError, match="wraps a Python callable"):
        check_safe(lam)
    with pytest.raises(FormatError, match="may not name a module"):
        check_safe({**lam, "module": "builtins"}, safe_mode=False)


def test_allowed_modules_tolerates_keras_labels():
    keras = {"module": "keras.layers", "class_name": "Dense", "registered_name": None}
    with pytest.raises(FormatError, match="module"):
        check_safe(keras)
    check_safe(keras, allowed_modules=["keras.layers"])
    assert loads_config(json.dumps(keras), allowed_modules=["keras.layers"]) == keras


def test_size_and_encoding_bounds():
    with pytest.raises(FormatError, match="more than the bound of 10"):
        loads_config('{"units": 12345}', max_bytes=10)
    with pytest.raises(FormatError, match="not valid UTF-8"):
        loads_config(b'{"a": "\xff"}')

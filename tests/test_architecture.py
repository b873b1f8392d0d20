"""The rooms of the design and the direction of imports, checked by parsing every module.

A package may import only packages on a lower level (and ``utils``); only ``backend``
imports numpy, with ``data``, ``datasets``, ``io`` and ``testing`` allowed numpy for
file arrays.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "lapenna"

LEVELS = {
    "utils": 0,
    "backend": 0,
    "autograd": 1,
    "ops": 2,
    "initializers": 2,
    "data": 2,
    "datasets": 2,  # loaders that return arrays, beside data
    "activations": 3,  # functions built on ops, resolved by name like losses
    "losses": 3,
    "metrics": 3,
    "regularizers": 3,
    "constraints": 3,
    "optimizers": 3,
    "io": 3,
    "layers": 4,
    "callbacks": 4,
    "plot": 4,  # matplotlib figures of histories, images and confusion matrices
    "models": 5,
    "vision": 5,
    "applications": 6,
    "tuning": 6,
    "rl": 6,
    "distributed": 6,
    "cli": 7,
    "testing": 99,  # a side room: may import anything, nothing imports it
}
NUMPY_ALLOWED = {"backend", "data", "datasets", "io", "testing"}
# heavy optional dependencies may be imported inside functions; these are the known ones
OPTIONAL = {
    "onnx",
    "onnxruntime",
    "h5py",
    "safetensors",
    "PIL",
    "matplotlib",
    "tensorboard",
    "tqdm",
    "threadpoolctl",
    "mpi4py",
    "gymnasium",
    "optuna",
    "sklearn",
    "mlxtend",
    "torch",
    "rich",
    "hypothesis",
    "keras",
}


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        room = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else None
        yield path, rel, room


def _imports(tree):
    """(module name, is_top_level) for every import in the module."""
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in top, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, id(node) in top, node.lineno


def test_every_room_is_known():
    rooms = {room for _, _, room in _modules() if room}
    assert rooms <= set(LEVELS), f"packages missing from the design table: {rooms - set(LEVELS)}"


def test_imports_follow_the_levels():
    bad = []
    for path, rel, room in _modules():
        if room is None:
            continue  # lapenna/__init__.py and __main__.py gather the public API
        tree = ast.parse(path.read_text())
        for name, _top, line in _imports(tree):
            parts = name.split(".")
            if parts[0] != "lapenna" or len(parts) < 2:
                continue
            target = parts[1]
            if target == room or target == "utils" or room == "testing":
                continue
            if target == "testing":
                bad.append(f"{rel}:{line} imports lapenna.testing")
            elif target not in LEVELS or LEVELS[target] >= LEVELS[room]:
                bad.append(f"{rel}:{line} ({room}, level {LEVELS[room]}) imports {name}")
    assert not bad, "imports against the design:\n" + "\n".join(bad)


def test_numpy_only_in_its_rooms():
    bad = []
    for path, rel, room in _modules():
        if room in NUMPY_ALLOWED:
            continue
        for name, _top, line in _imports(ast.parse(path.read_text())):
            if name.split(".")[0] == "numpy":
                bad.append(f"{rel}:{line}")
    assert not bad, "numpy imported outside backend/data/io/testing:\n" + "\n".join(bad)


def test_function_local_imports_are_only_optional_dependencies():
    bad = []
    for path, rel, room in _modules():
        for name, top, line in _imports(ast.parse(path.read_text())):
            if not top and name.split(".")[0] not in OPTIONAL:
                if room is None and name.startswith("lapenna"):
                    continue
                bad.append(f"{rel}:{line} imports {name} inside a function")
    assert not bad, "function-local imports that dodge the design:\n" + "\n".join(bad)

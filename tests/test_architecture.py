"""The rooms of the design and the direction of imports, checked by parsing every module.

A package may import only packages on a lower level (and ``utils``). Relative imports are
resolved, ``from lapenna import X`` counts as an import of room ``X``, and the root package
(``import lapenna``, ``from lapenna import __version__``) sits above every room it gathers,
so no package below ``cli`` imports it. Only ``backend`` imports numpy (or cupy): device
arrays go through ``backend.xp``; host-only arrays say so by their import,
``from lapenna.backend import host_np as np``.
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
    "random": 3,  # keras.random: seeded random tensors
    "layers": 4,
    "callbacks": 4,
    "plot": 4,  # matplotlib figures of histories, images and confusion matrices
    "models": 5,
    "vision": 5,
    "applications": 6,
    "tuning": 6,
    "rl": 6,
    "distributed": 6,
    "keras_utils": 6,  # the public keras.utils names; the root binds them into lapenna.utils
    "cli": 7,
    "testing": 99,  # a side room: may import anything, nothing imports it
}
# lapenna/__init__.py gathers the public API of every room up to level 6
ROOT_LEVEL = 6.5
ARRAY_LIBRARIES = {"numpy", "cupy"}
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
    "cupy",
    "mpi4py",
    "gymnasium",
    "stable_baselines3",
    "optuna",
    "sklearn",
    "mlxtend",
    "torch",
    "rich",
    "hypothesis",
    "pycocotools",
    "keras",
}


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        room = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else None
        yield path, rel, room


def _imports(tree, rel):
    """(module, is_top_level, line) for every import: relative imports resolved against
    the module's package, ``from lapenna import X`` read as ``lapenna.X``."""
    top = set(map(id, tree.body))
    package = ["lapenna", *rel.parts[:-1]]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in top, node.lineno
        elif isinstance(node, ast.ImportFrom):
            module = node.module
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            names = [a.name for a in node.names] if module == "lapenna" else [None]
            for name in names:
                full = f"{module}.{name}" if name else module
                yield full, id(node) in top, node.lineno


def _room_edges(rel, source):
    """Imports of ``source`` (module ``rel`` under lapenna/) that break the levels."""
    room = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else None
    if room is None or room == "testing":
        return []  # the root package gathers the API; testing is a side room
    bad = []
    for name, _top, line in _imports(ast.parse(source), rel):
        parts = name.split(".")
        if parts[0] != "lapenna":
            continue
        target = parts[1] if len(parts) > 1 and parts[1] in LEVELS else None
        if target == room or target == "utils":
            continue
        if target == "testing":
            bad.append(f"{rel}:{line} imports lapenna.testing")
        elif target is None and LEVELS[room] <= ROOT_LEVEL:
            bad.append(f"{rel}:{line} ({room}) imports the root package ({name})")
        elif target is not None and LEVELS[target] >= LEVELS[room]:
            bad.append(f"{rel}:{line} ({room}, level {LEVELS[room]}) imports {name}")
    return bad


def test_every_room_is_known():
    rooms = {room for _, _, room in _modules() if room}
    assert rooms <= set(LEVELS), f"packages missing from the design table: {rooms - set(LEVELS)}"


def test_imports_follow_the_levels():
    bad = []
    for path, rel, _room in _modules():
        bad += _room_edges(rel, path.read_text())
    assert not bad, "imports against the design:\n" + "\n".join(bad)


def test_the_checker_sees_every_form_of_import():
    rel = Path("io/example.py")
    for source in (
        "import lapenna",
        "import lapenna.layers",
        "from lapenna import layers",
        "from lapenna import __version__",
        "from .. import models",
        "from ..layers import Dense",
        "from ..models.model import Model",
        "def f():\n    from lapenna import callbacks",
    ):
        assert _room_edges(rel, source), source
    for source in ("from . import atomic", "from ..ops import matmul", "from lapenna import ops"):
        assert not _room_edges(rel, source), source
    assert not _room_edges(Path("cli/example.py"), "import lapenna as lp")


def test_numpy_only_in_backend():
    """Device arrays use ``backend.xp``; host-only code imports ``host_np`` from backend."""
    bad = []
    for path, rel, room in _modules():
        if room == "backend":
            continue
        for name, _top, line in _imports(ast.parse(path.read_text()), rel):
            if name.split(".")[0] in ARRAY_LIBRARIES:
                bad.append(f"{rel}:{line} imports {name}")
    assert not bad, (
        "numpy/cupy imported outside backend; use backend.xp for device arrays or "
        "'from lapenna.backend import host_np as np' for host-only arrays:\n" + "\n".join(bad)
    )


def test_function_local_imports_are_only_optional_dependencies():
    bad = []
    for path, rel, room in _modules():
        for name, top, line in _imports(ast.parse(path.read_text()), rel):
            if not top and name.split(".")[0] not in OPTIONAL:
                if room is None and name.startswith("lapenna"):
                    continue
                bad.append(f"{rel}:{line} imports {name} inside a function")
    assert not bad, "function-local imports that dodge the design:\n" + "\n".join(bad)


def test_the_library_imports_only_internals_from_utils():
    """``lapenna.utils`` also answers with the ``keras.utils`` names the root binds into
    it (``to_categorical``...); inside the library it means only what utils defines."""
    utils_package = SRC / "utils"
    defined = {p.stem for p in utils_package.glob("*.py")} | {
        node.name
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
        else alias.asname or alias.name
        for node in ast.parse((utils_package / "__init__.py").read_text()).body
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.ImportFrom) else [node])
    }
    bad = []
    for path, rel, room in _modules():
        if room is None:
            continue  # the root package binds the names
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            package = ["lapenna", *rel.parts[:-1]]
            module = node.module
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            if module == "lapenna.utils":
                bad += [
                    f"{rel}:{node.lineno} {a.name}" for a in node.names if a.name not in defined
                ]
    assert not bad, "keras.utils names imported from the internals:\n" + "\n".join(bad)


def test_a_notebook_imports_keras_utils_names_from_lapenna_utils():
    import subprocess
    import sys

    code = (
        "from lapenna.utils import to_categorical, pad_sequences, normalize, get_file, "
        "set_random_seed, load_img, img_to_array, array_to_img, save_img, plot_model, "
        "image_dataset_from_directory\n"
        "import lapenna\n"
        "assert lapenna.utils.to_categorical is to_categorical\n"
        "print(to_categorical([0, 2], 3).tolist(), pad_sequences([[1, 2], [3]]).tolist())\n"
    )
    env = {**__import__("os").environ, "PYTHONPATH": str(SRC.parent)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]] [[1, 2], [0, 3]]"

"""Device selection on a machine without a GPU: the CPU path, and the errors for a GPU that
cannot be used (CuPy missing, or CuPy without a GPU), simulated through the importer."""

import types

import numpy as np
import pytest

import lapenna as lp
from lapenna.autograd import Tensor
from lapenna.backend import device


@pytest.fixture
def restore_device():
    yield
    device.set_device("cpu")


def _no_cupy():
    raise ImportError("No module named 'cupy'")


def _cupy_without_gpu():
    return types.SimpleNamespace(is_available=lambda: False, ndarray=type(None))


def _cupy_with_broken_driver():
    def is_available():
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")

    return types.SimpleNamespace(is_available=is_available, ndarray=type(None))


def test_the_default_device_is_the_cpu_and_xp_is_numpy():
    assert lp.get_device() == "cpu"
    assert lp.backend.xp.matmul is np.matmul
    assert lp.backend.xp.ndarray is np.ndarray
    assert lp.backend.xp.lib.stride_tricks.as_strided is np.lib.stride_tricks.as_strided


@pytest.mark.parametrize(
    "importer, words",
    [
        (_no_cupy, ["needs CuPy, which is not installed", "pip install 'lapenna[cuda]'"]),
        (_cupy_without_gpu, ["CuPy is installed but no CUDA GPU is visible", "nvidia-smi"]),
        (_cupy_with_broken_driver, ["cannot reach a GPU", "InsufficientDriver"]),
    ],
)
def test_cuda_that_cannot_run_says_what_is_missing_and_changes_nothing(
    monkeypatch, restore_device, importer, words
):
    monkeypatch.setattr(device, "_import_cupy", importer)
    before = dict(vars(lp.backend.xp))
    with pytest.raises(lp.DeviceError) as info:
        lp.set_device("cuda")
    for word in words:
        assert word in str(info.value)
    assert lp.get_device() == "cpu"
    assert vars(lp.backend.xp) == before
    x = lp.tensor([[1.0, 2.0]])
    assert isinstance((x @ lp.tensor([[1.0], [1.0]])).numpy(), np.ndarray)


def test_an_unknown_device_name_is_refused():
    with pytest.raises(ValueError, match="set_device expects one of .*'cpu', 'cuda'.*'gpu'"):
        lp.set_device("gpu")
    assert lp.get_device() == "cpu"


@pytest.mark.parametrize("value", ["cpu", " CPU ", ""])
def test_the_environment_variable_chooses_the_cpu(monkeypatch, restore_device, value):
    monkeypatch.setenv("LAPENNA_DEVICE", value)
    device._from_environment()
    assert lp.get_device() == "cpu"


def test_the_environment_variable_asking_for_cuda_without_cupy_raises(monkeypatch, restore_device):
    monkeypatch.setenv("LAPENNA_DEVICE", "cuda")
    monkeypatch.setattr(device, "_import_cupy", _no_cupy)
    with pytest.raises(lp.DeviceError, match="not installed"):
        device._from_environment()
    assert lp.get_device() == "cpu"


def test_a_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("LAPENNA_DEVICE", "tpu")
    with pytest.raises(ValueError, match="LAPENNA_DEVICE must be one of"):
        device._from_environment()


def test_host_and_device_copies_are_the_array_itself_on_the_cpu():
    a = np.arange(6.0).reshape(2, 3)
    assert lp.backend.to_host(a) is a
    assert lp.backend.to_device(a) is a
    assert lp.backend.array_device(a) == "cpu"
    t = lp.tensor(a)
    assert t.numpy() is t.data  # shared on the CPU, as before


class _FakeGPUArray:
    """Stands in for a cupy array: a class the backend is told is the GPU's array type.
    Like cupy, it refuses to mix with numpy arrays, and ``get()`` copies to the host."""

    def __init__(self, values):
        self._values = np.asarray(values)
        self.shape, self.dtype, self.ndim = self._values.shape, self._values.dtype, 1

    def get(self):
        return self._values.copy()


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setitem(device._state, "cupy", types.SimpleNamespace(ndarray=_FakeGPUArray))


def test_mixing_devices_names_both(fake_gpu):
    host = lp.tensor(np.ones(3, dtype="float32"))
    on_gpu = Tensor(np.ones(3, dtype="float32"))
    on_gpu.data = _FakeGPUArray(np.ones(3, dtype="float32"))
    with pytest.raises(lp.DeviceError, match=r"Multiply got arrays on two devices: cuda .* cpu"):
        host * on_gpu


def test_a_gpu_tensor_copies_to_the_host(fake_gpu):
    t = Tensor(np.zeros(3, dtype="float32"))
    t.data = _FakeGPUArray(np.array([1.0, 2.0, 3.0], dtype="float32"))
    host = t.numpy()
    assert isinstance(host, np.ndarray)
    np.testing.assert_array_equal(host, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(np.asarray(t), [1.0, 2.0, 3.0])
    assert lp.backend.array_device(t.data) == "cuda"


def test_saved_state_holds_host_arrays(fake_gpu):
    from lapenna.io import state

    t = Tensor(np.zeros(2, dtype="float32"))
    t.data = _FakeGPUArray(np.array([4.0, 5.0], dtype="float32"))
    leaf = state._leaf("w", t)
    assert isinstance(leaf, np.ndarray)
    np.testing.assert_array_equal(leaf, [4.0, 5.0])


def test_bench_on_cuda_without_cupy_is_one_clear_error(monkeypatch, restore_device, capsys):
    from lapenna.cli import main

    monkeypatch.setattr(device, "_import_cupy", _no_cupy)
    rc = main(["bench", "--device", "cuda", "--lapenna-only", "--only", "mlp"])
    err = capsys.readouterr().err
    assert rc != 0
    assert "needs CuPy" in err and "lapenna[cuda]" in err
    assert lp.get_device() == "cpu"


def test_bench_on_cuda_is_refused_for_the_other_suites():
    from lapenna.cli import main

    assert main(["bench", "--device", "cuda", "--kernels"]) != 0
    assert lp.get_device() == "cpu"


def test_synchronize_and_the_description_on_the_cpu():
    lp.backend.synchronize()  # nothing to wait for
    assert lp.backend.device_description().startswith("device: cpu (numpy ")


def test_the_summary_reports_gpu_memory_beside_the_estimate(monkeypatch):
    model = lp.Sequential([lp.layers.Input((4,)), lp.layers.Dense(3)])
    assert lp.backend.gpu_memory() is None
    assert "GPU memory" not in lp.models.summarize(model).format(batch_size=8)
    reading = {"in_use": 2_500_000, "free": 140_000_000_000, "total": 150_000_000_000}
    monkeypatch.setattr(lp.backend, "gpu_memory", lambda: reading)
    text = lp.models.summarize(model).format(batch_size=8)
    assert "GPU memory: 2.50 MB held by arrays now, 140.00 GB free of 150.00 GB" in text
    assert "GPU memory" not in lp.models.summarize(model).format()


def test_backend_kernels_take_xp_from_the_device():
    """A backend module that bound numpy itself as ``xp`` would stay on the CPU after
    set_device('cuda'); only device.py imports the array libraries as namespaces."""
    import ast
    from pathlib import Path

    backend = Path(lp.backend.__file__).parent
    bad = []
    for path in sorted(backend.glob("*.py")):
        if path.name == "device.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in ("numpy", "cupy") and (alias.asname or alias.name) == "xp":
                        bad.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module in ("numpy", "cupy"):
                bad.append(f"{path.name}:{node.lineno} from {node.module} import ...")
    assert not bad, f"backend modules binding numpy/cupy directly: {bad}"

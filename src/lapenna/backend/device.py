"""The device arrays live on: the CPU (numpy) or an NVIDIA GPU (CuPy).

``xp`` is one namespace object for the whole process. Its attributes are those of numpy
on the CPU and those of cupy after ``set_device("cuda")``: switching copies the chosen
library's attributes into it, so ``xp.matmul`` is a plain module attribute lookup on both
devices (no ``__getattr__`` hop, nothing slower on the CPU than ``numpy.matmul``), and
every module that imported ``xp`` once sees the switch.

The device is chosen once, before the model is built: arrays made before a switch stay
where they were. ``LAPENNA_DEVICE=cuda`` in the environment chooses the GPU at import.
"""

import os
import types

import numpy as host_np

DEVICES = ("cpu", "cuda")
_ENVIRONMENT = "LAPENNA_DEVICE"
_INSTALL = (
    "install CuPy for your CUDA version: pip install 'lapenna[cuda]' (CuPy for CUDA 13, "
    "the package cupy-cuda13x), or pip install cupy-cuda12x for CUDA 12"
)

xp = types.ModuleType("xp", "The array namespace of the current device (numpy or cupy).")
_state = {"device": "cpu", "cupy": None}


class DeviceError(RuntimeError):
    """The device asked for cannot be used here (no CuPy, or no GPU)."""


def _mirror(module):
    namespace = xp.__dict__
    namespace.clear()
    namespace.update(module.__dict__)


def _import_cupy():
    """CuPy, imported where it is first needed (it is an optional extra)."""
    import cupy

    return cupy


def _load_cupy():
    """CuPy with a usable GPU, or a :class:`DeviceError` that says which one is missing."""
    try:
        cupy = _import_cupy()
    except ImportError as err:
        raise DeviceError(
            f"set_device('cuda') needs CuPy, which is not installed ({err}); {_INSTALL}"
        ) from None
    try:
        available = cupy.is_available()
    except Exception as err:  # noqa: BLE001 - a broken driver raises its own types
        raise DeviceError(
            f"set_device('cuda'): CuPy is installed but cannot reach a GPU ({err}); check "
            "the NVIDIA driver (nvidia-smi) and that the CuPy package matches its CUDA version"
        ) from None
    if not available:
        raise DeviceError(
            "set_device('cuda'): CuPy is installed but no CUDA GPU is visible (no device, no "
            "driver, or CUDA_VISIBLE_DEVICES hides it); nvidia-smi lists the GPUs the driver sees"
        )
    return cupy


def set_device(device):
    """Run new arrays, weights and ops on ``device``: ``"cpu"`` (numpy) or ``"cuda"`` (CuPy).

    Call it before building the model; arrays made earlier stay on their device.

    Raises:
        ValueError: for a name other than ``"cpu"`` or ``"cuda"``.
        DeviceError: for ``"cuda"`` without CuPy or without a GPU; the device is unchanged.
    """
    if device not in DEVICES:
        raise ValueError(f"set_device expects one of {DEVICES}, got {device!r}")
    if device == "cuda":
        cupy = _state["cupy"] or _load_cupy()
        _mirror(cupy)
        _state.update(device="cuda", cupy=cupy)
    else:
        _mirror(host_np)
        _state["device"] = "cpu"


def get_device():
    """The current device: ``"cpu"`` or ``"cuda"``."""
    return _state["device"]


def on_gpu():
    return _state["device"] == "cuda"


def is_device_array(value):
    """Whether ``value`` is an array on a GPU (a cupy array)."""
    cupy = _state["cupy"]
    return cupy is not None and isinstance(value, cupy.ndarray)


def array_device(value):
    """``"cuda"`` for a cupy array, ``"cpu"`` for anything else."""
    return "cuda" if is_device_array(value) else "cpu"


def check_same_device(arrays, what):
    """Raise :class:`DeviceError` naming both devices when ``arrays`` span two of them.

    Called after an op has failed (so it costs nothing when ops succeed): CuPy refuses a
    numpy operand with a bare ``TypeError``, and this says what actually went wrong.
    """
    devices = {array_device(a): type(a).__name__ for a in arrays if hasattr(a, "shape")}
    if len(devices) > 1:
        raise DeviceError(
            f"{what} got arrays on two devices: cuda ({devices['cuda']}) and cpu "
            f"({devices['cpu']}); the current device is {get_device()!r}. Create data and "
            "models after set_device, or move arrays with lapenna.backend.to_device / to_host"
        )


def to_host(value):
    """``value`` as a numpy array (a copy from the GPU; numpy arrays pass unchanged)."""
    if is_device_array(value):
        return value.get()
    return value


def to_device(value):
    """``value`` as an array of the current device (copied to the GPU when it is on one)."""
    if on_gpu():
        return _state["cupy"].asarray(value)
    return to_host(value)


def strided_view(x, shape, strides, writeable=True):
    """A view of ``x`` with the given shape and byte strides (no copy): numpy's
    ``as_strided``, or CuPy's, which has no ``writeable`` flag."""
    if is_device_array(x):
        return _state["cupy"].lib.stride_tricks.as_strided(x, shape, strides)
    return host_np.lib.stride_tricks.as_strided(x, shape, strides, writeable=writeable)


def synchronize():
    """Wait until the GPU has finished what it was given (a no-op on the CPU).

    CuPy returns from a call as soon as the kernel is queued, so a timing must wait.
    """
    if on_gpu():
        _state["cupy"].cuda.Device().synchronize()


def gpu_memory():
    """On a GPU, ``{"in_use", "free", "total"}`` in bytes: what CuPy's memory pool holds
    for lapenna's arrays now, and the device's free and total memory. None on the CPU."""
    if not on_gpu():
        return None
    cupy = _state["cupy"]
    free, total = cupy.cuda.Device().mem_info
    return {"in_use": cupy.get_default_memory_pool().used_bytes(), "free": free, "total": total}


def device_description():
    """One line naming the device: the GPU, its compute capability, CuPy's and CUDA's
    versions on a GPU; numpy's version on the CPU."""
    if not on_gpu():
        return f"device: cpu (numpy {host_np.__version__})"
    cupy = _state["cupy"]
    gpu = cupy.cuda.Device()
    name = cupy.cuda.runtime.getDeviceProperties(gpu.id)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    runtime = cupy.cuda.runtime.runtimeGetVersion()
    return (
        f"device: cuda:{gpu.id} {name} (compute capability {gpu.compute_capability}), "
        f"CuPy {cupy.__version__}, CUDA runtime {runtime // 1000}.{runtime % 1000 // 10}"
    )


def _from_environment():
    device = os.environ.get(_ENVIRONMENT, "").strip().lower()
    if not device:
        return
    if device not in DEVICES:
        raise ValueError(f"{_ENVIRONMENT} must be one of {DEVICES}, got {device!r}")
    set_device(device)


_mirror(host_np)
_from_environment()

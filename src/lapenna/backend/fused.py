"""Chains of elementwise updates done in one pass over memory on a GPU.

An optimizer step written with array operations (``v *= mu; v -= lr * g; w += v``) makes
several passes over memory, each one reading and writing whole arrays; a GPU kernel does
the whole chain per element in one pass. Each function here has two bodies with the same
arithmetic: the array operations (numpy on the CPU, where they are the reference, and the
fallback anywhere), and a CuPy ``ElementwiseKernel`` on a GPU, compiled on first use.
Scalars enter the kernels as float64 and are cast to the arrays' type, as numpy does with
a Python float.
"""

from lapenna.backend.device import is_device_array, xp

_SOURCES = {
    # name: (inputs, outputs updated in place, the body per element)
    "sgd_momentum": (
        "T g, float64 lr, float64 mu, bool nesterov",
        "T w, T vel",
        "vel = vel * (T)mu - (T)lr * g;w += nesterov ? (T)mu * vel - (T)lr * g : vel;",
    ),
    "adam": (
        "T g, float64 b1, float64 b2, float64 alpha, float64 eps",
        "T w, T m, T v",
        "m += (T)(1.0 - b1) * (g - m);"
        "v += (T)(1.0 - b2) * (g * g - v);"
        "w -= (T)alpha * m / (sqrt(v) + (T)eps);",
    ),
    "bias_relu": (
        "T b, bool relu",
        "T y",
        "T s = y + b; y = (!relu || s > (T)0 || s != s) ? s : (T)0;",
    ),
}
_kernels = {}


def _kernel(name):
    """The compiled kernel ``name`` (CuPy caches the binary per device and on disk)."""
    if name not in _kernels:
        inputs, outputs, body = _SOURCES[name]
        _kernels[name] = xp.ElementwiseKernel(inputs, outputs, body, f"lapenna_{name}")
    return _kernels[name]


def _fusable(*arrays):
    """Device arrays of one float type, updated in place: the kernels' case."""
    return all(is_device_array(a) for a in arrays) and len({a.dtype for a in arrays}) == 1


def sgd_momentum_(var, velocity, grad, lr, momentum, nesterov=False):
    """In place: ``velocity = momentum * velocity - lr * grad``, then ``var += velocity``
    (Nesterov: ``var += momentum * velocity - lr * grad``)."""
    if _fusable(var, velocity, grad):
        _kernel("sgd_momentum")(grad, float(lr), float(momentum), bool(nesterov), var, velocity)
        return
    velocity *= momentum
    velocity -= lr * grad
    if nesterov:
        var += momentum * velocity - lr * grad
    else:
        var += velocity


def adam_(var, m, v, grad, beta_1, beta_2, alpha, epsilon):
    """In place, Adam's moments and step: ``m += (1 - beta_1)(g - m)``,
    ``v += (1 - beta_2)(g^2 - v)``, ``var -= alpha * m / (sqrt(v) + epsilon)``."""
    if _fusable(var, m, v, grad):
        args = float(beta_1), float(beta_2), float(alpha), float(epsilon)
        _kernel("adam")(grad, *args, var, m, v)
        return
    m += (1.0 - beta_1) * (grad - m)
    v += (1.0 - beta_2) * (grad * grad - v)
    var -= alpha * m / (xp.sqrt(v) + epsilon)


def bias_relu_(block, bias=None, relu=False):
    """In place on ``block``: add ``bias`` (broadcast on the last axis), then the ReLU
    (NaN stays NaN, as with ``maximum``)."""
    if bias is not None and _fusable(block, bias):
        _kernel("bias_relu")(bias, bool(relu), block)
        return block
    if bias is not None:
        block += bias
    if relu:
        xp.maximum(block, block.dtype.type(0), out=block)
    return block

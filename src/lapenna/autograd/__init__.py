"""Reverse-mode automatic differentiation: Tensor, Variable, Function, the engine, tapes.

The mental model in two sentences: every operation on a Tensor that requires grad creates
a ``Function`` node holding its inputs and whatever its backward needs. ``backward`` walks
those nodes from the output in reverse topological order, asking each for the gradients of
its inputs and summing them where paths meet.
"""

from lapenna.autograd.captured import CapturedFunction
from lapenna.autograd.engine import grad
from lapenna.autograd.function import Function
from lapenna.autograd.grad_mode import enable_grad, is_enabled, no_grad
from lapenna.autograd.tape import GradientTape
from lapenna.autograd.tensor import Tensor, as_tensor, tensor
from lapenna.autograd.variable import Variable

# ``lapenna.function`` (the decorator) lives in ``autograd.captured``: exported here under
# that name it would hide the module ``autograd.function``

__all__ = [
    "Tensor",
    "Variable",
    "Function",
    "tensor",
    "as_tensor",
    "grad",
    "no_grad",
    "enable_grad",
    "is_enabled",
    "GradientTape",
    "CapturedFunction",
]

"""Special functions: the error function."""

from lapenna.autograd import as_tensor
from lapenna.autograd import functions as F


def erf(x):
    """The error function, (2 / sqrt(pi)) * integral from 0 to x of exp(-t^2) dt.

    Computed with W. J. Cody's rational approximations (see ``lapenna.backend.special``);
    the gradient is 2 / sqrt(pi) * exp(-x^2).

    Args:
        x: a Tensor (or array or number).

    Returns:
        A Tensor of the same shape and dtype.

    Example:
        >>> import lapenna as lp
        >>> round(lp.ops.erf(lp.tensor([1.0])).item(), 4)
        0.8427
    """
    return F.Erf.apply(as_tensor(x))

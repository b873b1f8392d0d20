"""Convolutions on channels-last inputs with Keras kernel layouts.

``conv`` is a cross-correlation (as in every deep-learning framework): output position
``o`` of channel ``j`` is ``sum over window offsets t and input channels c of
x[o * stride + t * dilation - pad_before, c] * kernel[t, c, j]``, plus ``bias[j]``.
The transposed convolution is its exact adjoint in ``x``. See ``backend.conv`` for how
each becomes a few large matrix products.
"""

from lapenna import backend as B
from lapenna.autograd import as_tensor
from lapenna.autograd import functions as F
from lapenna.ops._nn_args import (
    as_tuple,
    check_input,
    check_output,
    check_param,
    pairs,
    resolve_padding,
)


def _check_kernel(x, kernel, rank, op, channels_axis):
    kernel = as_tensor(kernel, x)
    if kernel.ndim != rank + 2:
        raise ValueError(
            f"{op} expects a {rank + 2}-D kernel (*kernel_size, in_channels, out_channels), "
            f"got shape {kernel.shape}"
        )
    if kernel.dtype != x.dtype:
        raise TypeError(f"{op}: the kernel has dtype {kernel.dtype} but the input has {x.dtype}")
    if kernel.shape[channels_axis] == 0 or kernel.shape[-1] == 0 or 0 in kernel.shape[:rank]:
        raise ValueError(f"{op}: the kernel must not have empty axes, got shape {kernel.shape}")
    return kernel


def _conv(op, rank, x, kernel, bias, strides, padding, dilation_rate, groups, activation=None):
    if activation not in (None, "relu"):
        raise ValueError(f"{op}: activation must be None or 'relu', got {activation!r}")
    x = check_input(x, rank, op)
    kernel = _check_kernel(x, kernel, rank, op, -2)
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    channels, (cg, filters) = x.shape[-1], kernel.shape[-2:]
    if cg * groups != channels:
        raise ValueError(
            f"{op}: the input has {channels} channels but the kernel of shape {kernel.shape} "
            f"with groups={groups} expects {cg * groups}"
        )
    if filters % groups:
        raise ValueError(f"{op}: {filters} output channels do not split into {groups} groups")
    strides = as_tuple(strides, rank, "strides", op)
    dilation = as_tuple(dilation_rate, rank, "dilation_rate", op)
    size, ksize = x.shape[1:-1], kernel.shape[:rank]
    reach = tuple((k - 1) * d + 1 for k, d in zip(ksize, dilation))
    pads = resolve_padding(padding, size, reach, strides, op)
    out = B.conv_output_size(size, ksize, strides, pads, dilation)
    check_output(size, out, op, f"a kernel reaching {reach} with padding {pads}")
    bias = check_param(bias, x, (filters,), "bias", op)
    extra = () if bias is None else (bias,)
    return F.Conv.apply(
        x,
        kernel,
        *extra,
        strides=strides,
        pads=pads,
        dilation=dilation,
        groups=groups,
        has_bias=bias is not None,
        relu=activation == "relu",
    )


def conv(
    x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1, activation=None
):
    """A 1-, 2- or 3-D convolution, the rank taken from the kernel.

    Args:
        x: input ``(batch, *spatial, channels)``.
        kernel: ``(*kernel_size, channels // groups, filters)``.
        bias: optional ``(filters,)``.
        strides: an int or one int per spatial axis.
        padding: "valid", "same" (TensorFlow's: output ``ceil(n / stride)``, the odd
            padded cell at the end), an int, one int per axis, or one (before, after)
            pair per axis.
        dilation_rate: an int or one int per axis (gaps between kernel taps).
        groups: split channels into groups convolved separately (filters divisible too).
        activation: None, or "relu" for ``relu(conv(...) + bias)`` computed in one pass:
            the bias and the ReLU are applied to each chunk of the output while it is in
            cache, and backward masks the gradient with the output's sign.

    Returns:
        ``(batch, *out_spatial, filters)``.

    Raises:
        ValueError: for a wrong rank, a channel mismatch, bad padding or an input smaller
            than the kernel's reach.

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor(lp.backend.xp.ones((1, 5, 5, 1)))
        >>> conv(x, lp.tensor(lp.backend.xp.ones((3, 3, 1, 2))), padding="same").shape
        (1, 5, 5, 2)
    """
    shape = as_tensor(kernel).shape
    rank = len(shape) - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"conv expects a 3-D, 4-D or 5-D kernel, got shape {shape}")
    return _conv("conv", rank, x, kernel, bias, strides, padding, dilation_rate, groups, activation)


def conv1d(
    x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1, activation=None
):
    """1-D convolution of ``(batch, width, channels)``; see :func:`conv`."""
    return _conv("conv1d", 1, x, kernel, bias, strides, padding, dilation_rate, groups, activation)


def conv2d(
    x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1, activation=None
):
    """2-D convolution of ``(batch, height, width, channels)`` with a kernel
    ``(kh, kw, channels // groups, filters)``; see :func:`conv`.

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor(lp.backend.xp.ones((2, 28, 28, 1)))
        >>> conv2d(x, lp.tensor(lp.backend.xp.ones((5, 5, 1, 6)))).shape
        (2, 24, 24, 6)
    """
    return _conv("conv2d", 2, x, kernel, bias, strides, padding, dilation_rate, groups, activation)


def conv3d(
    x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1, activation=None
):
    """3-D convolution of ``(batch, depth, height, width, channels)``; see :func:`conv`."""
    return _conv("conv3d", 3, x, kernel, bias, strides, padding, dilation_rate, groups, activation)


def depthwise_conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    """Each input channel convolved with its own ``multiplier`` filters.

    Args:
        x: ``(batch, height, width, channels)``.
        kernel: ``(kh, kw, channels, multiplier)``; output channel ``c * multiplier + m``
            comes from input channel ``c`` and filter ``m`` (Keras order).
        bias: optional ``(channels * multiplier,)``.
        strides, padding, dilation_rate: as in :func:`conv`.

    Returns:
        ``(batch, out_height, out_width, channels * multiplier)``.

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor(lp.backend.xp.ones((1, 6, 6, 3)))
        >>> depthwise_conv2d(x, lp.tensor(lp.backend.xp.ones((3, 3, 3, 2)))).shape
        (1, 4, 4, 6)
    """
    op = "depthwise_conv2d"
    x = check_input(x, 2, op)
    kernel = as_tensor(kernel, x)
    if kernel.ndim != 4 or kernel.shape[2] != x.shape[-1]:
        raise ValueError(
            f"{op} expects a kernel (kh, kw, {x.shape[-1]}, multiplier) for an input with "
            f"{x.shape[-1]} channels, got shape {kernel.shape}"
        )
    kh, kw, channels, multiplier = kernel.shape
    grouped = kernel.reshape(kh, kw, 1, channels * multiplier)
    return _conv(op, 2, x, grouped, bias, strides, padding, dilation_rate, channels)


def _transpose_sizes(size, reach, strides, padding, output_padding, explicit):
    """Keras' output lengths of a transposed convolution, one per spatial axis."""
    out = []
    for i, (n, k, s) in enumerate(zip(size, reach, strides)):
        mode = padding.lower() if isinstance(padding, str) else None
        if output_padding is None and mode is not None:
            out.append(n * s + max(k - s, 0) if mode == "valid" else n * s)
            continue
        trim = sum(explicit[i]) if mode is None else 2 * (k // 2) if mode == "same" else 0
        out.append((n - 1) * s + k - trim + (output_padding[i] if output_padding else 0))
    return tuple(out)


def _conv_transpose(op, rank, x, kernel, bias, strides, padding, output_padding, dilation_rate):
    x = check_input(x, rank, op)
    kernel = _check_kernel(x, kernel, rank, op, -1)
    if kernel.shape[-1] != x.shape[-1]:
        raise ValueError(
            f"{op}: the input has {x.shape[-1]} channels but the kernel of shape "
            f"{kernel.shape} (*kernel_size, filters, in_channels) expects {kernel.shape[-1]}"
        )
    strides = as_tuple(strides, rank, "strides", op)
    dilation = as_tuple(dilation_rate, rank, "dilation_rate", op)
    op_pads = None
    if output_padding is not None:
        op_pads = as_tuple(output_padding, rank, "output_padding", op, minimum=0)
        if any(p >= s for p, s in zip(op_pads, strides)):
            raise ValueError(
                f"{op}: output_padding {op_pads} must be smaller than strides {strides}"
            )
    size, ksize = x.shape[1:-1], kernel.shape[:rank]
    reach = tuple((k - 1) * d + 1 for k, d in zip(ksize, dilation))
    explicit = None if isinstance(padding, str) else pairs(padding, rank, "padding", op)
    out = _transpose_sizes(size, reach, strides, padding, op_pads, explicit)
    check_output(size, out, op, f"a kernel reaching {reach} with padding {padding!r}")
    pads = resolve_padding(padding, out, reach, strides, op)
    if B.conv_output_size(out, ksize, strides, pads, dilation) != tuple(size):
        raise ValueError(
            f"{op}: output_padding {output_padding!r} gives an output of spatial size {out} "
            f"that a convolution with these strides and padding does not map back to {size}"
        )
    bias = check_param(bias, x, (kernel.shape[-2],), "bias", op)
    extra = () if bias is None else (bias,)
    return F.ConvTranspose.apply(
        x,
        kernel,
        *extra,
        size=out,
        strides=strides,
        pads=pads,
        dilation=dilation,
        groups=1,
        has_bias=bias is not None,
    )


def conv2d_transpose(
    x, kernel, bias=None, strides=1, padding="valid", output_padding=None, dilation_rate=1
):
    """Transposed 2-D convolution: exactly the adjoint (the input gradient) of conv2d.

    Args:
        x: ``(batch, height, width, channels)``.
        kernel: ``(kh, kw, filters, channels)`` (Keras' Conv2DTranspose layout).
        bias: optional ``(filters,)``.
        strides, dilation_rate: an int or a pair.
        padding: "valid", "same" or explicit as in :func:`conv`.
        output_padding: extra rows/columns at the end (each smaller than the stride).

    Returns:
        ``(batch, H', W', filters)`` with ``H' = H * s`` for "same" and
        ``H * s + max(k - s, 0)`` (that is ``(H - 1) * s + k`` when ``k >= s``) for
        "valid"; with ``output_padding`` p, ``(H - 1) * s + k - 2 * pad + p`` (Keras).

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor(lp.backend.xp.ones((1, 4, 4, 3)))
        >>> w = lp.tensor(lp.backend.xp.ones((3, 3, 8, 3)))
        >>> conv2d_transpose(x, w, strides=2, padding="same").shape
        (1, 8, 8, 8)
    """
    return _conv_transpose(
        "conv2d_transpose", 2, x, kernel, bias, strides, padding, output_padding, dilation_rate
    )


def conv1d_transpose(
    x, kernel, bias=None, strides=1, padding="valid", output_padding=None, dilation_rate=1
):
    """Transposed 1-D convolution, kernel ``(k, filters, channels)``; see conv2d_transpose."""
    return _conv_transpose(
        "conv1d_transpose", 1, x, kernel, bias, strides, padding, output_padding, dilation_rate
    )


def conv3d_transpose(
    x, kernel, bias=None, strides=1, padding="valid", output_padding=None, dilation_rate=1
):
    """Transposed 3-D convolution, kernel ``(kd, kh, kw, filters, channels)``."""
    return _conv_transpose(
        "conv3d_transpose", 3, x, kernel, bias, strides, padding, output_padding, dilation_rate
    )

"""Helpers for comparing layers with PyTorch: run both in float64, compare the output and
the gradients of a fixed random projection of it with respect to inputs and weights."""

import numpy as np

import lapenna as lp


def tf_same_pads(size, kernel, stride, dilation=1):
    """TensorFlow's "same" padding along one axis: ``(before, after)``, extra at the end."""
    span = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def compare_with_torch(torch, layer, inputs, torch_fn, rtol=1e-7, atol=1e-9, training=None):
    """Check ``layer`` against ``torch_fn(inputs, weights)`` on the same values.

    Args:
        torch: the torch module.
        layer: a lapenna layer (built here if it is not) with float64 weights.
        inputs: one float64 array or a list of them (channels last).
        torch_fn: ``(torch_inputs, torch_weights) -> output`` where the tensors have
            lapenna's layouts (the function transposes as torch needs) and the output is in
            lapenna's layout too.
        training: passed to the layer call.

    Returns:
        The lapenna output as an array.
    """
    several = isinstance(inputs, list)
    arrays = inputs if several else [inputs]
    xs = [lp.tensor(a, requires_grad=True) for a in arrays]
    out = layer(xs if several else xs[0], training=training)
    weights = layer.trainable_weights
    upstream = np.random.default_rng(3).standard_normal(out.shape)
    grads = lp.grad(out, [*xs, *weights], grad_outputs=lp.tensor(upstream), allow_unused=True)

    t_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    t_weights = [torch.tensor(w.numpy().copy(), requires_grad=True) for w in weights]
    t_out = torch_fn(t_inputs if several else t_inputs[0], t_weights)
    (t_out * torch.tensor(upstream)).sum().backward()

    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=rtol, atol=atol)
    for i, (got, want) in enumerate(zip(grads, [*t_inputs, *t_weights])):
        name = f"input {i}" if i < len(arrays) else weights[i - len(arrays)].path
        expected = np.zeros(want.shape) if want.grad is None else want.grad.numpy()
        actual = np.zeros(want.shape) if got is None else got.numpy()
        np.testing.assert_allclose(
            actual, expected, rtol=rtol, atol=atol, err_msg=f"gradient of {name}"
        )
    return out.numpy()

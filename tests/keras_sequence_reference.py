"""Compare a lapenna layer with the same layer in real Keras 3 on the PyTorch backend.

Both run in float64 on the same values: the lapenna weights are copied into the Keras
layer (same names, same layouts, same order), the outputs are compared, and so are the
gradients of a fixed random projection of every output with respect to the float inputs
and the trainable weights (Keras's through torch autograd). A generic harness may replace
this later; it is small on purpose.

Keras 3 on the PyTorch backend computes ``ops.matmul`` of float64 tensors in float32
(its dtype promotion of torch dtypes falls back to floatx), so the tolerances are those of
float32 products: rtol 1e-5, atol 1e-6.
"""

import numpy as np

import lapenna as lp


def _as_list(x):
    """Outputs as a flat list (Keras nests the states of stacked cells per cell)."""
    if isinstance(x, list | tuple):
        return [leaf for item in x for leaf in _as_list(item)]
    return [x]


def compare_with_keras(
    layer,
    keras_layer,
    inputs,
    mask=None,
    rtol=1e-5,
    atol=1e-6,
    call_kwargs=None,
    keras_call_kwargs=None,
    several_args=False,
):
    """Check ``layer`` against ``keras_layer`` (built here) on ``inputs``; returns the
    lapenna outputs as a list of arrays.

    Args:
        layer, keras_layer: a lapenna layer with float64 weights; the Keras equivalent
            made with ``dtype="float64"``.
        inputs: one array or a list; float arrays are differentiated, integer ones not.
        mask: an optional ``(batch, time)`` boolean array passed as ``mask=`` to both.
        call_kwargs / keras_call_kwargs: extra call arguments (``initial_state``...) as
            lapenna Tensors / torch tensors.
        several_args: pass a list of inputs as separate arguments (``mha(query, value)``).
    """
    import torch

    several = isinstance(inputs, list)
    arrays = _as_list(inputs)
    xs = [lp.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    kwargs = dict(call_kwargs or {})
    if mask is not None:
        kwargs["mask"] = mask

    def apply(fn, items, kw):
        if several_args:
            return fn(*items, **kw)
        return fn(items if several else items[0], **kw)

    outs = _as_list(apply(layer, xs, kwargs))

    t_xs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    t_kwargs = dict(keras_call_kwargs or {})
    if mask is not None:
        t_kwargs["mask"] = torch.tensor(mask)
    apply(keras_layer, t_xs, t_kwargs)  # builds
    assert len(keras_layer.weights) == len(layer.weights), (
        f"Keras has {len(keras_layer.weights)} weights, lapenna {len(layer.weights)}"
    )
    for kw, w in zip(keras_layer.weights, layer.weights):
        assert tuple(kw.shape) == w.shape, f"{kw.path} {tuple(kw.shape)} vs {w.path} {w.shape}"
        kw.assign(w.numpy())
    t_outs = _as_list(apply(keras_layer, t_xs, t_kwargs))
    assert len(t_outs) == len(outs), f"{len(t_outs)} Keras outputs, {len(outs)} lapenna"

    rng = np.random.default_rng(3)
    ups = [rng.standard_normal(o.shape) for o in outs]
    for got, want in zip(outs, t_outs):
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=rtol, atol=atol)
    sum(((o * torch.tensor(u)).sum() for o, u in zip(t_outs, ups) if o.requires_grad)).backward()
    float_xs = [x for x in xs if x.requires_grad]
    float_t = [t for t in t_xs if t.requires_grad]
    weights = layer.trainable_weights
    grads = lp.grad(
        outs, [*float_xs, *weights], grad_outputs=[lp.tensor(u) for u in ups], allow_unused=True
    )
    k_weights = {id(w): kw for kw, w in zip(keras_layer.weights, layer.weights)}
    wants = [t.grad for t in float_t] + [k_weights[id(w)].value.grad for w in weights]
    names = [f"input {i}" for i in range(len(float_xs))] + [w.path for w in weights]
    for name, got, want in zip(names, grads, wants):
        expected = np.zeros(got.shape if got is not None else ()) if want is None else want.numpy()
        actual = np.zeros(expected.shape) if got is None else got.numpy()
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=name)
    return [o.numpy() for o in outs]

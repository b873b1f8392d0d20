"""``run_layer_test``: the checks every layer must pass, in one call."""

import lapenna as lp
from lapenna.backend import host_np as np
from lapenna.testing.gradcheck import numerical_gradient
from lapenna.utils import get_registry


def run_layer_test(
    layer_cls,
    init_kwargs=None,
    input_shape=(2, 3),
    input_data=None,
    expected_output_shape=None,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
    check_gradients=True,
    check_training=True,
    training=True,
    seed=0,
):
    """Build ``layer_cls(**init_kwargs)`` and check it the way users rely on it.

    1. it builds from ``input_shape`` and its output shape equals
       ``compute_output_shape`` (and ``expected_output_shape`` when given);
    2. the numbers of trainable and non-trainable weights;
    3. the config round trip through the layer registry gives a layer with the same
       output for the same weights;
    4. a float64 central-difference gradient check through the layer (inputs and weights);
    5. one SGD step on a simple loss lowers it (when the layer has trainable weights).

    A layer with several inputs (``Add``, ``Concatenate``) gets a list of shape tuples as
    ``input_shape`` or a list of numpy arrays as ``input_data``; integer arrays among them
    (indices) are passed as they are and left out of the gradient check.

    Returns the layer built in step 1.
    """
    init_kwargs = dict(init_kwargs or {})
    rng = np.random.default_rng(seed)
    several = _is_list_of(input_data, np.ndarray) or (
        input_data is None and _is_list_of(input_shape, tuple | list)
    )
    if input_data is None:
        arrays = [rng.standard_normal(s) for s in (input_shape if several else [input_shape])]
    else:
        arrays = input_data if several else [input_data]
    xs = [_as_input(a) for a in arrays]
    x = xs if several else xs[0]
    # 1. build and shapes
    layer = layer_cls(**init_kwargs)
    out = layer(x, training=training)
    expected = layer.compute_output_shape([a.shape for a in xs] if several else x.shape)
    got = tuple(out.shape)
    assert tuple(expected) == got, f"compute_output_shape {expected} != actual {got}"
    if expected_output_shape is not None:
        assert got == tuple(expected_output_shape), f"output shape {got} != {expected_output_shape}"
    inputs = [lp.layers.Input(batch_shape=(None, *a.shape[1:]), dtype=a.dtype) for a in xs]
    symbolic = layer_cls(**init_kwargs)(inputs if several else inputs[0])
    assert symbolic.shape == (None, *got[1:]), f"symbolic shape {symbolic.shape} != {got}"
    # 2. weights
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights, (
            f"{len(layer.trainable_weights)} trainable weights, expected "
            f"{expected_num_trainable_weights}"
        )
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights, (
            f"{len(layer.non_trainable_weights)} non-trainable weights, expected "
            f"{expected_num_non_trainable_weights}"
        )
    # 3. config round trip
    registry = get_registry("layers")
    config = registry.serialize(layer)
    clone = registry.deserialize(config)
    clone(x, training=False)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        clone(x, training=False).numpy(), layer(x, training=False).numpy(), rtol=1e-5, atol=1e-6
    )
    assert registry.serialize(clone)["config"] == {**config["config"], "name": clone.name}
    # 4. gradients in float64
    if check_gradients and any(a.dtype.kind == "f" for a in xs):
        _check_gradients(layer_cls, init_kwargs, xs, several, rng)
    # 5. one training step lowers a loss
    if check_training and layer.trainable_weights:
        _check_training_step(layer, x, training)
    return layer


def _is_list_of(value, kind):
    return isinstance(value, list) and bool(value) and all(isinstance(v, kind) for v in value)


def _as_input(array):
    array = np.asarray(array)
    return array.astype(lp.floatx()) if array.dtype.kind == "f" else array


def _check_gradients(layer_cls, init_kwargs, xs, several, rng):
    previous = lp.floatx()
    lp.set_floatx("float64")
    try:
        layer = layer_cls(**{**init_kwargs, "dtype": "float64"})
        tensors = [
            lp.tensor(a.astype(np.float64), requires_grad=True)
            if a.dtype.kind == "f"
            else lp.tensor(a)
            for a in xs
        ]
        inputs = tensors if several else tensors[0]
        layer(inputs, training=False)
        # weights of ReLU-like layers may sit exactly on kinks at init; jitter them
        for w in layer.trainable_weights:
            w.assign(w.numpy() + rng.standard_normal(w.shape) * 0.05)
        differentiable = [t for t in tensors if t.requires_grad]
        params = [*differentiable, *layer.trainable_weights]
        out = layer(inputs, training=False)
        weights = rng.standard_normal(out.shape)
        grads = lp.grad(out, params, grad_outputs=lp.tensor(weights), allow_unused=True)
        for i, (p, g) in enumerate(zip(params, grads)):
            # numerical_gradient perturbs p.data in place, which the layer reads directly
            expected = numerical_gradient(
                lambda *a: layer(inputs, training=False), params, i, weights
            )
            got = np.zeros_like(expected) if g is None else g.numpy()
            np.testing.assert_allclose(
                got,
                expected,
                rtol=1e-3,
                atol=1e-5,
                err_msg=f"gradient of {f'input {i}' if i < len(differentiable) else p.path}",
            )
    finally:
        lp.set_floatx(previous)


def _check_training_step(layer, x, training):
    target = np.zeros(tuple(layer(x, training=False).shape), dtype=layer.dtype)
    optimizer = lp.optimizers.SGD(learning_rate=0.01)

    def loss_fn():
        return lp.ops.mean((layer(x, training=False) - target) ** 2)

    before = float(loss_fn().data)
    with lp.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, layer.trainable_weights)
    optimizer.apply_gradients(zip(grads, layer.trainable_weights))
    after = float(loss_fn().data)
    assert after < before or before == 0.0, (
        f"one SGD step did not lower the loss: {before} -> {after}"
    )

"""Differential tests against real Keras 3: the same model in both, the same numbers out.

Real Keras runs on its PyTorch backend (``KERAS_BACKEND=torch``, CPU), so it needs only the
test extra. One call builds a model in both frameworks from the same code, copies Keras's
initial weights into lapenna and checks, in this order:

1. parameter counts (total, trainable, non-trainable);
2. each weighted layer's class and weight shapes, pairwise in graph order;
3. the output shape of every layer (the rows of ``summary()``);
4. the outputs on the same inputs (inference mode);
5. the gradient of the loss with respect to the inputs (training mode), then one
   training step (``train_on_batch`` with plain SGD): its loss and the change of every
   weight, which is ``-learning_rate`` times the gradient.

Example (``k`` is ``keras`` in one build and ``lapenna`` in the other)::

    from lapenna.testing.keras_reference import compare_with_keras

    def lenet(k):
        return k.Sequential([
            k.Input((28, 28, 1)), k.layers.Conv2D(6, 5, activation="relu"),
            k.layers.MaxPooling2D(), k.layers.Flatten(), k.layers.Dense(10),
        ])

    report = compare_with_keras(lenet, x, y, loss="mse")
    report.params            # 8,650 in both

A failed check raises ``AssertionError`` naming the layer or weight and both values.
"""

import os
from dataclasses import dataclass, field

import lapenna
from lapenna.backend import host_np as np

__all__ = ["KerasComparison", "compare_with_keras", "copy_weights_from_keras", "keras_module"]


def keras_module():
    """Import real Keras on its PyTorch backend (the backend is chosen before the import).

    Raises:
        RuntimeError: Keras was already imported with another backend.
    """
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    backend = keras.backend.backend()
    if backend != "torch":
        raise RuntimeError(
            f"the Keras reference runs on the torch backend, but Keras was imported with "
            f"{backend!r}; set KERAS_BACKEND=torch before importing keras"
        )
    return keras


@dataclass
class KerasComparison:
    """What ``compare_with_keras`` measured (all checks had passed when it returns).

    Attributes:
        keras_model, model: the two models, with equal weights before the training step.
        params: the number of parameters (equal in both).
        output_error: the largest absolute difference of the outputs.
        loss_error: the absolute difference of the training step's losses.
        gradient_errors: per weight path (and ``"inputs"``), the largest absolute
            difference of the gradients (weight changes divided by the learning rate).
    """

    keras_model: object
    model: object
    params: int
    output_error: float = 0.0
    loss_error: float = 0.0
    gradient_errors: dict = field(default_factory=dict)


def compare_with_keras(
    build,
    x,
    y=None,
    *,
    loss="mse",
    learning_rate=0.01,
    rtol=1e-4,
    atol=1e-5,
    train=True,
    check_shapes=True,
):
    """Build ``build(keras)`` and ``build(lapenna)``, copy the weights across, compare.

    Keras's moving means and variances get random values first (then copied), so that
    inference-mode outputs depend on them.

    Args:
        build: a function of one argument, the framework module, returning a model. It is
            called once with ``keras`` and once with ``lapenna``, so the same source text
            must build the same network in both (as a ported notebook does).
        x: input array(s) for the model (channels last), float32.
        y: targets for the training step; ``None`` skips it.
        loss: the loss name both frameworks compile with.
        learning_rate: plain SGD's learning rate for the training step.
        rtol, atol: tolerances; ``atol`` is scaled by the largest magnitude of what is
            compared (outputs, or each weight's gradient), as float32 sums grow with it.
        train: run and compare the training step (needs ``y``).
        check_shapes: ``True`` compares the output shape of every layer (both models must
            list the same layers); ``"weighted"`` those of the layers with weights and of
            the model; ``False`` none.

    Returns:
        a ``KerasComparison``.

    Raises:
        AssertionError: a count, shape, output or gradient differs.
    """
    keras = keras_module()
    keras.utils.set_random_seed(0)
    keras_model = build(keras)
    model = build(lapenna)
    _check_counts(keras_model, model)
    _randomize_statistics(keras_model)
    copy_weights_from_keras(keras_model, model)
    if check_shapes:
        _check_layer_shapes(keras_model, model, check_shapes != "weighted")
    report = KerasComparison(keras_model, model, int(keras_model.count_params()))
    want = _as_list(keras_model.predict(x, verbose=0))
    got = _as_list(model.predict(x, verbose=0))
    report.output_error = _check_close("output", got, want, rtol, atol)
    if train and y is not None:
        _check_training_step(report, keras, x, y, loss, learning_rate, rtol, atol)
    return report


def copy_weights_from_keras(keras_model, model):
    """Give ``model`` (lapenna) the weights of ``keras_model``, layer by layer.

    The weighted layers are paired in the order both models list them (nested models
    expanded); each pair must have the same class name and weight shapes.

    Raises:
        AssertionError: the numbers of weighted layers, a class or a shape differ.
    """
    pairs = _weighted_layer_pairs(keras_model, model)
    for k_layer, layer in pairs:
        layer.set_weights([np.asarray(w) for w in k_layer.get_weights()])


def _randomize_statistics(keras_model, seed=0):
    """Give Keras's moving means and variances values other than 0 and 1, so that the
    inference-mode comparison also checks how each normalization uses them (epsilon)."""
    rng = np.random.default_rng(seed)
    for weight in keras_model.non_trainable_weights:
        shape = tuple(weight.shape)
        if weight.name.endswith("moving_variance"):
            weight.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif weight.name.endswith("moving_mean"):
            weight.assign(rng.normal(0.0, 0.2, shape).astype("float32"))


# -- the checks ---------------------------------------------------------------------------
def _check_counts(keras_model, model):
    pairs = {
        "parameters": (keras_model.count_params(), model.count_params()),
        "trainable parameters": (
            _size(keras_model.trainable_weights),
            _size(model.trainable_weights),
        ),
        "non-trainable parameters": (
            _size(keras_model.non_trainable_weights),
            _size(model.non_trainable_weights),
        ),
    }
    for what, (want, got) in pairs.items():
        assert want == got, f"{what}: Keras has {want:,}, lapenna {got:,}"


def _size(weights):
    return int(sum(np.prod(tuple(w.shape), dtype=np.int64) for w in weights))


def _leaf_layers(model):
    """The layers of ``model`` with nested models replaced by their own layers."""
    out = []
    for layer in model.layers:
        if type(layer).__name__ in ("InputLayer",):
            continue
        if hasattr(layer, "layers") and _is_model(layer):
            out.extend(_leaf_layers(layer))
        else:
            out.append(layer)
    return out


def _is_model(layer):
    return any(cls.__name__ in ("Model", "Functional", "Sequential") for cls in type(layer).__mro__)


def _weighted_layer_pairs(keras_model, model):
    """Layers with the same name pair up (zoo models use Keras's names, and branchy graphs
    may list layers in other orders); the rest pair by position in each model's order."""
    k_layers = [layer for layer in _leaf_layers(keras_model) if layer.weights]
    layers = [layer for layer in _leaf_layers(model) if layer.weights]
    by_name = {layer.name: layer for layer in layers}
    k_names = [k.name for k in k_layers]
    if len(by_name) == len(layers) == len(k_layers) and len(set(k_names)) == len(k_names):
        shared = set(by_name) & set(k_names)
        rest = iter([layer for layer in layers if layer.name not in shared])
        layers = [by_name[k.name] if k.name in shared else next(rest) for k in k_layers]
    assert len(k_layers) == len(layers), (
        f"Keras has {len(k_layers)} layers with weights, lapenna {len(layers)}: "
        f"{[type(k).__name__ for k in k_layers]} vs {[type(m).__name__ for m in layers]}"
    )
    for k_layer, layer in zip(k_layers, layers):
        k_shapes = [tuple(w.shape) for w in k_layer.weights]
        shapes = [tuple(w.shape) for w in layer.weights]
        assert type(k_layer).__name__ == type(layer).__name__ and k_shapes == shapes, (
            f"Keras layer {k_layer.name!r} ({type(k_layer).__name__}, weights {k_shapes}) "
            f"pairs with lapenna layer {layer.name!r} ({type(layer).__name__}, "
            f"weights {shapes})"
        )
    return list(zip(k_layers, layers))


def _check_layer_shapes(keras_model, model, every_layer):
    """Output shapes, as ``summary()`` prints them: of every layer (``every_layer``), or of
    each weighted layer pair (a zoo model may split a Keras layer's activation or padding
    into layers of its own) and of the model."""
    if every_layer:
        k_layers = [x for x in keras_model.layers if type(x).__name__ != "InputLayer"]
        layers = [x for x in model.layers if type(x).__name__ != "InputLayer"]
        assert len(k_layers) == len(layers), (
            f"Keras lists {len(k_layers)} layers, lapenna {len(layers)}: "
            f"{[x.name for x in k_layers]} vs {[x.name for x in layers]}"
        )
    else:
        k_layers, layers = zip(*_weighted_layer_pairs(keras_model, model))
        assert _shape_list(keras_model.outputs) == _shape_list(model.outputs), (
            f"model outputs: Keras {_shape_list(keras_model.outputs)}, "
            f"lapenna {_shape_list(model.outputs)}"
        )
    for k_layer, layer in zip(k_layers, layers):
        want = _shape_list(k_layer.output)
        got = _shape_list(_lapenna_output(layer))
        assert want == got, (
            f"output shape of Keras layer {k_layer.name!r}: {want}, of lapenna layer "
            f"{layer.name!r}: {got}"
        )


def _lapenna_output(layer):
    nodes = layer._inbound_nodes
    assert nodes, f"lapenna layer {layer.name!r} was never called in the model's graph"
    return nodes[-1].outputs


def _shape_list(structure):
    if isinstance(structure, list | tuple):
        return [_shape_list(s) for s in structure]
    return tuple(None if d is None else int(d) for d in structure.shape)


def _as_list(out):
    if isinstance(out, dict):
        return [np.asarray(out[k]) for k in sorted(out)]
    if isinstance(out, list | tuple):
        return [np.asarray(o) for o in out]
    return [np.asarray(out)]


def _check_close(what, got, want, rtol, atol):
    worst = 0.0
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
        assert g.shape == w.shape, f"{what} {i}: lapenna shape {g.shape}, Keras {w.shape}"
        scale = max(1.0, float(np.max(np.abs(w)))) if w.size else 1.0
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol * scale, err_msg=f"{what} {i}")
        if w.size:
            worst = max(worst, float(np.max(np.abs(g - w))))
    return worst


def _check_input_gradients(report, keras, x, y, loss, rtol, atol):
    """The gradient of the loss (plus the models' own losses) with respect to the inputs,
    in training mode: it checks the backward pass of layers without weights too."""
    import torch

    several = isinstance(x, list | tuple)
    arrays = [np.asarray(a) for a in (x if several else [x])]
    k_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    k_out = report.keras_model(k_inputs if several else k_inputs[0], training=True)
    k_loss = keras.ops.mean(keras.losses.get(loss)(torch.tensor(np.asarray(y)), k_out))
    for penalty in report.keras_model.losses:
        k_loss = k_loss + penalty
    k_loss.backward()
    inputs = [lapenna.tensor(a, requires_grad=True) for a in arrays]
    out = report.model(inputs if several else inputs[0], training=True)
    lp_loss = lapenna.ops.mean(lapenna.losses.get(loss)(lapenna.tensor(np.asarray(y)), out))
    for penalty in report.model.losses:
        lp_loss = lp_loss + penalty
    grads = lapenna.grad(lp_loss, inputs, allow_unused=True)
    want = [t.grad.numpy() if t.grad is not None else np.zeros(t.shape) for t in k_inputs]
    got = [g.numpy() if g is not None else np.zeros(a.shape) for g, a in zip(grads, arrays)]
    report.gradient_errors["inputs"] = _check_close(
        "gradient of the inputs", got, want, rtol * 10, atol * 10
    )


def _check_training_step(report, keras, x, y, loss, learning_rate, rtol, atol):
    k_model, model = report.keras_model, report.model
    _check_input_gradients(report, keras, x, y, loss, rtol, atol)
    if not model.trainable_weights:
        return
    k_model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss=loss)
    model.compile(optimizer=lapenna.optimizers.SGD(learning_rate=learning_rate), loss=loss)
    pairs = _weighted_layer_pairs(k_model, model)
    before_k = [[np.asarray(w) for w in k.get_weights()] for k, _ in pairs]
    before = [layer.get_weights() for _, layer in pairs]
    k_loss = float(np.ravel(k_model.train_on_batch(x, y))[0])
    lp_loss = float(np.ravel(model.train_on_batch(x, y))[0])
    assert abs(k_loss - lp_loss) <= atol * max(1.0, abs(k_loss)) + rtol * abs(k_loss), (
        f"training-step loss: Keras {k_loss}, lapenna {lp_loss}"
    )
    report.loss_error = abs(k_loss - lp_loss)
    for (k_layer, layer), old_k, old in zip(pairs, before_k, before):
        for k_w, w, o_k, o in zip(k_layer.weights, layer.weights, old_k, old):
            step_k = (np.asarray(k_w.numpy(), np.float64) - o_k) / -learning_rate
            step = (w.numpy().astype(np.float64) - o) / -learning_rate
            if not k_w.trainable:  # moving statistics: compare the new values themselves
                step_k, step = np.asarray(k_w.numpy(), np.float64), w.numpy()
            name = getattr(w, "path", layer.name)
            report.gradient_errors[name] = _check_close(
                f"change of {name}", [step], [step_k], rtol * 10, atol * 10
            )

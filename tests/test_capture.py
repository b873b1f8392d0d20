"""Captured steps (``lp.function``) replay a recorded plan with bit-identical numerics."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers


def _mlp():
    return lp.Sequential(
        [
            layers.Input((12,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(8, activation="tanh"),
            layers.Dense(3),
        ]
    )


def _cnn():
    return lp.Sequential(
        [
            layers.Input((8, 8, 2)),
            layers.Conv2D(4, 3, padding="same"),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(3),
        ]
    )


def _batches(shape, n=5, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((6, *shape)).astype("float32") for _ in range(n)]
    ys = [rng.integers(0, 3, 6) for _ in range(n)]
    return xs, ys


def _train(build, optimizer, shape, captured, steps=100):
    lp.set_seed(3)
    model = build()
    opt = lp.optimizers.get(optimizer)
    loss_fn = lp.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step(x, y):
        with lp.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        opt.apply_gradients(zip(grads, model.trainable_weights))
        return loss

    fn = lp.function(step) if captured else step
    xs, ys = _batches(shape)
    losses = [float(fn(xs[i % 5], ys[i % 5]).data) for i in range(steps)]
    return model, opt, losses, fn


@pytest.mark.parametrize(
    ("build", "shape"), [(_mlp, (12,)), (_cnn, (8, 8, 2))], ids=["mlp", "cnn_bn_dropout"]
)
@pytest.mark.parametrize(
    "optimizer",
    [{"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.9}}, "adam"],
    ids=["sgd_momentum", "adam"],
)
def test_captured_training_is_bit_identical(build, shape, optimizer):
    eager, eager_opt, eager_losses, _ = _train(build, optimizer, shape, captured=False)
    model, opt, losses, fn = _train(build, optimizer, shape, captured=True)
    assert fn.reasons == {} and len(fn.plans) == 1  # it did replay
    assert losses == eager_losses
    for a, b in zip(eager.weights, model.weights):  # moving statistics included
        assert a.dtype == b.dtype and np.array_equal(a.numpy(), b.numpy()), a.name
    for a, b in zip(eager_opt.variables, opt.variables):
        assert np.array_equal(a.numpy(), b.numpy())
    assert opt.iterations == eager_opt.iterations == 100
    assert lp.backend.get_rng_state() is not None


def test_the_plan_reads_as_kernel_steps():
    _, _, _, fn = _train(_mlp, "sgd", (12,), captured=True, steps=3)
    (plan,) = fn.plans.values()
    names = [name for name, *_ in plan.steps]
    assert names.count("MatMul") == 3 + 5  # three forward, five backward (no dX for layer 1)
    assert names[-1] == "SGD.apply_gradients"
    assert "MatMul" in str(plan) and len(str(plan).splitlines()) == len(plan.steps) + 1


def test_python_branch_on_a_value_stays_eager():
    w = lp.Variable(np.ones(3, dtype="float32"))

    def step(x):
        with lp.GradientTape() as tape:
            s = lp.ops.sum(w * x)
            loss = s * s if float(s.data) > 0 else -s  # the branch depends on the data
        w.assign_sub(tape.gradient(loss, w) * 0.1)
        return loss

    fn = lp.function(step)
    xs = [np.full(3, v, dtype="float32") for v in (1.0, -1.0, 1.0, -1.0)]
    for x in xs:
        fn(x)
    assert fn.plans == {} and "kernels" in next(iter(fn.reasons.values()))
    w_eager = w.numpy().copy()
    w.assign(np.ones(3, dtype="float32"))
    for x in xs:
        step(x)
    assert np.array_equal(w.numpy(), w_eager)


def test_raw_array_work_is_detected_and_stays_eager():
    w = lp.Variable(np.zeros(2, dtype="float32"))

    def step(x):
        scaled = lp.tensor(x.data * 2.0)  # a raw numpy expression: the plan cannot see it
        w.assign_add(scaled)
        return w * 1.0

    fn = lp.function(step)
    for v in (1.0, 2.0, 3.0):
        fn(lp.tensor(np.full(2, v, dtype="float32")))
    assert fn.plans == {}
    assert "not read by any kernel" in next(iter(fn.reasons.values()))
    assert w.numpy().tolist() == [12.0, 12.0]


def test_new_shapes_record_a_new_plan():
    w = lp.Variable(np.ones((), dtype="float32"))

    @lp.function
    def step(x):
        w.assign_add(lp.ops.mean(x) * 0.0 + 1.0)
        return lp.ops.sum(x * w)

    outs = [float(step(np.ones(n, dtype="float32")).data) for n in (2, 2, 2, 3, 3, 3)]
    assert len(step.plans) == 2
    assert outs == [4.0, 6.0, 8.0, 15.0, 18.0, 21.0]


def _fit(capture_steps, epochs=3):
    lp.set_seed(5)
    model = _cnn()
    model.capture_steps = capture_steps
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 8, 8, 2)).astype("float32")
    y = rng.integers(0, 3, 40)
    history = model.fit(x, y, batch_size=8, epochs=epochs, verbose=0)
    return model, history


def test_fit_runs_captured_by_default_and_matches_eager():
    eager, eager_history = _fit(False)
    model, history = _fit(True)
    step = model._captured_update[1]
    assert step.reasons == {} and len(step.captured.plans) == 1
    assert history.history == eager_history.history
    for a, b in zip(eager.weights, model.weights):
        assert np.array_equal(a.numpy(), b.numpy()), a.name


def test_fit_records_again_when_the_trainable_weights_change():
    model, _ = _fit(True, epochs=1)
    first = model._captured_update[1]
    model.layers[0].trainable = False
    frozen = model.layers[0].kernel.numpy().copy()
    model.fit(np.ones((16, 8, 8, 2), "float32"), np.zeros(16, "int64"), batch_size=4, verbose=0)
    assert model._captured_update[1] is not first
    assert np.array_equal(model.layers[0].kernel.numpy(), frozen)


def test_a_bad_batch_in_a_replay_raises_the_eager_error_and_keeps_the_plan():
    lp.set_seed(0)
    model = lp.Sequential([layers.Input((4,)), layers.Dense(3)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = np.ones((8, 4), "float32"), np.zeros(8, "int64")
    for _ in range(3):
        model.train_on_batch(x, y)
    for label in (7, -1):  # numpy would wrap -1 around silently: the check is replayed
        bad = y.copy()
        bad[0] = label
        with pytest.raises(ValueError, match=f"label {label} is out of range for 3 classes"):
            model.train_on_batch(x, bad)
    step = model._captured_update[1]
    assert len(step.captured.plans) == 1 and step.reasons == {}


def test_an_array_parameter_computed_outside_the_kernels_is_compared():
    w = lp.Variable(np.ones(4, dtype="float32"))

    def step(x):
        keep = x.data > 0  # a raw mask handed to a primitive as a parameter
        with lp.GradientTape() as tape:
            loss = lp.ops.sum(lp.ops.where(keep, w * x, 0.0))
        w.assign_sub(tape.gradient(loss, w) * 0.5)
        return loss

    fn = lp.function(step)
    xs = [np.array([1, -1, 1, -1], "float32"), np.array([-1, 1, -1, 1], "float32")]
    for x in xs * 2:
        fn(lp.tensor(x))
    assert fn.plans == {} and "changed between two calls" in next(iter(fn.reasons.values()))


def test_a_registered_leaf_hook_keeps_steps_eager_so_the_hook_fires_every_step():
    # data parallelism all-reduces gradients from the engine's leaf hooks; a replayed plan
    # would skip them, so while a hook is registered every step runs through the engine
    from lapenna.autograd import engine

    w = lp.Variable(np.ones(3, dtype="float32"))

    @lp.function
    def step(x):
        with lp.GradientTape() as tape:
            loss = lp.ops.sum(x * w)
        (g,) = tape.gradient(loss, [w])
        w.assign_sub(g * 0.1)
        return loss

    seen = []
    handle = engine.register_leaf_hook(lambda leaf, grad: seen.append(leaf is w))
    try:
        for _ in range(5):
            step(np.ones(3, dtype="float32"))
    finally:
        handle.remove()
    assert seen == [True] * 5 and not step.plans
    for _ in range(3):  # without the hook the step is captured again
        step(np.ones(3, dtype="float32"))
    assert len(step.plans) == 1

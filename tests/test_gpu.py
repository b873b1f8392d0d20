"""The GPU suite (``make test-gpu``): the same ops, models and files on an NVIDIA GPU through
CuPy, compared with the CPU. Every test here needs CuPy and a CUDA GPU; without them the
whole module is skipped with the reason set_device('cuda') gives."""

import importlib.util

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.backend import device
from test_gradcheck import CASES, IDS


def _unavailable():
    try:
        device._load_cupy()
    except lp.DeviceError as err:
        return str(err)
    return None


REASON = _unavailable()
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(REASON is not None, reason=f"needs an NVIDIA GPU and CuPy: {REASON}"),
]


@pytest.fixture
def on(request):
    """``on("cpu")`` / ``on("cuda")`` switches the device; the test ends on the CPU."""
    yield lp.set_device
    lp.set_device("cpu")


def _float_inputs(inputs):
    return [
        lp.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
        if np.asarray(x).dtype.kind == "f"
        else x
        for x in inputs
    ]


def _forward_backward(case):
    """Output and input gradients (as numpy) of ``sum(weights * fn(*inputs))``, float64."""
    tensors = _float_inputs(case.inputs)
    out = case.fn(*tensors)
    weights = np.random.default_rng(0).standard_normal(out.shape)
    grads = []
    if out.requires_grad:
        diff = [t for t in tensors if isinstance(t, lp.Tensor)]
        found = lp.grad(out, diff, grad_outputs=lp.tensor(weights), allow_unused=True)
        grads = [None if g is None else g.numpy() for g in found]
    return out.numpy(), grads


@pytest.mark.parametrize(("name", "i", "case"), CASES, ids=IDS)
def test_every_registered_op_matches_the_cpu_forward_and_backward(on, name, i, case):
    lp.set_floatx("float64")
    on("cpu")
    want_out, want_grads = _forward_backward(case)
    on("cuda")
    got_out, got_grads = _forward_backward(case)
    assert isinstance(got_out, np.ndarray)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-7, atol=1e-9, err_msg=f"{name} output")
    assert len(got_grads) == len(want_grads)
    for k, (got, want) in enumerate(zip(got_grads, want_grads)):
        if want is None:
            assert got is None
            continue
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9, err_msg=f"{name} grad {k}")


def _lenet():
    return lp.applications.LeNet5(input_shape=(28, 28, 1), classes=10)


def _resnet18():
    return lp.applications.ResNet(18, input_shape=(32, 32, 3), classes=10, stem="cifar")


def _losses(build, shape, steps=4, batch=16):
    """Losses of ``steps`` SGD steps on one fixed batch, and the model, on the current device."""
    lp.set_seed(0)
    model = build()
    model.compile(
        optimizer=lp.optimizers.SGD(0.02, momentum=0.9), loss="sparse_categorical_crossentropy"
    )
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, *shape)).astype("float32")
    y = rng.integers(0, 10, batch)
    return [float(model.train_on_batch(x, y)) for _ in range(steps)], model


@pytest.mark.parametrize(
    "build, shape",
    [(_lenet, (28, 28, 1)), (_resnet18, (32, 32, 3))],
    ids=["lenet5", "resnet18_cifar"],
)
def test_models_train_on_the_gpu_as_on_the_cpu(on, build, shape):
    on("cpu")
    cpu, _ = _losses(build, shape)
    on("cuda")
    gpu, model = _losses(build, shape)
    assert lp.backend.array_device(model.weights[0].data) == "cuda"
    assert gpu[-1] < gpu[0], f"the loss did not fall on the GPU: {gpu}"
    # the same seed gives the same initial weights, so the first loss agrees to float32
    np.testing.assert_allclose(gpu[0], cpu[0], rtol=1e-4)
    np.testing.assert_allclose(gpu, cpu, rtol=5e-2)


if hasattr(layers, "LSTM"):

    def _lstm():
        return lp.Sequential([layers.Input((12, 8)), layers.LSTM(16), layers.Dense(10)])

    def test_an_lstm_trains_on_the_gpu_as_on_the_cpu(on):
        on("cpu")
        cpu, _ = _losses(_lstm, (12, 8))
        on("cuda")
        gpu, _ = _losses(_lstm, (12, 8))
        assert gpu[-1] < gpu[0]
        np.testing.assert_allclose(gpu[0], cpu[0], rtol=1e-4)


@pytest.mark.skipif(
    importlib.util.find_spec("gymnasium") is None, reason="the DQN step needs gymnasium"
)
def test_a_dqn_learns_a_few_steps_on_the_gpu(on):
    on("cuda")
    agent = lp.rl.DQN("CartPole-v1", learning_starts=64, batch_size=32, train_freq=1, seed=0)
    agent.learn(total_timesteps=200)
    assert agent.last_loss is not None and np.isfinite(agent.last_loss)
    assert lp.backend.array_device(agent.q_network.weights[0].data) == "cuda"


def test_predict_returns_numpy_on_the_gpu(on):
    on("cuda")
    _, model = _losses(_lenet, (28, 28, 1), steps=1)
    out = model.predict(np.zeros((5, 28, 28, 1), dtype="float32"), batch_size=2, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (5, 10)


def test_save_on_the_gpu_load_on_the_cpu_and_back(on, tmp_path):
    x = np.random.default_rng(2).standard_normal((4, 28, 28, 1)).astype("float32")
    on("cuda")
    _, model = _losses(_lenet, (28, 28, 1), steps=2)
    want = model.predict(x, verbose=0)
    model.save(tmp_path / "gpu.lpn")
    on("cpu")
    on_cpu = lp.models.load_model(tmp_path / "gpu.lpn")
    assert lp.backend.array_device(on_cpu.weights[0].data) == "cpu"
    np.testing.assert_allclose(on_cpu.predict(x, verbose=0), want, rtol=1e-4, atol=1e-5)
    on_cpu.save(tmp_path / "cpu.lpn")
    on("cuda")
    back = lp.models.load_model(tmp_path / "cpu.lpn")
    assert lp.backend.array_device(back.weights[0].data) == "cuda"
    np.testing.assert_allclose(back.predict(x, verbose=0), want, rtol=1e-4, atol=1e-5)


def test_the_same_seed_gives_the_same_run_on_the_gpu(on):
    on("cuda")
    first, _ = _losses(_lenet, (28, 28, 1), steps=3)
    second, _ = _losses(_lenet, (28, 28, 1), steps=3)
    assert first == second


def test_mixing_a_host_and_a_device_array_names_both(on):
    on("cuda")
    a = lp.tensor(np.ones(3, dtype="float32"))
    b = lp.tensor(np.ones(3, dtype="float32"))
    b.data = b.data.get()  # back on the host behind the tensor's back
    with pytest.raises(lp.DeviceError, match="two devices: cuda .* cpu"):
        a * b


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_kernels_match_the_array_operations(on, monkeypatch, dtype):
    from lapenna.backend import fused

    on("cuda")
    rng = np.random.default_rng(3)

    def arrays(*shape, count):
        return [rng.standard_normal(shape).astype(dtype) for _ in range(count)]

    def both(fn, host):
        """``fn`` on device copies of ``host``, with the kernels and with array operations."""
        fused_run = [lp.backend.to_device(a) for a in host]
        fn(*fused_run)
        with monkeypatch.context() as m:
            m.setattr(fused, "_fusable", lambda *a: False)
            plain_run = [lp.backend.to_device(a) for a in host]
            fn(*plain_run)
        return [lp.backend.to_host(a) for a in fused_run], [
            lp.backend.to_host(a) for a in plain_run
        ]

    tol = {"rtol": 1e-5 if dtype == "float32" else 1e-12, "atol": 1e-6 if dtype == "float32" else 0}
    for nesterov in (False, True):
        got, want = both(
            lambda w, vel, g, n=nesterov: fused.sgd_momentum_(w, vel, g, 0.05, 0.9, n),
            arrays(7, 33, count=3),
        )
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, **tol)
    m, v = arrays(7, 33, count=2)
    got, want = both(
        lambda w, m, v, g: fused.adam_(w, m, v, g, 0.9, 0.999, 1e-3, 1e-7),
        [*arrays(7, 33, count=1), m, np.abs(v), *arrays(7, 33, count=1)],
    )
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, **tol)
    block = rng.standard_normal((4, 5, 6, 8)).astype(dtype)
    block[0, 0, 0, 0] = np.nan
    bias = rng.standard_normal(8).astype(dtype)
    for relu in (False, True):
        got, want = both(lambda y, b, r=relu: fused.bias_relu_(y, b, r), [block, bias])
        np.testing.assert_allclose(got[0], want[0], **tol)
        assert np.isnan(got[0][0, 0, 0, 0])


def test_fit_with_metrics_validation_and_evaluate_on_the_gpu(on):
    on("cuda")
    lp.set_seed(0)
    model = _lenet()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(4)
    x = rng.standard_normal((96, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, 96)
    history = model.fit(x, y, batch_size=32, epochs=2, validation_split=0.25, verbose=0)
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(np.isfinite(v) for v in history.history["loss"])
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float) and 0.0 <= accuracy <= 1.0


def test_the_summary_reports_gpu_memory(on):
    on("cuda")
    _, model = _losses(_lenet, (28, 28, 1), steps=1)
    text = lp.models.summarize(model).format(batch_size=16)
    assert "GPU memory: " in text and " free of " in text
    assert lp.backend.gpu_memory()["in_use"] > 0

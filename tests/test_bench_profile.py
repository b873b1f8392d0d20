"""``lapenna bench`` names the machine, and ``--profile`` splits a training step."""

import lapenna as lp
from lapenna.backend.threads import machine_info
from lapenna.cli.bench_profile import profile_step
from lapenna.cli.main import main


def test_machine_info_names_cpu_and_blas():
    info = machine_info()
    assert {"cpu", "cores", "blas", "blas_kernel", "numpy"} <= set(info)
    assert info["cpu"] and info["blas"]


def test_profile_splits_a_step_into_its_parts():
    lp.set_seed(0)
    model = lp.Sequential(
        [lp.layers.Input((6,)), lp.layers.Dense(5, activation="relu"), lp.layers.Dense(3)]
    )
    loss_fn = lp.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = lp.optimizers.SGD(0.1, momentum=0.9)
    x = lp.tensor(lp.backend.xp.ones((4, 6), dtype="float32"))
    result = profile_step(model, loss_fn, optimizer, x, lp.backend.xp.array([0, 1, 2, 0]), 2)
    # two dense forwards, two kernel gradients, one input gradient (the first layer's skipped)
    assert len(result["gemm_ops"]) == 5
    assert result["gemm_flops"] == 2 * 4 * (6 * 5 + 5 * 3) * 2 + 2 * 4 * 3 * 5
    parts = result["gemm"] + result["other"] + result["update"] + result["overhead"]
    assert abs(parts - result["step"]) < 1e-9 or result["overhead"] == 0.0
    assert {o["op"] for o in result["other_ops"]} >= {"Relu", "ReluGrad"}
    assert result["eager"] > 0 and result["captured"] > 0


def test_bench_profile_command(capsys):
    assert main(["bench", "--profile", "mlp", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cpu: ") and "\nblas: " in out and "kernel: " in out
    for part in ("GEMM primitives", "other primitives", "optimizer update", "overhead"):
        assert part in out
    assert "MatMul" in out and "captured (lp.function" in out

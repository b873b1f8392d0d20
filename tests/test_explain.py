"""``Model.explain``, ``lapenna explain`` and the kernel recorder, against hand-worked counts.

Every GEMM shape and FLOP count below is worked out by hand from the layer's geometry and
the kernel lapenna selects for it (plain im2col, banded, Winograd, col2im); the forward
textbook FLOPs must be twice ``summary()``'s MACs times the batch, and the step's count in
the benchmark's convention what ``lapenna bench`` multiplies its rate by.
"""

import json

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.backend import trace
from lapenna.cli.bench import bench_lapenna
from lapenna.cli.bench_workloads import WORKLOADS, lenet5_lapenna
from lapenna.cli.main import main

CEILINGS = {"sgemm_gflops": 100.0, "copy_gbs": 10.0}

# the course's convolution example (padding of 1 already included), HWC
_CHANNELS = [
    ["0000000", "0012220", "0201020", "0001120", "0102200", "0212100", "0000000"],
    ["0000000", "0010220", "0010200", "0211200", "0100000", "0021000", "0000000"],
    ["0000000", "0012120", "0201010", "0112100", "0102100", "0200220", "0000000"],
]
_W0 = [
    [[0, 0, 1], [1, -1, -1], [1, 1, 0]],
    [[0, 1, -1], [0, 1, 0], [0, 0, 0]],
    [[1, 0, 1], [0, 1, 1], [-1, 1, 0]],
]
_W1 = [
    [[-1, 1, 0], [1, 1, -1], [0, -1, -1]],
    [[1, 1, -1], [1, 1, 1], [0, -1, 1]],
    [[1, 1, -1], [-1, 0, 1], [-1, 1, -1]],
]


def _course_input():
    x = np.array([[[int(c) for c in row] for row in ch] for ch in _CHANNELS], dtype=np.float32)
    return x.transpose(1, 2, 0)[None]  # (1, 7, 7, 3)


def _course_conv():
    model = lp.Sequential([layers.Input((7, 7, 3)), layers.Conv2D(2, 3, strides=2)])
    kernel = np.stack([np.array(_W0), np.array(_W1)], axis=-1).transpose(1, 2, 0, 3)
    model.layers[0].set_weights([kernel.astype(np.float32), np.array([1.0, 0.0], np.float32)])
    return model


def _shown(report, phase=None, layer=None):
    return [
        line
        for line in report.lines
        if not line["view"]
        and (phase is None or line["phase"] == phase)
        and (layer is None or line["row"] == layer)
    ]


def _gemms(lines):
    return [s for line in lines for s in line["steps"] if s["kind"] == "gemm"]


def _gemm(step):
    return (step["a"], step["m"], step["k"], step["b"], step["n"], step["c"], step["batch"])


def test_course_conv_example_is_one_im2col_gemm():
    model = _course_conv()
    x = _course_input()
    y = model(x).numpy()[0]
    assert y[..., 0].tolist() == [[5, 3, 8], [6, 5, 1], [1, 5, 5]]
    assert y[..., 1].tolist() == [[2, 6, 6], [6, 2, 8], [6, 10, -2]]

    report = lp.models.explain(model, x, training=True, loss="mse")
    (conv,) = _shown(report, "forward", model.layers[0].name)
    # 9 output positions, each a window of 3*3*3 = 27 values, times 2 filters
    im2col, gemm, bias = conv["steps"]
    assert im2col["name"] == "im2col" and im2col["bytes"] == 2 * 9 * 27 * 4
    assert _gemm(gemm) == ("im2col(X)", 9, 27, "W", 2, "Y", 1)
    assert gemm["flops"] == 2 * 9 * 27 * 2 == 972
    assert gemm["bytes"] == (9 * 27 + 27 * 2 + 9 * 2) * 4
    assert bias["name"] == "bias" and bias["flops"] == 18
    assert conv["textbook_flops"] == 972 == 2 * lp.models.summarize(model).macs
    assert conv["flops"] == 972 + 18 and conv["bytes"] == 1944 + gemm["bytes"] + 144
    # backward of a first layer: dW = im2col(X)^T dY and db = 1^T dY, no dX
    backward = _shown(report, "backward", model.layers[0].name)
    assert [_gemm(g) for g in _gemms(backward)] == [
        ("im2col(X)^T", 27, 9, "dY", 2, "dW", 1),
        ("1^T", 1, 9, "dY", 2, "db", 1),
    ]
    assert "ConvTranspose" not in [line["op"] for line in backward]
    # every line of the layer and of the update, worked out by hand
    window = (27 * 9 + 9 * 2 + 27 * 2) * 4  # im2col(X)^T, dY and dW, float32
    lines = _shown(report, layer=model.layers[0].name) + _shown(report, "update")
    assert [(x["phase"], x["op"], x["flops"], x["bytes"]) for x in lines] == [
        ("forward", "Conv", 972 + 18, 1944 + (9 * 27 + 27 * 2 + 9 * 2) * 4 + 144),
        ("backward", "ConvKernelGrad", 972, 1944 + window),
        ("backward", "MatMul", 2 * 9 * 2, (9 + 9 * 2 + 2) * 4),
        ("update", "apply_gradients", 2 * 56, 3 * 56 * 4),  # 54 weights, 2 biases, SGD
    ]


def test_input_gradient_of_a_strided_conv_is_gemms_and_col2im():
    model = lp.Sequential(
        [layers.Input((7, 7, 3)), layers.Conv2D(3, 1), layers.Conv2D(2, 3, strides=2)]
    )
    report = lp.models.explain(model, _course_input(), loss="mse")
    first, second = (layer.name for layer in model.layers)
    # the 1x1 convolution: 49 positions of 3 channels times 3 filters
    assert [_gemm(g) for g in _gemms(_shown(report, "forward", first))] == [
        ("im2col(X)", 49, 3, "W", 3, "Y", 1)
    ]
    (dx,) = [x for x in _shown(report, "backward", second) if x["op"] == "ConvTranspose"]
    col2im_gemm, col2im = dx["steps"]
    # one product per kernel tap: dY (9 positions x 2) times that tap's W^T (2 x 3)
    assert _gemm(col2im_gemm) == ("dY", 9, 2, "W^T", 3, "dcols", 9)
    assert col2im_gemm["flops"] == dx["textbook_flops"] == 2 * 9 * 27 * 2
    assert col2im["name"] == "col2im" and col2im["flops"] == 81 * 3
    assert col2im["bytes"] == 3 * 81 * 3 * 4 + 7 * 7 * 3 * 4


def test_dense_layers_are_x_times_w_and_two_gemms_back():
    model = lp.Sequential([layers.Input((4,)), layers.Dense(5), layers.Dense(3)])
    report = lp.models.explain(model, (4,), batch_size=2, loss="mse")
    first, second = (layer.name for layer in model.layers)
    assert [_gemm(g) for g in _gemms(_shown(report, "forward"))] == [
        ("X", 2, 4, "W", 5, "Y", 1),
        ("X", 2, 5, "W", 3, "Y", 1),
    ]
    assert [_gemm(g) for g in _gemms(_shown(report, "backward", second))] == [
        ("dY", 2, 3, "W^T", 5, "dX", 1),
        ("X^T", 5, 2, "dY", 3, "dW", 1),
    ]
    assert [_gemm(g) for g in _gemms(_shown(report, "backward", first))] == [
        ("X^T", 4, 2, "dY", 5, "dW", 1)
    ]
    bias = [x for x in _shown(report, "forward", first) if x["op"] == "Add"][0]
    assert bias["flops"] == 10 and bias["bytes"] == (10 + 5 + 10) * 4
    (update,) = _shown(report, "update")
    assert update["op"] == "apply_gradients"
    params = 4 * 5 + 5 + 5 * 3 + 3
    assert update["flops"] == 2 * params and update["bytes"] == 3 * params * 4  # plain SGD


@pytest.mark.parametrize(
    ("size", "m", "products", "fewer"),
    [
        (6, 2, 16, 2.25),  # 6x6: 2x2 blocks of 4x4 need as many products as 3x3 blocks of 2x2
        (8, 4, 36, 4),
    ],
)
def test_winograd_multiplies_fewer_times_forward_and_backward(size, m, products, fewer):
    conv = [layers.Conv2D(16, 3, padding="same") for _ in range(2)]
    model = lp.Sequential([layers.Input((size, size, 16)), *conv])
    report = lp.models.explain(model, (size, size, 16), batch_size=2)
    (forward,) = _shown(report, "forward", conv[0].name)
    assert any(f"Winograd F({m}x{m}, 3x3)" in note for note in forward["notes"])
    (gemm,) = _gemms([forward])
    tiles = 2 * (size // m) ** 2  # m x m output blocks, two samples
    assert _gemm(gemm) == ("V", tiles, 16, "U", 16, "M", products)
    assert forward["textbook_flops"] == 2 * 2 * size * size * 9 * 16 * 16
    assert forward["textbook_flops"] / gemm["flops"] == fewer
    # the second layer's backward: its kernel gradient and its input gradient (dY
    # convolved with the flipped kernel) take the same products
    backward = [_gemm(g) for g in _gemms(_shown(report, "backward", conv[1].name))]
    assert ("V^T", 16, tiles, "dM", 16, "dU", products) in backward
    assert ("V", tiles, 16, "U", 16, "M", products) in backward


def test_lenet_convs_use_banded_kernels():
    model = lenet5_lapenna()
    report = lp.models.explain(model, (28, 28, 1), batch_size=4)
    conv1, conv2 = (layer.name for layer in model.layers if type(layer).__name__ == "Conv2D")
    (forward,) = _gemms(_shown(report, "forward", conv1))
    # 7 neighbouring outputs per row: windows 5 x 11 wide, 7 * 6 = 42 columns, 28/7 rows
    assert _gemm(forward) == ("im2col(X)", 4 * 28 * 4, 5 * 11, "W", 42, "Y", 1)
    (dx,) = [x for x in _shown(report, "backward", conv2) if x["op"] == "ConvTranspose"]
    (gemm,) = _gemms([dx])
    # dY of 10x10x16 in blocks of 5 outputs: 80 columns; windows of 5 rows x 9 x 6 channels
    assert _gemm(gemm) == ("dY", 4 * 10 * 2, 80, "W_band^T", 5 * 9 * 6, "dcols", 1)
    assert not any(x["op"] == "ConvTranspose" for x in _shown(report, "backward", conv1))


def test_forward_textbook_flops_are_twice_the_summary_macs():
    model = lenet5_lapenna()
    batch = 4
    report = lp.models.explain(model, (28, 28, 1), batch_size=batch)
    summary = lp.models.summarize(model)
    rows = {row["name"]: row for row in report.rows}
    for row in summary.rows:
        assert rows[row.name]["forward"]["textbook_flops"] == 2 * batch * row.macs, row.name
    step = report.totals["step"]
    assert report.totals["forward"]["textbook_flops"] == 2 * batch * summary.macs
    # backward: dX and dW of every GEMM layer but the first's dX, plus the convolutions'
    # bias gradients (a row of ones times dY)
    convs = [r for r in summary.rows if r.class_name == "Conv2D"]
    first = 2 * batch * convs[0].macs
    bias = sum(2 * batch * np.prod(r.output_shape[1:]) for r in convs)
    backward = 2 * report.totals["forward"]["textbook_flops"] - first + bias
    assert report.totals["backward"]["textbook_flops"] == backward
    assert step["benchmark_flops"] == 3 * 2 * batch * summary.macs


def test_benchmark_counts_the_same_flops():
    _, shape, batch = WORKLOADS["lenet5"]
    _, _, macs = bench_lapenna("lenet5", 0.0)
    report = lp.models.explain(WORKLOADS["lenet5"][0](), shape, batch_size=batch)
    # 'lapenna bench' prints 3 * 2 * macs * samples/s: the step's benchmark_flops / time
    assert report.totals["step"]["benchmark_flops"] == 3 * 2 * macs * batch


def test_batch_normalization_is_memory_passes():
    model = lp.Sequential([layers.Input((4,)), layers.Dense(3), layers.BatchNormalization()])
    report = lp.models.explain(model, (4,), batch_size=8, loss="mse")
    norm = model.layers[1].name
    steps = [s for x in _shown(report, layer=norm) for s in x["steps"]]
    x_bytes, stat_bytes = 8 * 3 * 4, 3 * 4
    assert [(s["name"], s["flops"], s["bytes"]) for s in steps] == [
        # the mean pass and the variance pass read x; two statistics are written
        ("moments", 4 * 24, 2 * x_bytes + 2 * stat_bytes),
        ("normalize", 2 * 24, 2 * x_bytes),
        # sums of dY and dY * (x - mean), then the combination: x and dY read, dX written
        ("normalize backward", 9 * 24, 4 * x_bytes),
    ]
    # the Normalize primitive computes its own statistics: one forward op, one backward op
    phases = [x["phase"] for x in _shown(report, layer=norm) if x["steps"]]
    assert phases == ["forward", "backward"]


def test_a_nested_block_is_one_row_named_by_its_layers():
    block = lp.Sequential([layers.Dense(5), layers.Dense(4)], name="block")
    model = lp.Sequential([layers.Input((3,)), block, layers.Dense(2)])
    report = lp.models.explain(model, (3,), batch_size=2, loss="mse")
    summary = lp.models.summarize(model)
    assert [r["name"] for r in report.rows] == [r.name for r in summary.rows] + [
        "loss",
        "optimizer",
    ]
    inner = [(x["phase"], x["layer"]) for x in _gemms_lines(report, "block")]
    first, second = (layer.name for layer in block.layers)
    assert inner == [("forward", first), ("forward", second)] + [("backward", second)] * 2 + [
        ("backward", first)
    ]
    assert report.rows[0]["forward"]["textbook_flops"] == 2 * 2 * summary.rows[0].macs


def _gemms_lines(report, row):
    return [x for x in _shown(report, layer=row) if x["op"] == "MatMul"]


def test_pooling_passes_move_their_bytes():
    # the course's max pooling example, behind a trainable identity so that it has a backward
    identity = layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones")
    model = lp.Sequential([layers.Input((4, 4, 1)), identity, layers.MaxPooling2D(2)])
    pool = model.layers[1].name
    x = np.array([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]], np.float32)
    x = x.reshape(1, 4, 4, 1)
    assert model(x).numpy().ravel().tolist() == [5, 6, 7, 8]
    (inference,) = _shown(lp.models.explain(model, x, training=False), layer=pool)
    # 16 inputs read, 4 maxima written (float32); 4 window offsets compared per maximum
    assert inference["bytes"] == 64 + 16 and inference["flops"] == 4 * 4
    report = lp.models.explain(model, x, loss="mse")
    (forward,) = _shown(report, "forward", pool)
    assert forward["bytes"] == 64 + 16 + 4  # and the winners' offsets, one byte each
    (backward,) = _shown(report, "backward", pool)
    assert backward["op"] == "MaxPoolScatter" and backward["bytes"] == 16 + 4 + 64


def test_explain_restores_the_model_and_its_optimizer():
    model = lp.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    before = [w.numpy().copy() for w in model.weights]
    report = model.explain((3,), batch_size=4, print_fn=None, measure=True, ceilings=CEILINGS)
    assert report.optimizer == "Adam" and report.loss == "MeanSquaredError"
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights))
    assert model.optimizer.iterations == 0 and not model.optimizer.variables


def test_measured_report_json_and_figures(tmp_path):
    model = lp.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(4, 3), layers.Flatten()])
    report = lp.models.explain(
        model, (6, 6, 1), batch_size=3, measure=True, repeats=2, ceilings=CEILINGS
    )
    step = report.totals["step"]
    assert step["step_seconds"] > 0 and step["other_seconds"] >= 0
    for line in report.lines:
        if line["seconds"] and line["flops"]:
            assert line["gflops_per_s"] == pytest.approx(line["flops"] / line["seconds"] / 1e9)
    data = json.loads(report.to_json(tmp_path / "e.json"))
    assert data == json.loads((tmp_path / "e.json").read_text())
    assert data["totals"]["forward"]["textbook_flops"] == 2 * 3 * 16 * 9 * 4
    report.roofline(tmp_path / "roof.png")
    report.time_chart(tmp_path / "time.png")
    for name in ("roof.png", "time.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = report.format()
    assert "GFLOP/s" in text and "im2col(X) 48x9 @ W 9x4 -> Y 48x4" in text


def test_bad_input_is_refused_before_anything_runs():
    model = lp.Sequential([layers.Input((3,)), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"positive integers.*\(0, 3\)"):
        lp.models.explain(model, (0, 3))
    with pytest.raises(ValueError, match="batch_size >= 1, got 0"):
        lp.models.explain(model, (3,), batch_size=0)
    with pytest.raises(ValueError, match="repeats >= 1"):
        lp.models.explain(model, (3,), repeats=0)
    with pytest.raises(ValueError, match="ceilings needs"):
        lp.models.explain(model, (3,), ceilings={"sgemm_gflops": 1.0})
    with pytest.raises(ValueError, match="measure=True"):
        lp.models.explain(model, (3,)).roofline()
    with pytest.raises(ValueError, match="positive ceilings"):
        lp.plot.roofline([], 0.0, 1.0)
    assert not trace.recording()


def test_recorder_is_inactive_and_nests():
    assert trace.active() is None
    trace.gemm("A", "B", "C", 2, 2, 2)  # no recorder: nothing happens
    with trace.Recorder() as outer:
        with trace.Recorder() as inner:
            lp.ops.matmul(lp.tensor(np.ones((2, 3), np.float32)), np.ones((3, 4), np.float32))
        assert trace.active() is outer
    assert trace.active() is None
    assert [op["op"] for op in inner.ops] == ["MatMul"] and outer.ops == []


def test_cli_explain_prints_and_writes(tmp_path, capsys):
    args = ["explain", "lenet5", "--input-shape", "28,28,1", "--classes", "10"]
    code = main([*args, "--batch-size", "2", "--measure", "--repeats", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "GEMM im2col(X) 224x55 @ W 55x42 -> Y 224x42" in out and "Step totals" in out
    data = json.loads((tmp_path / "explain.json").read_text())
    assert data["batch_shape"] == [2, 28, 28, 1] and data["ceilings"]["sgemm_gflops"] > 0
    assert (tmp_path / "roofline.png").stat().st_size > 0
    assert (tmp_path / "time.png").stat().st_size > 0


def test_cli_explain_usage_errors(tmp_path, capsys):
    assert main(["explain", "nonet"]) == 2
    model = tmp_path / "m.lpn"
    lp.Sequential([layers.Input((3,)), layers.Dense(2)]).save(model)
    assert main(["explain", str(model), "--input-shape", "3"]) == 2
    assert "apply to zoo models" in capsys.readouterr().err
    assert main(["explain", str(model), "--inference", "--batch-size", "2"]) == 0
    assert "GEMM X 2x3 @ W 3x2 -> Y 2x2" in capsys.readouterr().out


def test_transposed_and_depthwise_convolutions():
    model = lp.Sequential(
        [
            layers.Input((6, 6, 4)),
            layers.Conv2D(4, 1),
            layers.Conv2DTranspose(3, 3, strides=2),  # 6x6x4 -> 13x13x3
            layers.DepthwiseConv2D(3),  # 13x13x3 -> 11x11x3
        ]
    )
    report = lp.models.explain(model, (6, 6, 4), batch_size=2, loss="mse")
    transposed, depthwise = model.layers[1].name, model.layers[2].name
    # the transposed convolution's forward is a convolution's input gradient: one product
    # per kernel tap of its input X (72 positions x 4) with that tap's W^T (4 x 3)
    gemms = [(x["phase"], _gemm(g)) for x in _shown(report, layer=transposed) for g in _gemms([x])]
    assert gemms == [
        ("forward", ("X", 72, 4, "W^T", 3, "cols", 9)),
        ("backward", ("im2col(dY)", 72, 27, "W", 4, "dX", 1)),
        ("backward", ("im2col(dY)^T", 27, 72, "X", 4, "dW", 1)),
        ("backward", ("1^T", 1, 2 * 13 * 13, "dY", 3, "db", 1)),
    ]
    assert _gemms(_shown(report, "forward", transposed))[0]["flops"] == 2 * 9 * 72 * 4 * 3
    (forward,) = _shown(report, "forward", depthwise)
    taps, bias = forward["steps"]
    # 9 taps, each a multiply-add over the 2*11*11*3 outputs; no GEMM
    assert taps["flops"] == 2 * 9 * 2 * 11 * 11 * 3 == forward["textbook_flops"]
    assert taps["bytes"] == (2 * 13 * 13 * 3 + 9 * 3 + 2 * 11 * 11 * 3) * 4
    assert bias["name"] == "bias" and bias["flops"] == 2 * 11 * 11 * 3

"""The ``lapenna`` command: every subcommand on tiny inputs, its files and its exit codes."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import lapenna as lp
from extras import requires
from lapenna import layers
from lapenna.cli import main
from lapenna.datasets import mnist

# the command trains on the bundled datasets, writes TensorBoard logs and figures, reads
# image folders and exports ONNX: its tests need those extras
pytestmark = requires(
    "sklearn", "mlxtend", "threadpoolctl", "tensorboard", "matplotlib", "PIL", "onnx", "onnxruntime"
)

SRC = Path(__file__).resolve().parents[1] / "src"


def run(*args):
    """Run ``lapenna args`` in this process; returns the exit code (argparse's included)."""
    try:
        return main([str(a) for a in args])
    except SystemExit as exit_:
        return exit_.code


def mlp_file(path, shape, classes, hidden=32):
    """A small softmax MLP saved as a model file, for quick training runs."""
    model = lp.Sequential(
        [
            layers.Input(shape),
            layers.Flatten(),
            layers.Dense(hidden, activation="relu"),
            layers.Dense(classes, activation="softmax"),
        ]
    )
    model.save(path)
    return path


def write_png(path, image):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)
    return path


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A finished run: an MLP trained 3 epochs on the 8x8 digits."""
    root = tmp_path_factory.mktemp("digits")
    model = mlp_file(root / "mlp.lpn", (8, 8, 1), 10)
    out = root / "run"
    args = ("--dataset", "digits", "--epochs", 3, "--lr", 0.01, "--out", out)
    code = run("train", "--model", model, *args)
    assert code == 0
    return out


def test_help_lists_every_command(capsys):
    assert run("--help") == 0
    text = capsys.readouterr().out
    for command in ("train", "evaluate", "predict", "summary", "export", "datasets", "bench"):
        assert command in text
        assert run(command, "--help") == 0
        assert "usage: lapenna " + command in capsys.readouterr().out


def test_train_writes_the_run_folder(digits_run, capsys):
    files = {p.name for p in digits_run.iterdir()}
    assert {
        "best.lpn",
        "history.csv",
        "learning_curves.png",
        "confusion_matrix.png",
        "logs",
        "class_names.json",
        "run.json",
        "results.json",
    } <= files
    assert "backup" not in files  # removed when training ends
    for png in ("learning_curves.png", "confusion_matrix.png"):
        assert (digits_run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(p.name.startswith("events.out.tfevents") for p in (digits_run / "logs").rglob("*"))
    assert json.loads((digits_run / "class_names.json").read_text()) == [str(d) for d in range(10)]
    with open(digits_run / "history.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    results = json.loads((digits_run / "results.json").read_text())
    assert results["test_images"] == len(lp.datasets.digits.load_data()[1][1])
    assert results["test_accuracy"] > 0.8  # an MLP reaches about 0.9 in three epochs
    assert lp.models.load_model(digits_run / "best.lpn").count_params() == 64 * 32 + 32 + 330


def test_train_ends_with_accuracy_and_folder(tmp_path, capsys):
    model = mlp_file(tmp_path / "mlp.lpn", (8, 8, 1), 10)
    out = tmp_path / "run"
    args = ("--dataset", "digits", "--epochs", 1, "--limit", 100, "--out", out, "--augment")
    assert run("train", "--model", model, *args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2].startswith("test accuracy: ")
    accuracy = float(lines[-2].split()[2])
    assert "test loss: " in lines[-2]
    assert lines[-1] == f"run folder: {out}"
    assert accuracy == pytest.approx(
        json.loads((out / "results.json").read_text())["test_accuracy"], abs=1e-4
    )
    assert json.loads((out / "run.json").read_text())["augment"] is True


def test_evaluate_repeats_the_test_accuracy(digits_run, capsys):
    assert run("evaluate", digits_run / "best.lpn", "--dataset", "digits") == 0
    out = capsys.readouterr().out
    expected = json.loads((digits_run / "results.json").read_text())["test_accuracy"]
    assert f"test accuracy: {expected:.4f}" in out
    assert f"{len(lp.datasets.digits.load_data()[1][1])} test images" in out


def test_predict_names_the_class_of_a_dataset_image(tmp_path, capsys):
    model = mlp_file(tmp_path / "mlp.lpn", (28, 28, 1), 10, hidden=64)
    out = tmp_path / "run"
    args = ("--dataset", "mnist_sample", "--epochs", 2, "--limit", 800, "--out", out)
    assert run("train", "--model", model, *args) == 0
    capsys.readouterr()
    (_, _), (x_test, y_test) = lp.datasets.mnist_sample.load_data()
    best = lp.models.load_model(out / "best.lpn")
    scores = best.predict(x_test[:50].astype(np.float32) / np.float32(255), verbose=0)
    index = int(np.flatnonzero(scores.argmax(axis=1) == y_test[:50])[0])
    image = write_png(tmp_path / "digit.png", x_test[index])
    assert run("predict", out / "best.lpn", image, "--top-k", 2) == 0
    line = capsys.readouterr().out.strip()
    top = line.split()[1]
    assert top == str(y_test[index])  # class_names.json names the digits "0".."9"
    assert line.count("(") == 2  # two guesses with their probabilities


def test_predict_a_folder_prints_one_line_per_image(digits_run, tmp_path, capsys):
    (_, _), (x_test, _) = lp.datasets.digits.load_data()
    for i in range(3):
        write_png(tmp_path / "images" / f"{i}.png", (x_test[i] * 255 // 16).astype(np.uint8))
    (tmp_path / "images" / "notes.txt").write_text("not an image")
    assert run("predict", digits_run / "best.lpn", tmp_path / "images") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert all(line.count("(") == 3 for line in lines)


def test_train_on_an_image_folder(tmp_path, capsys):
    (x, y), _ = lp.datasets.digits.load_data()
    for name, digit in (("one", 1), ("zero", 0)):
        for i in np.flatnonzero(y == digit)[:20]:
            write_png(tmp_path / "images" / name / f"{i}.png", (x[i] * 255 // 16).astype(np.uint8))
    model = mlp_file(tmp_path / "mlp.lpn", (8, 8, 1), 2)
    out = tmp_path / "run"
    args = ("--dataset", tmp_path / "images", "--epochs", 2, "--out", out)
    assert run("train", "--model", model, *args) == 0
    assert json.loads((out / "class_names.json").read_text()) == ["one", "zero"]
    assert json.loads((out / "results.json").read_text())["test_images"] == 8  # 20% of 40


def test_summary_of_a_model_file(digits_run, capsys):
    assert run("summary", digits_run / "best.lpn", "--batch-size", 64) == 0
    out = capsys.readouterr().out
    assert "Total params: 2,410" in out
    assert "MACs per sample" in out
    assert "training memory at batch 64" in out


def test_summary_of_zoo_models(capsys):
    assert run("summary", "lenet5") == 0
    assert "Total params: 61,706" in capsys.readouterr().out
    assert run("summary", "resnet18", "--input-shape", "32,32,3", "--classes", 10) == 0
    out = capsys.readouterr().out
    assert "Total params: 11,183,562" in out  # torchvision's 11,173,962 + BN statistics
    assert "(None, 32, 32, 64)" in out  # the CIFAR stem keeps 32x32
    assert run("summary", "resnet18", "--input-shape", "32,32") == 2  # no channel count
    assert "cannot build resnet18" in capsys.readouterr().err


def test_train_a_zoo_model(tmp_path, capsys):
    out = tmp_path / "run"
    args = ("--dataset", "mnist_sample", "--limit", 200, "--epochs", 1, "--out", out)
    assert run("train", "--model", "lenet5", *args) == 0
    assert "lenet5: 61,706 parameters" in capsys.readouterr().out
    assert lp.models.load_model(out / "best.lpn").name == "lenet5"


def test_export_to_onnx_matches_predictions(digits_run, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    target = tmp_path / "digits.onnx"
    assert run("export", digits_run / "best.lpn", "--onnx", target) == 0
    assert f"wrote {target}" in capsys.readouterr().out
    (_, _), (x_test, _) = lp.datasets.digits.load_data()
    x = x_test[:16].astype(np.float32) / np.float32(16)
    session = ort.InferenceSession(str(target))
    (onnx_scores,) = session.run(None, {session.get_inputs()[0].name: x})
    expected = lp.models.load_model(digits_run / "best.lpn").predict(x, verbose=0)
    np.testing.assert_allclose(onnx_scores, expected, rtol=1e-4, atol=1e-5)
    assert run("export", digits_run / "best.lpn", "--onnx", target, "--opset", 5) == 2
    assert "--opset must be from 13" in capsys.readouterr().err


def test_datasets_says_where_files_go(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAPENNA_DATA", str(tmp_path))
    assert run("datasets") == 0
    out = capsys.readouterr().out
    assert "mnist_sample" in out and "available" in out
    assert f"mnist: put these files in {tmp_path / 'mnist'}" in out
    for remote in mnist.FILES:
        assert remote.name in out and remote.sha256 in out
    (tmp_path / "mnist").mkdir()
    for remote in mnist.FILES:
        (tmp_path / "mnist" / remote.name.removesuffix(".gz")).write_bytes(b"")
    assert run("datasets") == 0
    out = capsys.readouterr().out
    assert "\nmnist: put these files" not in out
    assert "fashion_mnist: put these files" in out


def test_bench_prints_the_table(capsys):
    assert run("bench", "--seconds", 0.01, "--only", "mlp", "--lapenna-only") == 0
    out = capsys.readouterr().out
    assert "numpy sgemm:" in out
    row = [line for line in out.splitlines() if line.startswith("mlp ")]
    assert len(row) == 1 and float(row[0].split()[1]) > 0


def test_bench_kernels_against_torch(capsys):
    pytest.importorskip("torch")
    assert run("bench", "--kernels", "--only", "lenet conv1", "--repeat", 1) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("lenet")]
    assert len(rows) == 1 and float(rows[0].split()[-1]) > 0  # the ratio to PyTorch


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("summary", "no_such_net"), 2, "unknown model 'no_such_net'"),
        (("evaluate", "missing.lpn", "--dataset", "digits"), 1, "missing.lpn does not exist"),
        (("train", "--model", "lenet5", "--dataset", "nope"), 2, "unknown dataset 'nope'"),
        (("train", "--model", "lenet5", "--dataset", "digits", "--epochs", "0"), 2, "--epochs"),
        (("train", "--dataset", "digits"), 2, "train needs --model"),
        (("train", "--resume"), 2, "--resume needs --out"),
        (("predict", "x.lpn"), 2, "IMAGE_OR_FOLDER"),
        (("bench", "--only", "nope"), 2, "unknown workload"),
        (("frobnicate",), 2, "invalid choice"),
        ((), 2, "COMMAND"),
    ],
)
def test_errors_are_one_line_with_exit_codes(args, code, fragment, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # nothing is written where the suite runs
    assert run(*args) == code
    err = capsys.readouterr().err
    assert fragment in err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("lapenna: error: ")


def test_missing_dataset_files_are_named(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAPENNA_DATA", str(tmp_path / "data"))
    model = mlp_file(tmp_path / "mlp.lpn", (28, 28, 1), 10)
    assert run("train", "--model", model, "--dataset", "mnist", "--out", tmp_path / "run") == 1
    err = capsys.readouterr().err
    assert f"files missing from {tmp_path / 'data' / 'mnist'}" in err
    assert "train-images-idx3-ubyte.gz" in err and "--download" in err
    assert not (tmp_path / "run").exists()


def test_bad_model_file_and_debug_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.lpn"
    bad.write_bytes(b"not a zip")
    assert run("summary", bad) == 1
    err = capsys.readouterr().err
    assert "not a readable lapenna model file" in err and "Traceback" not in err
    assert run("summary", bad, "--debug") == 1
    assert "Traceback" in capsys.readouterr().err


def test_model_and_data_that_do_not_fit(digits_run, tmp_path, capsys):
    assert run("evaluate", digits_run / "best.lpn", "--dataset", "shapes", "--limit", 10) == 1
    assert "takes images of shape (8, 8, 1)" in capsys.readouterr().err
    wrong = mlp_file(tmp_path / "three.lpn", (8, 8, 1), 3)
    assert run("train", "--model", wrong, "--dataset", "digits", "--out", tmp_path / "r") == 1
    assert "scores 3 classes, but digits has 10" in capsys.readouterr().err


def test_an_existing_run_needs_resume(digits_run, tmp_path, capsys):
    args = ("--model", digits_run / "best.lpn", "--dataset", "digits", "--out", digits_run)
    assert run("train", *args) == 1
    assert "pass --resume to continue it, or choose another --out" in capsys.readouterr().err
    assert run("train", "--out", digits_run, "--resume") == 1
    assert "has finished already" in capsys.readouterr().err
    assert run("train", "--out", tmp_path / "empty", "--resume") == 1
    assert "nothing to resume" in capsys.readouterr().err
    started = tmp_path / "started"
    started.mkdir()
    (started / "run.json").write_text((digits_run / "run.json").read_text())
    assert run("train", "--out", started, "--resume", "--batch-size", 7) == 2
    assert "only --epochs may change" in capsys.readouterr().err


def _wait_for(path, process, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, "training ended before the first backup"
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.005)


def test_resume_after_sigkill(tmp_path, capsys):
    model = mlp_file(tmp_path / "mlp.lpn", (8, 8, 1), 10, hidden=256)
    out = tmp_path / "run"
    args = ["--model", model, "--dataset", "digits", "--limit", 300, "--epochs", 3]
    args += ["--batch-size", 2, "--backup-every", 1, "--out", out]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "lapenna", "train", *map(str, args)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(out / "backup" / "backup.lpn", process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (out / "results.json").exists()
    assert run("train", "--out", out) == 1  # a backup without --resume is refused
    assert "pass --resume" in capsys.readouterr().err
    assert run("train", "--out", out, "--resume") == 0
    text = capsys.readouterr().out
    assert "resuming the interrupted run" in text
    assert text.strip().splitlines()[-2].startswith("test accuracy: ")
    with open(out / "history.csv") as stream:
        assert [int(row["epoch"]) for row in csv.DictReader(stream)] == [0, 1, 2]
    assert not (out / "backup").exists()
    assert (out / "confusion_matrix.png").exists() and (out / "best.lpn").exists()

"""CSVLogger files parsed with csv; TensorBoard files read back with TensorBoard's own reader."""

import csv

import numpy as np
import pytest

from callback_driver import FakeModel, drive_fit, evaluate
from lapenna.callbacks import CSVLogger, EventFileWriter, LambdaCallback, TensorBoard

COLUMNS = ["epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]


def read_csv(path, separator=","):
    with open(path, newline="") as file:
        return list(csv.DictReader(file, delimiter=separator))


def test_csv_rows_match_the_history(tmp_path):
    path = tmp_path / "log.csv"
    history = drive_fit(FakeModel(), [CSVLogger(path)], epochs=3)
    rows = read_csv(path)
    assert list(rows[0]) == COLUMNS
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]
    for name in COLUMNS[1:]:
        assert [float(row[name]) for row in rows] == history.history[name]


def test_csv_append_separator_and_missing_values(tmp_path):
    path = tmp_path / "log.csv"
    drive_fit(FakeModel(), [CSVLogger(path, separator=";")], epochs=2)
    history = drive_fit(
        FakeModel(),
        [CSVLogger(path, separator=";", append=True)],
        epochs=3,
        val_loss=lambda epoch: None if epoch == 1 else 0.5,
    )
    with open(path) as file:
        lines = file.read().splitlines()
    assert sum(line.startswith("epoch;") for line in lines) == 1
    rows = read_csv(path, ";")
    assert [row["epoch"] for row in rows] == ["0", "1", "0", "1", "2"]
    assert rows[3]["val_loss"] == "NA" and rows[3]["val_accuracy"] == "NA"
    assert float(rows[4]["loss"]) == history.history["loss"][-1]
    drive_fit(FakeModel(), [CSVLogger(path, separator=";")], epochs=1)
    assert len(read_csv(path, ";")) == 1  # without append the file starts again


def test_csv_append_to_a_new_file_writes_the_header(tmp_path):
    path = tmp_path / "new.csv"
    drive_fit(FakeModel(), [CSVLogger(path, append=True)], epochs=2)
    assert [row["epoch"] for row in read_csv(path)] == ["0", "1"]
    with pytest.raises(ValueError, match="one-character separator"):
        CSVLogger(path, separator=", ")


def test_csv_append_warns_about_columns_the_file_lacks(tmp_path):
    path = tmp_path / "log.csv"
    drive_fit(FakeModel(), [CSVLogger(path)], epochs=1, val_loss=None)
    with pytest.warns(UserWarning, match=r"\['val_accuracy', 'val_loss'\] are not columns"):
        drive_fit(FakeModel(), [CSVLogger(path, append=True)], epochs=2)
    rows = read_csv(path)
    assert len(rows) == 3 and list(rows[2]) == ["epoch", "accuracy", "learning_rate", "loss"]


def accumulate(folder):
    from tensorboard.backend.event_processing import event_accumulator as ea

    accumulator = ea.EventAccumulator(
        str(folder), size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.GRAPH: 0}
    )
    return accumulator.Reload()


def scalars(accumulator, tag):
    events = accumulator.Scalars(tag)
    return [e.step for e in events], [e.value for e in events]


def test_tensorboard_epoch_scalars_histograms_and_graph(tmp_path):
    pytest.importorskip("tensorboard")
    model = FakeModel()
    kernels = []
    keep = LambdaCallback(
        on_epoch_end=lambda e, logs: kernels.append(model.get_weights()[0].copy())
    )
    board = TensorBoard(tmp_path / "logs", histogram_freq=1, write_graph=True)
    history = drive_fit(model, [keep, board], epochs=3, steps=4)

    train = accumulate(tmp_path / "logs" / "train")
    assert set(train.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}
    for name in ("loss", "accuracy", "learning_rate"):
        steps, values = scalars(train, f"epoch_{name}")
        assert steps == [0, 1, 2]
        assert values == pytest.approx(history.history[name], rel=1e-6)
    assert set(train.Tags()["histograms"]) == {"dense/kernel", "dense/bias"}
    histograms = train.Histograms("dense/kernel")
    assert [h.step for h in histograms] == [0, 1, 2]
    for event, kernel in zip(histograms, kernels, strict=True):
        value = event.histogram_value
        assert value.num == kernel.size and sum(value.bucket) == kernel.size
        assert value.min == pytest.approx(kernel.min()) and value.max == pytest.approx(kernel.max())
        assert value.sum == pytest.approx(float(kernel.sum()), rel=1e-5)
    graph = train.Graph()
    assert [node.name for node in graph.node] == [
        "input",
        "dense/kernel",
        "dense/bias",
        "dense/FakeLayer",
    ]
    assert list(graph.node[-1].input) == ["input", "dense/kernel", "dense/bias"]

    validation = accumulate(tmp_path / "logs" / "validation")
    assert set(validation.Tags()["scalars"]) == {
        "epoch_loss",
        "epoch_accuracy",
        "evaluation_loss_vs_iterations",
        "evaluation_accuracy_vs_iterations",
    }
    assert scalars(validation, "epoch_loss")[1] == pytest.approx(history.history["val_loss"])
    assert scalars(validation, "evaluation_loss_vs_iterations")[0] == [4, 8, 12]
    assert validation.Tags()["histograms"] == []


def test_tensorboard_batch_frequency_and_no_histograms(tmp_path):
    pytest.importorskip("tensorboard")
    board = TensorBoard(tmp_path, update_freq=3)
    drive_fit(FakeModel(), [board], epochs=2, steps=4, loss=lambda e, b: 1.0 + e + b)
    train = accumulate(tmp_path / "train")
    assert train.Tags()["histograms"] == [] and not train.Tags()["graph"]
    steps, values = scalars(train, "batch_loss")
    # global batches 3 and 6: the running means of epoch 0 (batches 0-2) and epoch 1 (0-1)
    assert steps == [3, 6]
    assert values == pytest.approx([2.0, 2.5])
    assert "batch_accuracy" in train.Tags()["scalars"]
    assert "epoch_loss" in train.Tags()["scalars"]


def test_tensorboard_for_evaluate_alone(tmp_path):
    pytest.importorskip("tensorboard")
    model = FakeModel()
    model.optimizer.iterations = 17
    board = TensorBoard(tmp_path)
    evaluate(model, [board])
    assert board._writers == {}  # closed after a standalone evaluation
    validation = accumulate(tmp_path / "validation")
    assert scalars(validation, "evaluation_loss_vs_iterations") == ([17], [0.25])
    assert not (tmp_path / "train").exists()


def test_event_writer_skips_non_finite_values_in_histograms(tmp_path):
    pytest.importorskip("tensorboard")
    writer = EventFileWriter(tmp_path)
    writer.histograms(5, {"w": np.array([1.0, np.nan, 3.0, np.inf]), "all_nan": np.full(3, np.nan)})
    writer.close()
    accumulator = accumulate(tmp_path)
    assert accumulator.Tags()["histograms"] == ["w"]
    assert accumulator.Histograms("w")[0].histogram_value.num == 2


def test_tensorboard_arguments():
    for bad in ("step", 0, -2, 1.5, True):
        with pytest.raises(ValueError, match="update_freq 'epoch', 'batch' or a number"):
            TensorBoard(update_freq=bad)
    with pytest.raises(ValueError, match="histogram_freq >= 0"):
        TensorBoard(histogram_freq=-1)
    assert TensorBoard(update_freq="batch").update_freq == 1

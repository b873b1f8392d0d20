"""Progress output of a 3-epoch run with verbose 1, 2 and 0, piped to a file, and on a terminal."""

import contextlib
import io
import re

import pytest

from callback_driver import FakeModel, drive_fit, evaluate, predict
from lapenna.callbacks import Progbar, ProgbarLogger, TerminateOnNaN

TIME = r"\d+(:\d\d)*s? \d+(s|ms|us)/step"
TRAIN = r" - loss: \d\.\d{4} - accuracy: \d\.\d{4}"
EPOCH_END = TRAIN + r" - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4} - learning_rate: 0\.1000"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def fit_to_file(tmp_path, verbose, **kwargs):
    """Run the loop with stdout redirected to a real file, as ``python train.py > log``."""
    path = tmp_path / f"out_{verbose}.txt"
    with open(path, "w") as file, contextlib.redirect_stdout(file):
        drive_fit(FakeModel(), epochs=3, steps=4, verbose=verbose, **kwargs)
    return path.read_text()


def test_verbose_1_piped_prints_each_finished_bar_once(tmp_path):
    text = fit_to_file(tmp_path, 1)
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    bar = rf"4/4 \[={{30}}\] - {TIME}{EPOCH_END}"
    for line in lines[1::2]:
        assert re.fullmatch(bar, line), line
    assert "loss: 0.8779" in lines[1]  # the mean of 1, 1/1.1, 1/1.2, 1/1.3
    assert len(lines) == 6  # the validation pass inside fit prints no bar of its own


def test_verbose_2_prints_one_line_per_epoch(tmp_path):
    lines = fit_to_file(tmp_path, 2).splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert re.fullmatch(rf"Epoch {epoch}/3 - 4/4 - {TIME}{EPOCH_END}", line), line


def test_verbose_0_and_auto(tmp_path):
    assert fit_to_file(tmp_path, 0) == ""
    assert fit_to_file(tmp_path, "auto").count("\n") == 3  # not a terminal: one line each


def test_terminal_bar_is_redrawn_in_place(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = Terminal()
    with contextlib.redirect_stdout(out):
        drive_fit(FakeModel(), epochs=2, steps=4, verbose="auto")
    text = out.getvalue()
    assert text.count("\r") >= 4 and text.count("\n") == 4
    epoch_two = text.split("Epoch 2/2\n")[1]
    first, *_, last = epoch_two.split("\r")[1:]
    assert re.match(r"1/4 \[={6}>\.{23}\] - ETA: \d+s - loss: 0\.5000", first), first
    assert re.fullmatch(rf"4/4 \[={{30}}\] - {TIME}{EPOCH_END}\n", last), last


def test_progbar_states_and_erasing(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = Terminal()
    bar = Progbar(4, width=8, file=out, interval=0)
    for step, loss in zip(range(1, 5), (0.5, 0.25, 0.125, 0.0001), strict=True):
        bar.update(step, {"loss": loss, "acc": 1.0})
    frames = out.getvalue().split("\r")[1:]
    heads = [frame.split(" - ")[0] for frame in frames]
    assert heads == ["1/4 [=>......]", "2/4 [===>....]", "3/4 [=====>..]", "4/4 [========]"]
    assert "ETA: " in frames[0] and "ETA" not in frames[-1]
    assert frames[-1].rstrip().endswith("loss: 1.0000e-04 - acc: 1.0000")
    assert frames[-1].endswith("\n")
    bar.update(5)  # after the end nothing more is drawn
    assert out.getvalue().split("\r")[1:] == frames


def test_live_lines_fit_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    out = Terminal()
    bar = Progbar(10, file=out, interval=0)
    bar.update(3, {"loss": 0.5, "accuracy": 0.25, "mean_absolute_error": 0.125})
    assert out.getvalue() == "\r" + (" 3/10 [" + "=" * 8 + ">" + "." * 21 + "] - ")[:39]


def test_unknown_steps_are_learnt_after_the_first_epoch(tmp_path):
    lines = fit_to_file(tmp_path, 1, declared_steps=None).splitlines()
    assert re.fullmatch(rf"4/Unknown - {TIME}{EPOCH_END}", lines[1]), lines[1]
    assert lines[3].startswith("4/4 [=====")


def test_a_stop_mid_epoch_shows_the_partial_bar(tmp_path):
    nan_at_1 = lambda e, b: float("nan") if b == 1 else 1.0  # noqa: E731
    lines = fit_to_file(tmp_path, 1, callbacks=[TerminateOnNaN()], loss=nan_at_1).splitlines()
    assert lines[0] == "Epoch 1/3" and "the loss is nan" in lines[1]
    assert re.fullmatch(rf"2/4 \[={{14}}>\.{{15}}\] - {TIME} - loss: nan - .*", lines[2]), lines[2]
    assert len(lines) == 3


def test_evaluate_and_predict_bars(tmp_path):
    path = tmp_path / "eval.txt"
    with open(path, "w") as file, contextlib.redirect_stdout(file):
        evaluate(FakeModel(), steps=2, verbose=1)
        predict(FakeModel(), steps=3, verbose=1)
        evaluate(FakeModel(), steps=2, verbose=2)
        predict(FakeModel(), steps=3, verbose=0)
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    assert re.fullmatch(rf"2/2 \[={{30}}\] - {TIME} - loss: 0\.2500 - accuracy: 0\.8750", lines[0])
    assert re.fullmatch(rf"3/3 \[={{30}}\] - {TIME}", lines[1])
    assert re.fullmatch(rf"2/2 - {TIME} - loss: 0\.2500 - accuracy: 0\.8750", lines[2])


def test_logger_with_its_own_stream():
    out = io.StringIO()
    drive_fit(FakeModel(), [ProgbarLogger(file=out)], epochs=1, steps=2, verbose=2)
    assert out.getvalue().startswith("Epoch 1/1 - 2/2 - ")
    with pytest.raises(ValueError, match="step count >= 0 or None"):
        Progbar(-1)

"""``lapenna tune``: a small real search from a TOML file, and its usage errors."""

import json

import pytest

from lapenna.cli.main import main

SPACE = """
model = "mlp"
dataset = "digits"
scheduler = "hyperband"
max_epochs = 3
executor = "inline"

[space.learning_rate]
type = "float"
min = 1e-3
max = 1e-1
sampling = "log"

[space.width]
type = "int"
min = 8
max = 32

[space.batch_size]
type = "choice"
values = [32, 64]
"""


def test_tune_runs_a_study_and_resumes_it(tmp_path, capsys):
    pytest.importorskip("sklearn")
    (tmp_path / "space.toml").write_text(SPACE)
    out = tmp_path / "study"
    assert main(["tune", str(tmp_path / "space.toml"), "--out", str(out), "--limit", "300"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("\ntrial ") + printed.startswith("trial ") >= 5  # one line per run
    assert "test accuracy of the best trial" in printed
    trials = json.loads((out / "trials.json").read_text())["trials"]
    assert len(trials) == 3 + 2 and sum(t["status"] == "complete" for t in trials) == 3
    for name in ("study.db", "trials.csv", "curves.png", "parallel.png", "hparams"):
        assert (out / name).exists()
    # run again: the finished study resumes from the database and trains nothing
    assert main(["tune", str(tmp_path / "space.toml"), "--out", str(out), "--limit", "300"]) == 0
    again = capsys.readouterr().out
    assert "\ntrial " not in again and "5 trials, 11 epochs trained" in again


@pytest.mark.parametrize(
    "text, message",
    [
        ("model = 'mlp'\n", "has no [space] table"),
        ("[space.lr]\ntype = 'real'\n", "space.lr needs type"),
        ("[space.lr]\ntype = 'float'\nmin = 1\n", "needs 'max'"),
        ("[space.lr]\ntype = 'float'\nmin = 2.0\nmax = 1.0\n", "above max_value"),
        ("[space.lr]\ntype = 'choice'\nvalues = []\n", "non-empty list"),
        ("[space.lr]\ntype = 'fixed'\nvalue = 1\ncolour = 2\n", "unknown keys ['colour']"),
        ("scheduler = 'bayes'\n[space.lr]\ntype = 'fixed'\nvalue = 1\n", "scheduler must be"),
        ("epochs = 3\n[space.lr]\ntype = 'fixed'\nvalue = 1\n", "unknown settings ['epochs']"),
        ("[space\n", "not valid TOML"),
    ],
)
def test_bad_search_space_files_are_usage_errors(tmp_path, capsys, text, message):
    (tmp_path / "s.toml").write_text(text)
    assert main(["tune", str(tmp_path / "s.toml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "study.db").exists()


def test_a_missing_space_file_is_a_failure(tmp_path, capsys):
    assert main(["tune", str(tmp_path / "none.toml")]) == 1
    assert "does not exist" in capsys.readouterr().err

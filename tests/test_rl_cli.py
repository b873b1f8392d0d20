"""``lapenna rl``: the run folder, an interrupted run resumed exactly, and usage errors."""

import json

import numpy as np
import pytest

pytest.importorskip("gymnasium")

import lapenna as lp  # noqa: E402
from lapenna.cli import main  # noqa: E402
from lapenna.io import load_state  # noqa: E402


def run(*args):
    return main([str(a) for a in args])


def test_rl_writes_the_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    args = ("--agent", "reinforce", "--env", "CartPole-v1", "--episodes", 12, "--seed", 3)
    assert run("rl", *args, "--eval-every", 200, "--eval-episodes", 3, "--out", out) == 0
    files = {p.name for p in out.iterdir()}
    assert {"run.json", "episodes.csv", "checkpoint.safetensors", "agent.safetensors"} <= files
    assert {"best.safetensors", "results.json"} <= files
    results = json.loads((out / "results.json").read_text())
    assert results["training_episodes"] == 12 and results["evaluated"] == "best"
    assert len((out / "episodes.csv").read_text().splitlines()) == 13
    assert "mean return" in capsys.readouterr().out


def test_an_interrupted_run_resumes_exactly(tmp_path, monkeypatch, capsys):
    args = ("rl", "--agent", "qlearning", "--env", "FrozenLake-v1", "--episodes", 300, "--quiet")
    assert run(*args, "--out", tmp_path / "whole") == 0
    original = lp.rl.callbacks.CSVLogger.on_episode_end

    def interrupt(self, agent, record):
        original(self, agent, record)
        if record["episode"] == 155:
            raise KeyboardInterrupt

    monkeypatch.setattr(lp.rl.callbacks.CSVLogger, "on_episode_end", interrupt)
    assert run(*args, "--out", tmp_path / "cut") == 130
    monkeypatch.setattr(lp.rl.callbacks.CSVLogger, "on_episode_end", original)
    assert run(*args, "--out", tmp_path / "cut", "--resume") == 0
    assert "resuming qlearning at episode 150" in capsys.readouterr().out
    for name in ("episodes.csv",):
        assert (tmp_path / "cut" / name).read_text() == (tmp_path / "whole" / name).read_text()
    whole, _ = load_state(tmp_path / "whole" / "agent.safetensors")
    cut, _ = load_state(tmp_path / "cut" / "agent.safetensors")
    np.testing.assert_array_equal(whole["q_table"], cut["q_table"])


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("--agent", "dqn", "--env", "FrozenLake-v1", "--timesteps", 10), 2, "Box observation"),
        (("--agent", "dqn", "--env", "Pendulum-v1", "--timesteps", 10), 2, "Discrete action"),
        (("--agent", "sarsa", "--env", "FrozenLake-v1"), 2, "--timesteps or --episodes"),
        (("--agent", "sarsa", "--env", "FrozenLake-v1", "--resume"), 1, "no run to resume"),
    ],
)
def test_errors_name_what_to_change(args, code, fragment, tmp_path, capsys):
    assert run("rl", *args, "--out", tmp_path / "r") == code
    err = capsys.readouterr().err
    assert err.startswith("lapenna: error:") and fragment in err

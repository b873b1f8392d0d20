"""Hooks of ``agent.learn``: episode logs (console, CSV, TensorBoard), checkpoints, and
periodic evaluation that keeps the best weights.

A callback is any object with some of ``on_learn_begin(agent)``, ``on_step(agent)``
(after every environment step), ``on_episode_end(agent, record)`` (``record`` holds
``episode``, ``return``, ``length``, ``timesteps``) and ``on_learn_end(agent)``. Setting
``agent.stop_training = True`` ends ``learn``.
"""

import csv
import os
import sys

from lapenna.callbacks.tensorboard import EventFileWriter
from lapenna.rl._gym import make_env
from lapenna.rl.evaluation import evaluate

FIELDS = ("episode", "return", "length", "timesteps")


class ProgressLogger:
    """Print one line every ``every`` episodes: episode, steps, last return and the mean
    of the last ``window`` returns.

    Args:
        every: episodes between lines (an int > 0).
        window: episodes in the running mean.
        stream: where to write (default stdout).
    """

    def __init__(self, every=10, window=100, stream=None):
        if not isinstance(every, int) or every <= 0:
            raise ValueError(f"ProgressLogger: every must be an int > 0, got {every!r}")
        self.every, self.window, self.stream = every, window, stream

    def on_episode_end(self, agent, record):
        if record["episode"] % self.every:
            return
        recent = agent.history["episode_return"][-self.window :]
        print(
            f"episode {record['episode']:>6}  steps {record['timesteps']:>8}  "
            f"return {record['return']:>9.2f}  mean({len(recent)}) "
            f"{sum(recent) / len(recent):>9.2f}",
            file=self.stream or sys.stdout,
            flush=True,
        )


class CSVLogger:
    """Append one row per episode (episode, return, length, timesteps) to ``path``.

    Args:
        path: the CSV file; a header is written when it is new or empty.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._file = self._writer = None

    def on_learn_begin(self, agent):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        fresh = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        self._file = open(self.path, "a", newline="")  # noqa: SIM115 (open for the whole run)
        self._writer = csv.writer(self._file)
        if fresh:
            self._writer.writerow(FIELDS)

    def on_episode_end(self, agent, record):
        self._writer.writerow([record[k] for k in FIELDS])
        self._file.flush()

    def on_learn_end(self, agent):
        if self._file is not None:
            self._file.close()
            self._file = None


class TensorBoard:
    """Write ``episode/return`` and ``episode/length`` (x axis: environment steps) to a
    TensorBoard event file in ``log_dir`` (needs ``pip install 'lapenna[tensorboard]'``)."""

    def __init__(self, log_dir):
        self.log_dir = os.fspath(log_dir)
        self._writer = None

    def on_learn_begin(self, agent):
        self._writer = EventFileWriter(self.log_dir)

    def on_episode_end(self, agent, record):
        values = {"episode/return": record["return"], "episode/length": record["length"]}
        self._writer.scalars(record["timesteps"], values)

    def on_learn_end(self, agent):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class Checkpoint:
    """Save the agent to ``path`` every ``every`` episodes, at the episode's end (so that
    ``load`` + ``learn(..., resume=True)`` continues exactly), and when ``learn`` ends.

    Args:
        path: the checkpoint file (rewritten atomically each time).
        every: episodes between saves.
    """

    def __init__(self, path, every=10):
        if not isinstance(every, int) or every <= 0:
            raise ValueError(f"Checkpoint: every must be an int > 0, got {every!r}")
        self.path, self.every = os.fspath(path), every

    def on_episode_end(self, agent, record):
        if record["episode"] % self.every == 0:
            agent.save(self.path)

    def on_learn_end(self, agent):
        if agent._obs is None:
            agent.save(self.path)


class EvalCallback:
    """Evaluate every ``every`` environment steps on a separate environment and save the
    agent whenever the mean return is the best so far (learning curves of DQN oscillate:
    the best checkpoint, not the last, is the one to keep).

    Args:
        env: the evaluation environment (or its id), seeded with ``seed`` once.
        every: environment steps between evaluations.
        n_episodes: episodes per evaluation.
        best_path: where the best agent is saved (None: not saved, only tracked).
        seed: the evaluation environment's seed.

    Attributes:
        best_mean: the best mean return seen; ``results``: ``(timesteps, mean, std)`` rows.
    """

    def __init__(self, env, every=5000, n_episodes=10, best_path=None, seed=0):
        if not isinstance(every, int) or every <= 0:
            raise ValueError(f"EvalCallback: every must be an int > 0, got {every!r}")
        self.env, self.every, self.n_episodes = make_env(env), every, n_episodes
        self.best_path, self.seed = best_path and os.fspath(best_path), seed
        self.best_mean, self.results = float("-inf"), []

    def on_learn_begin(self, agent):
        self._next = (agent.num_timesteps // self.every + 1) * self.every

    def on_step(self, agent):
        if agent.num_timesteps < self._next:
            return  # A2C's steps come n_envs * n_steps at a time, so not "% every == 0"
        self._next = (agent.num_timesteps // self.every + 1) * self.every
        mean, std = evaluate(agent, self.env, self.n_episodes, seed=self._next_seed())
        self.results.append((agent.num_timesteps, mean, std))
        if mean > self.best_mean:
            self.best_mean = mean
            if self.best_path:
                agent.save(self.best_path)

    def _next_seed(self):
        seed, self.seed = self.seed, None  # reset with the seed once, then continue
        return seed

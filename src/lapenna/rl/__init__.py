"""Reinforcement learning on Gymnasium environments, with lapenna networks.

Agents share one API: ``agent.learn(total_timesteps=... or episodes=..., callbacks=...)``,
``agent.predict(obs, deterministic=True)``, ``agent.save(path)``/``agent.load(path)``,
and :func:`evaluate` returns the mean and standard deviation of the return.

- :class:`QLearning`, :class:`SARSA`: the Q-table (Discrete states and actions).
- :class:`DQN`, :class:`DoubleDQN`: a network approximates Q (replay buffer, target
  network, epsilon schedule).
- :class:`REINFORCE` (with a baseline), :class:`A2C` (advantage actor-critic on
  vectorised environments).
- :func:`value_iteration`, :func:`policy_return`: the exact yardsticks on toy-text tasks.
- :func:`atari_preprocessing`: grayscale, resize and frame stack, written with lapenna's ops.
Gymnasium is imported only when an environment is made: ``pip install 'lapenna[rl]'``.
"""

from lapenna.rl import callbacks
from lapenna.rl.base import Agent
from lapenna.rl.dqn import DQN, DoubleDQN
from lapenna.rl.evaluation import evaluate
from lapenna.rl.planning import policy_return, value_iteration
from lapenna.rl.plotting import learning_curve
from lapenna.rl.policy_gradient import A2C, REINFORCE
from lapenna.rl.presets import AGENTS, hyperparameters
from lapenna.rl.replay import ReplayBuffer
from lapenna.rl.schedules import LinearSchedule
from lapenna.rl.tabular import SARSA, QLearning
from lapenna.rl.wrappers import atari_preprocessing, preprocess_frame

__all__ = [
    "Agent",
    "QLearning",
    "SARSA",
    "DQN",
    "DoubleDQN",
    "REINFORCE",
    "A2C",
    "ReplayBuffer",
    "LinearSchedule",
    "evaluate",
    "callbacks",
    "atari_preprocessing",
    "preprocess_frame",
    "learning_curve",
    "value_iteration",
    "policy_return",
    "AGENTS",
    "hyperparameters",
]

"""Hyperparameters that solve the classic tasks, per agent and environment.

The DQN settings for CartPole-v1 are the RL Baselines3 Zoo's (``hyperparams/dqn.yml``), so
that lapenna and Stable-Baselines3 can be compared on equal terms; the REINFORCE ones are
PyTorch's reference example (``examples/reinforcement_learning/reinforce.py``: 128 hidden
units, dropout 0.6, Adam at 1e-2, normalised returns); the tabular ones were tuned here.
"""

from lapenna.rl.dqn import DQN, DoubleDQN
from lapenna.rl.policy_gradient import A2C, REINFORCE
from lapenna.rl.tabular import SARSA, QLearning

AGENTS = {
    "qlearning": QLearning,
    "sarsa": SARSA,
    "dqn": DQN,
    "double_dqn": DoubleDQN,
    "reinforce": REINFORCE,
    "a2c": A2C,
}

_CARTPOLE_DQN = {
    "hidden": (256, 256),
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration": (1.0, 0.04, 0.16),
}
_TABULAR = {
    "FrozenLake-v1": {"learning_rate": 0.05, "gamma": 0.99, "exploration": (1.0, 0.01, 0.7)},
    "Taxi-v4": {"learning_rate": 0.5, "gamma": 0.99, "exploration": (1.0, 0.01, 0.5)},
}
PRESETS = {
    ("dqn", "CartPole-v1"): _CARTPOLE_DQN,
    ("double_dqn", "CartPole-v1"): _CARTPOLE_DQN,
    ("reinforce", "CartPole-v1"): {
        "hidden": (128,),
        "dropout": 0.6,
        "learning_rate": 1e-2,
        "gamma": 0.99,
    },
    ("a2c", "CartPole-v1"): {"n_envs": 8, "n_steps": 5},
    **{(agent, env): kw for agent in ("qlearning", "sarsa") for env, kw in _TABULAR.items()},
}


def hyperparameters(agent, env_id):
    """The preset keyword arguments for ``agent`` (a name of :data:`AGENTS`) on ``env_id``,
    or ``{}`` (the agent's defaults) when there is none."""
    if agent not in AGENTS:
        raise ValueError(f"unknown agent {agent!r}; choose from {', '.join(AGENTS)}")
    return dict(PRESETS.get((agent, env_id), {}))

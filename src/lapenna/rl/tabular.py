"""Tabular agents: the Q-table of the course, updated by Q-learning or by SARSA.

A table works when the states can be counted: FrozenLake's 16 cells, Taxi's 500
configurations. It fails on images (Breakout's ``256**(84*84*4)`` possible stacks of
frames): that is what DQN's network is for.
"""

from lapenna.backend import xp
from lapenna.rl import schedules
from lapenna.rl._gym import require_discrete
from lapenna.rl.base import Agent, check_arrays


class QLearning(Agent):
    """Tabular Q-learning with epsilon-greedy exploration (Watkins, 1989).

    After each step from state ``s`` with action ``a``, reward ``r`` and next state ``s'``::

        Q[s, a] <- Q[s, a] + learning_rate * (r + gamma * max_a' Q[s', a'] - Q[s, a])

    where the bracket is the temporal-difference error and ``max_a' Q[s', a']`` counts as
    0 when ``s'`` ends the episode (a truncated episode still bootstraps).

    Args:
        env: an environment with Discrete observations and actions, or its id.
        learning_rate: the step towards the target, in (0, 1].
        gamma: the discount of future rewards, in [0, 1].
        exploration: epsilon over training (a number, ``(initial, final, fraction)`` or a
            :class:`~lapenna.rl.schedules.LinearSchedule`).
        seed: an int for a reproducible run.

    Example:
        >>> agent = QLearning("FrozenLake-v1", seed=0)  # doctest: +SKIP
        >>> agent.learn(episodes=2000).q_table.shape     # doctest: +SKIP
        (16, 4)
    """

    def __init__(self, env, learning_rate=0.1, gamma=0.99, exploration=(1.0, 0.05, 0.5), seed=None):
        name = type(self).__name__
        if not 0.0 < learning_rate <= 1.0:
            raise ValueError(f"{name}: learning_rate must be in (0, 1], got {learning_rate!r}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"{name}: gamma must be in [0, 1], got {gamma!r}")
        exploration = schedules.get(exploration)
        super().__init__(env, seed=seed)
        n_states = require_discrete(self.env.observation_space, name, "observation")
        self.n_actions = require_discrete(self.env.action_space, name, "action")
        self.learning_rate, self.gamma, self.exploration = learning_rate, gamma, exploration
        self.q_table = xp.zeros((n_states, self.n_actions), dtype=xp.float64)
        self.epsilon = exploration(0.0)

    def _epsilon_greedy(self, obs):
        self.epsilon = self.exploration(self._progress)
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_actions))
        row = self.q_table[obs]
        best = xp.flatnonzero(row == row.max())  # ties broken at random, not towards action 0
        return int(best[0] if len(best) == 1 else self.rng.choice(best))

    def _act(self, obs):
        return self._epsilon_greedy(obs)

    def _observe(self, obs, action, reward, next_obs, terminated, truncated):
        future = 0.0 if terminated else self.q_table[next_obs].max()
        self._update(obs, action, reward + self.gamma * future)

    def _update(self, obs, action, target):
        self.q_table[obs, action] += self.learning_rate * (target - self.q_table[obs, action])

    def predict(self, obs, deterministic=True):
        """The greedy action ``argmax_a Q[obs, a]`` (or epsilon-greedy when not deterministic)."""
        if not deterministic:
            return self._epsilon_greedy(obs)
        return int(xp.argmax(self.q_table[int(obs)]))

    def _get_state(self):
        return {"q_table": self.q_table}

    def _check_state(self, state):
        check_arrays(type(self).__name__, self._get_state(), state)

    def _set_state(self, state):
        self.q_table[...] = state["q_table"]


class SARSA(QLearning):
    """Tabular SARSA: on-policy, the target uses the action the policy takes next (Rummery &
    Niranjan, 1994)::

        Q[s, a] <- Q[s, a] + learning_rate * (r + gamma * Q[s', a'] - Q[s, a])

    with ``a'`` drawn epsilon-greedily in ``s'`` and then really taken. Arguments as
    :class:`QLearning`.
    """

    def _begin_episode(self):
        self._next_action = None

    def _act(self, obs):
        action = self._next_action
        return self._epsilon_greedy(obs) if action is None else action

    def _observe(self, obs, action, reward, next_obs, terminated, truncated):
        self._next_action = None if (terminated or truncated) else self._epsilon_greedy(next_obs)
        if terminated:
            future = 0.0
        elif truncated:  # no next action is taken: bootstrap from the greedy value
            future = self.q_table[next_obs].max()
        else:
            future = self.q_table[next_obs, self._next_action]
        self._update(obs, action, reward + self.gamma * future)

"""The agent base: one environment, the episode loop, seeding, history, save and load.

Every agent shares one small API: ``learn(total_timesteps=... or episodes=...,
callbacks=...)``, ``predict(obs, deterministic=True)``, ``save(path)``/``load(path)``.
A subclass writes what is particular to its algorithm: ``_act`` (the behaviour policy),
``_observe`` (what a transition teaches), ``_end_episode`` and ``predict``.

Reproducibility: the agent owns one generator seeded with ``seed`` (exploration, replay
sampling, sampled actions) and resets its environment with the same seed once; the same
seed gives the same returns, bit for bit, on the same machine.
"""

import json

from lapenna import io
from lapenna.backend import get_rng_state, host_np, make_generator, set_rng_state
from lapenna.rl._gym import env_name, make_env

FORMAT = "lapenna.rl.agent/1"


class Agent:
    """Base of the agents: owns the environment, the generator, counters and history.

    Args:
        env: a ``gymnasium.Env`` or an environment id such as ``"CartPole-v1"``.
        seed: an int for a reproducible run (the generator and the first ``env.reset``),
            or None for fresh randomness.
    """

    def __init__(self, env, seed=None):
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
            raise ValueError(f"{type(self).__name__}: seed must be an int >= 0, got {seed!r}")
        self.env = self._make_env(env)
        self.seed = seed
        self.rng = make_generator(seed)  # a numpy Generator on the host on every device
        self.num_timesteps = 0
        self.num_episodes = 0
        self.history = {"episode_return": [], "episode_length": [], "timesteps": []}
        self.stop_training = False
        self._obs = None
        self._env_seeded = False
        self._progress = 0.0
        self._plan = None

    def _make_env(self, env):
        return make_env(env)

    # -- the loop ---------------------------------------------------------------------
    def learn(self, total_timesteps=None, episodes=None, callbacks=None, resume=False):
        """Interact and learn for ``total_timesteps`` environment steps or ``episodes``.

        A second call continues where the first stopped (counters, the episode under way)
        with a new budget and its own schedule; ``resume=True`` instead finishes the budget
        of the run that a loaded checkpoint was part of (same arguments as that run), so
        exploration schedules continue exactly.

        Args:
            total_timesteps: environment steps to run (an int > 0), or
            episodes: whole episodes to run (an int > 0); give exactly one of the two.
            callbacks: objects with any of ``on_learn_begin(agent)``,
                ``on_step(agent)``, ``on_episode_end(agent, record)``,
                ``on_learn_end(agent)`` (see :mod:`lapenna.rl.callbacks`).
            resume: continue the plan stored by ``save`` (after ``load``).

        Returns:
            The agent.
        """
        budget, unit = _budget(type(self).__name__, total_timesteps, episodes)
        callbacks = list(callbacks or ())
        start = self.num_timesteps if unit == "timesteps" else self.num_episodes
        if resume:
            if self._plan is None or self._plan["unit"] != unit or self._plan["budget"] != budget:
                raise ValueError(
                    f"{type(self).__name__}.learn(resume=True) continues the stored run of "
                    f"{self._plan and self._plan['budget']} {self._plan and self._plan['unit']}; "
                    f"got {budget} {unit}"
                )
            start = self._plan["start"]
        self._plan = {"start": start, "budget": budget, "unit": unit}
        self.stop_training = False
        self._learn_begin(budget, unit)
        _call(callbacks, "on_learn_begin", self)
        on_step = [cb.on_step for cb in callbacks if hasattr(cb, "on_step")]
        while not self.stop_training:
            done = (self.num_timesteps if unit == "timesteps" else self.num_episodes) - start
            if done >= budget:
                break
            self._progress = done / budget
            records = self._step()
            for hook in on_step:
                hook(self)
            for record in records:
                _call(callbacks, "on_episode_end", self, record)
        _call(callbacks, "on_learn_end", self)
        return self

    def _step(self):
        """One environment step; returns the records of the episodes that ended (0 or 1)."""
        if self._obs is None:
            self._obs = self._reset()
            self._episode_return, self._episode_length = 0.0, 0
            self._begin_episode()
        obs = self._obs
        action = self._act(obs)
        next_obs, reward, terminated, truncated, _ = self.env.step(action)
        self.num_timesteps += 1
        self._episode_return += float(reward)
        self._episode_length += 1
        self._observe(obs, action, float(reward), next_obs, bool(terminated), bool(truncated))
        self._obs = next_obs
        if not (terminated or truncated):
            return ()
        self._obs = None
        self._end_episode()
        return (self._record_episode(self._episode_return, self._episode_length),)

    def _record_episode(self, episode_return, length):
        self.num_episodes += 1
        record = {
            "episode": self.num_episodes,
            "return": episode_return,
            "length": length,
            "timesteps": self.num_timesteps,
        }
        self.history["episode_return"].append(episode_return)
        self.history["episode_length"].append(length)
        self.history["timesteps"].append(self.num_timesteps)
        return record

    def _reset(self):
        if self._env_seeded:
            obs, _ = self.env.reset()
        else:
            obs, _ = self.env.reset(seed=self.seed)
            self._env_seeded = True
        return obs

    # -- what a subclass writes -------------------------------------------------------
    def _learn_begin(self, budget, unit):
        pass

    def _begin_episode(self):
        pass

    def _act(self, obs):
        raise NotImplementedError

    def _observe(self, obs, action, reward, next_obs, terminated, truncated):
        pass

    def _end_episode(self):
        pass

    def predict(self, obs, deterministic=True):
        """The action for ``obs``: the greedy one, or one drawn from the policy."""
        raise NotImplementedError

    def _get_state(self):
        """Nested dicts of arrays: the agent's learned state."""
        return {}

    def _set_state(self, state):
        """Restore ``_get_state``'s output (already checked by ``_check_state``)."""

    def _check_state(self, state):
        """Raise ValueError when ``state`` does not fit this agent; change nothing."""

    # -- files ------------------------------------------------------------------------
    def save(self, path):
        """Write the agent (its tables or networks, optimizer slots, replay buffer, counters,
        history, its generator, the environment's and lapenna's global one) to one
        safetensors file, atomically.

        Resuming is exact when the file was written between episodes (as
        :class:`~lapenna.rl.callbacks.Checkpoint` does): ``load`` then ``learn`` ends
        bit-identical to a run never interrupted. A file written mid-episode resumes with
        a new episode.
        """
        meta = {
            "format": FORMAT,
            "agent": type(self).__name__,
            "env": env_name(self.env),
            "counters": json.dumps(
                {"timesteps": self.num_timesteps, "episodes": self.num_episodes}
            ),
            "history": json.dumps(self.history),
            "rng": json.dumps(self.rng.bit_generator.state),
            "global_rng": json.dumps(get_rng_state()),
            "env_rng": json.dumps(self._env_rng_state()),
            "plan": json.dumps(self._plan),
        }
        io.save_state(self._get_state(), path, metadata=meta)

    def load(self, path):
        """Restore a file written by ``save`` into this agent (built with the same
        arguments); everything is checked before anything is assigned.

        Raises:
            lapenna.io.FormatError: for a file of another format, agent or shapes.
        """
        state, meta = io.load_state(path)
        if meta.get("format") != FORMAT or meta.get("agent") != type(self).__name__:
            raise io.FormatError(
                f"{path}: expected a {type(self).__name__} file ({FORMAT}), got "
                f"{meta.get('agent') or 'another kind of file'}"
            )
        try:
            self._check_state(state)
            counters = json.loads(meta["counters"])
            history, rng = json.loads(meta["history"]), json.loads(meta["rng"])
            env_rng, plan = json.loads(meta["env_rng"]), json.loads(meta["plan"])
            global_rng = json.loads(meta["global_rng"])
            generator = host_np.random.Generator(getattr(host_np.random, rng["bit_generator"])())
            generator.bit_generator.state = rng
        except (KeyError, ValueError, TypeError, AttributeError) as err:
            raise io.FormatError(f"{path}: does not fit this {type(self).__name__}: {err}") from err
        try:
            set_rng_state(global_rng)  # dropout masks come from the global generator
        except ValueError as err:
            raise io.FormatError(f"{path}: bad global generator state: {err}") from err
        self._set_state(state)
        self.num_timesteps, self.num_episodes = counters["timesteps"], counters["episodes"]
        self.history, self.rng, self._plan = history, generator, plan
        self._obs = None
        if env_rng is not None:
            self.env.unwrapped.np_random.bit_generator.state = env_rng
            self._env_seeded = True
        return self

    def _env_rng_state(self):
        if not self._env_seeded:
            return None
        return self.env.unwrapped.np_random.bit_generator.state


def _budget(owner, total_timesteps, episodes):
    if (total_timesteps is None) == (episodes is None):
        raise ValueError(f"{owner}.learn expects total_timesteps or episodes (one of the two)")
    value, unit = (
        (total_timesteps, "timesteps") if total_timesteps is not None else (episodes, "episodes")
    )
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner}.learn: {unit} must be an int > 0, got {value!r}")
    return value, unit


def _call(callbacks, hook, *args):
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(*args)


def check_arrays(owner, expected, given):
    """Compare two flat dicts name -> array for names and shapes; raise ValueError."""
    if set(expected) != set(given):
        raise ValueError(
            f"{owner}: state names differ: missing {sorted(set(expected) - set(given))}, "
            f"unexpected {sorted(set(given) - set(expected))}"
        )
    for name, array in expected.items():
        if tuple(given[name].shape) != tuple(array.shape):
            raise ValueError(
                f"{owner}: state {name!r} has shape {tuple(given[name].shape)}, "
                f"expected {tuple(array.shape)}"
            )

"""Policy gradients: run a policy, raise the probability of the actions that led to high return.

REINFORCE (Williams, "Simple statistical gradient-following algorithms for connectionist
reinforcement learning", Machine Learning 1992) follows, after each episode,

    grad J = sum_t grad log pi(a_t | s_t) * (G_t - b(s_t)),   G_t = sum_k gamma^k r_{t+k}

where the baseline ``b`` (the returns' mean, or a learned value network) lowers the
variance without changing the expectation. A2C (Mnih et al., "Asynchronous methods for
deep reinforcement learning", ICML 2016, in its synchronous form) replaces ``G_t`` by an
n-step return bootstrapped from a critic, runs several environments side by side, and adds
an entropy bonus that keeps the policy from collapsing too early.
"""

from lapenna import ops
from lapenna.autograd import GradientTape, grad, no_grad, tensor
from lapenna.backend import floatx, set_seed, xp
from lapenna.rl import networks
from lapenna.rl._gym import gymnasium, require_box, require_discrete
from lapenna.rl.base import Agent, check_arrays


def sample_categorical(logits, rng):
    """One action per row of ``logits`` (an array), drawn by inverting the cumulative
    softmax with one uniform number per row (no renormalisation error can fail it)."""
    shifted = xp.exp(logits - logits.max(axis=-1, keepdims=True))
    cumulative = xp.cumsum(shifted, axis=-1)
    u = rng.random(logits.shape[:-1])[..., None] * cumulative[..., -1:]
    return xp.minimum((cumulative <= u).sum(axis=-1), logits.shape[-1] - 1)


class _PolicyAgent(Agent):
    """What REINFORCE and A2C share: a categorical policy network, an optional value
    network, one optimizer over both, and their state."""

    def _build(self, policy, value, hidden, optimizer, learning_rate, max_grad_norm, seed):
        owner = type(self).__name__
        self.n_actions = require_discrete(self.single_action_space, owner, "action")
        obs_shape = require_box(self.single_observation_space, owner)
        if seed is not None:
            set_seed(seed)
        self.policy = networks.resolve(policy, owner, obs_shape, self.n_actions, hidden, "policy")
        self.value = (
            None
            if value is False
            else networks.resolve(value, owner, obs_shape, 1, hidden, "value")
        )
        self.optimizer = networks.get_optimizer(optimizer, learning_rate, max_grad_norm, owner)
        self.optimizer.build(self._weights())

    def _weights(self):
        weights = list(self.policy.trainable_weights)
        return weights + (list(self.value.trainable_weights) if self.value is not None else [])

    def _logits(self, obs):
        with no_grad():
            return self.policy(tensor(xp.asarray(obs, dtype=floatx())), training=False).data

    def predict(self, obs, deterministic=True):
        """The most probable action (deterministic) or one drawn from the policy."""
        logits = self._logits(xp.asarray(obs)[None])[0]
        return int(xp.argmax(logits) if deterministic else sample_categorical(logits, self.rng))

    def _apply(self, loss, tape):
        weights = self._weights()
        grads = (
            grad(loss, weights) if getattr(self, "dropout", 0.0) else tape.gradient(loss, weights)
        )
        self.optimizer.apply_gradients(zip(grads, weights))
        self.last_loss = loss.item()

    def _get_state(self):
        state = {
            "policy": networks.model_state(self.policy),
            "optimizer": networks.optimizer_state(self.optimizer),
        }
        if self.value is not None:
            state["value"] = networks.model_state(self.value)
        return state

    def _check_state(self, state):
        owner, expected = type(self).__name__, self._get_state()
        if set(state) != set(expected):
            raise ValueError(
                f"{owner}: the file holds {sorted(state)}, expected {sorted(expected)}"
            )
        for key, arrays in expected.items():
            check_arrays(owner, arrays, state[key])

    def _set_state(self, state):
        networks.set_model_state(self.policy, state["policy"])
        if self.value is not None:
            networks.set_model_state(self.value, state["value"])
        networks.set_optimizer_state(self.optimizer, state["optimizer"])


class REINFORCE(_PolicyAgent):
    """Monte-Carlo policy gradient, one update per episode.

    Args:
        env: an environment with Box observations and Discrete actions, or its id.
        policy: a model mapping observations to one logit per action, or None for an MLP.
        hidden: the default MLP's hidden widths.
        learning_rate, optimizer, max_grad_norm: the optimizer (Adam by default).
        gamma: discount.
        normalize_returns: standardise the episode's returns (subtract their mean, divide
            by their standard deviation): the mean acts as a baseline.
        baseline: ``"value"`` to learn a value network ``V(s)`` (squared error to the
            returns) and use ``G_t - V(s_t)``, or None.
        dropout: a Dropout rate after each hidden layer of the default policy (PyTorch's
            example uses 0.6). The policy then acts in training mode, noise included, and
            the log-probabilities of the actions taken are kept from those very passes
            (each step's graph is kept until the episode's update), as in that example;
            without dropout one batched pass over the episode recomputes them.
        seed: an int for a reproducible run (also seeds the default networks' weights).
    """

    def __init__(
        self,
        env,
        policy=None,
        hidden=(128,),
        learning_rate=1e-2,
        optimizer="adam",
        gamma=0.99,
        normalize_returns=True,
        baseline=None,
        max_grad_norm=None,
        dropout=0.0,
        seed=None,
    ):
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"REINFORCE: dropout must be in [0, 1), got {dropout!r}")
        if baseline not in (None, "value"):
            raise ValueError(f"REINFORCE: baseline must be None or 'value', got {baseline!r}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"REINFORCE: gamma must be in [0, 1], got {gamma!r}")
        super().__init__(env, seed=seed)
        self.single_action_space = self.env.action_space
        self.single_observation_space = self.env.observation_space
        value = None if baseline == "value" else False
        if dropout and policy is None:
            if seed is not None:
                set_seed(seed)
            n_actions = require_discrete(self.env.action_space, "REINFORCE", "action")
            obs_shape = require_box(self.env.observation_space, "REINFORCE")
            policy = networks.mlp(obs_shape, n_actions, hidden, name="policy", dropout=dropout)
        self._build(policy, value, hidden, optimizer, learning_rate, max_grad_norm, seed)
        self.gamma, self.normalize_returns, self.last_loss = gamma, normalize_returns, None
        self.dropout = dropout

    def _begin_episode(self):
        self._observations, self._actions, self._rewards, self._log_probs = [], [], [], []

    def _act(self, obs):
        if not self.dropout:
            return int(sample_categorical(self._logits(obs[None])[0], self.rng))
        obs = tensor(xp.asarray(obs, dtype=floatx())[None])
        log_probs = ops.log_softmax(self.policy(obs, training=True), axis=-1)[0]
        action = int(sample_categorical(log_probs.data, self.rng))
        self._log_probs.append(log_probs[action])
        return action

    def _observe(self, obs, action, reward, next_obs, terminated, truncated):
        self._observations.append(obs)
        self._actions.append(action)
        self._rewards.append(reward)

    def discounted_returns(self, rewards):
        """``G_t = r_t + gamma * G_{t+1}`` for every step of one episode, as an array."""
        returns, running = xp.zeros(len(rewards), dtype=floatx()), 0.0
        for t in range(len(rewards) - 1, -1, -1):
            running = rewards[t] + self.gamma * running
            returns[t] = running
        return returns

    def _end_episode(self):
        returns = self.discounted_returns(self._rewards)
        if self.normalize_returns and len(returns) > 1:
            returns = (returns - returns.mean()) / (returns.std() + returns.dtype.type(1e-8))
        obs = tensor(xp.asarray(self._observations, dtype=floatx()))
        actions = xp.asarray(self._actions)
        with GradientTape() as tape:
            if self.dropout:  # the graphs of the acting passes, kept since
                chosen = ops.stack(self._log_probs)
            else:
                log_probs = ops.log_softmax(self.policy(obs, training=True), axis=-1)
                chosen = log_probs[xp.arange(len(actions)), actions]
            advantage = tensor(returns)
            loss = 0.0
            if self.value is not None:
                values = self.value(obs, training=True)[:, 0]
                advantage = tensor(returns - values.data)
                loss = ops.sum(ops.square(tensor(returns) - values))
            loss = loss - ops.sum(chosen * advantage)
        self._log_probs = []
        self._apply(loss, tape)


class A2C(_PolicyAgent):
    """Synchronous advantage actor-critic on ``n_envs`` copies of the environment
    (``gymnasium.vector.SyncVectorEnv``).

    Every update runs ``n_steps`` steps in each environment, then minimises::

        - mean(A * log pi(a | s)) + value_coef * mean((R - V(s))^2) - entropy_coef * H(pi)

    with the n-step return ``R = r_t + ... + gamma^n V(s_{t+n})`` and the advantage
    ``A = R - V(s)`` (truncated episodes bootstrap from their final observation's value).

    Args:
        env: an environment id (``"CartPole-v1"``), a function returning an environment,
            or a ``gymnasium.vector.VectorEnv``.
        n_envs: environments stepped side by side.
        n_steps: steps per environment between updates.
        policy, value: the actor (one logit per action) and the critic (one value), or
            None for MLPs with ``hidden`` units.
        learning_rate, optimizer, max_grad_norm: RMSprop, 7e-4 and 0.5 as in
            Stable-Baselines3 by default.
        gamma: discount; entropy_coef, value_coef: the loss weights.
        seed: an int for a reproducible run (environment ``i`` is reset with ``seed + i``).

    A2C's checkpoints restore the networks, the optimizer and the counters; the episodes
    under way in the environments restart, so resuming is not bit-exact.
    """

    def __init__(
        self,
        env,
        n_envs=8,
        n_steps=5,
        policy=None,
        value=None,
        hidden=(64, 64),
        learning_rate=7e-4,
        optimizer="rmsprop",
        gamma=0.99,
        entropy_coef=0.0,
        value_coef=0.5,
        max_grad_norm=0.5,
        seed=None,
    ):
        for name, number in (("n_envs", n_envs), ("n_steps", n_steps)):
            if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
                raise ValueError(f"A2C: {name} must be an int > 0, got {number!r}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"A2C: gamma must be in [0, 1], got {gamma!r}")
        self.n_envs = n_envs
        super().__init__(env, seed=seed)
        self.single_action_space = self.env.single_action_space
        self.single_observation_space = self.env.single_observation_space
        self._build(policy, value, hidden, optimizer, learning_rate, max_grad_norm, seed)
        self.n_steps, self.gamma = n_steps, gamma
        self.entropy_coef, self.value_coef, self.last_loss = entropy_coef, value_coef, None
        spec = self.env.envs[0].spec if hasattr(self.env, "envs") else None
        self.eval_env = self.env.envs[0] if spec is None else gymnasium().make(spec)

    def _make_env(self, env):
        gym = gymnasium()
        if isinstance(env, gym.vector.VectorEnv):
            return env
        if isinstance(env, str):
            if env not in gym.registry:
                raise ValueError(f"unknown Gymnasium environment {env!r} (see gymnasium.registry)")
            factory = lambda: gym.make(env)  # noqa: E731
        elif callable(env):
            factory = env
        else:
            raise TypeError(
                f"A2C expects an environment id, a function making an environment or a "
                f"VectorEnv, got {type(env).__name__}"
            )
        mode = gym.vector.AutoresetMode.SAME_STEP
        return gym.vector.SyncVectorEnv([factory] * self.n_envs, autoreset_mode=mode)

    def _env_rng_state(self):
        return None

    def _values(self, obs):
        with no_grad():
            return self.value(tensor(xp.asarray(obs, dtype=floatx())), training=False).data[:, 0]

    def _step(self):
        """One rollout of ``n_steps`` in every environment, then one update."""
        if self._obs is None:
            self._obs = self._reset()
            self._returns = xp.zeros(self.n_envs)
            self._lengths = xp.zeros(self.n_envs, dtype=xp.int64)
        shape = (self.n_steps, self.n_envs)
        observations = xp.zeros(shape + self._obs.shape[1:], dtype=floatx())
        actions, rewards = xp.zeros(shape, dtype=xp.int64), xp.zeros(shape, dtype=floatx())
        dones, records = xp.zeros(shape, dtype=floatx()), []
        for t in range(self.n_steps):
            observations[t] = self._obs
            actions[t] = sample_categorical(self._logits(self._obs), self.rng)
            self._obs, reward, terminated, truncated, info = self.env.step(actions[t])
            rewards[t], dones[t] = reward, terminated | truncated
            self._bootstrap_truncated(rewards[t], terminated, truncated, info)
            records += self._count(reward, terminated | truncated)
        returns = self._n_step_returns(rewards, dones, self._values(self._obs))
        self._update(observations.reshape(-1, *observations.shape[2:]), actions, returns)
        return records

    def _bootstrap_truncated(self, rewards, terminated, truncated, info):
        cut = truncated & ~terminated
        if cut.any():
            final = xp.stack([info["final_obs"][i] for i in xp.flatnonzero(cut)])
            rewards[cut] += rewards.dtype.type(self.gamma) * self._values(final)

    def _count(self, reward, done):
        self.num_timesteps += self.n_envs
        self._returns += reward
        self._lengths += 1
        records = []
        for i in xp.flatnonzero(done):
            records.append(self._record_episode(float(self._returns[i]), int(self._lengths[i])))
            self._returns[i], self._lengths[i] = 0.0, 0
        return records

    def _n_step_returns(self, rewards, dones, last_values):
        returns, running = xp.zeros_like(rewards), last_values
        gamma = rewards.dtype.type(self.gamma)
        for t in range(self.n_steps - 1, -1, -1):
            running = rewards[t] + gamma * running * (1 - dones[t])
            returns[t] = running
        return returns.reshape(-1)

    def _update(self, obs, actions, returns):
        obs = tensor(obs)
        with GradientTape() as tape:
            log_probs = ops.log_softmax(self.policy(obs, training=True), axis=-1)
            chosen = ops.take_along_axis(log_probs, actions.reshape(-1, 1), axis=1)[:, 0]
            values = self.value(obs, training=True)[:, 0]
            advantage = tensor(returns - values.data)
            entropy = -ops.mean(ops.sum(ops.exp(log_probs) * log_probs, axis=-1))
            loss = (
                -ops.mean(chosen * advantage)
                + self.value_coef * ops.mean(ops.square(tensor(returns) - values))
                - self.entropy_coef * entropy
            )
        self._apply(loss, tape)

"""Deep Q-networks: a network approximates Q, trained on replayed transitions against a target.

DQN (Mnih et al., "Human-level control through deep reinforcement learning", Nature 2015)
minimises the (Huber or squared) temporal-difference error::

    y = r + gamma * (1 - terminated) * max_a' Q_target(s', a')
    loss = huber(y - Q(s, a))

over mini-batches from a replay buffer, with a target network ``Q_target`` copied from the
online network every ``target_update_interval`` steps (or moved towards it by Polyak
averaging, ``tau < 1``). Double DQN (van Hasselt, Guez and Silver, AAAI 2016) lets the
online network choose the next action and the target network evaluate it,
``y = r + gamma * Q_target(s', argmax_a' Q(s', a'))``, which removes most of the max's
upward bias on noisy values.
"""

from lapenna import losses
from lapenna.autograd import GradientTape, no_grad, tensor
from lapenna.backend import floatx, set_seed, xp
from lapenna.rl import networks, schedules
from lapenna.rl._gym import require_box, require_discrete
from lapenna.rl.base import Agent, check_arrays
from lapenna.rl.replay import ReplayBuffer


class DQN(Agent):
    """Deep Q-learning with experience replay, a target network and epsilon-greedy exploration.

    Args:
        env: an environment with Box observations and Discrete actions, or its id.
        network: a lapenna model mapping a batch of observations to one Q-value per action
            (any ``Sequential``), or None for an MLP with ``hidden`` units.
        hidden: the hidden widths of the default MLP.
        learning_rate: the optimizer's learning rate.
        optimizer: an optimizer name (built with ``learning_rate`` and ``max_grad_norm``) or
            an Optimizer instance.
        buffer_size: replay capacity in transitions.
        learning_starts: environment steps of random actions before the first update.
        batch_size: transitions per gradient step.
        gamma: discount.
        train_freq: environment steps between training phases.
        gradient_steps: gradient steps per training phase.
        target_update_interval: environment steps between target updates.
        tau: 1 for a hard copy, < 1 for Polyak averaging ``tau * online + (1 - tau) * target``.
        exploration: epsilon over training (number, ``(initial, final, fraction)`` or a
            LinearSchedule).
        loss: ``"huber"`` (the smooth L1 of the Nature paper) or ``"mse"``.
        max_grad_norm: global gradient-norm clipping (None: no clipping).
        double: use Double DQN's target (see :class:`DoubleDQN`).
        seed: an int for a reproducible run (also seeds the default network's weights).

    Raises:
        ValueError: for a non-Discrete action space (continuous actions need another
            algorithm), a non-Box observation space, a network whose input or output does
            not fit, or a hyperparameter out of range.
    """

    def __init__(
        self,
        env,
        network=None,
        hidden=(64, 64),
        learning_rate=1e-4,
        optimizer="adam",
        buffer_size=100_000,
        learning_starts=1000,
        batch_size=32,
        gamma=0.99,
        train_freq=4,
        gradient_steps=1,
        target_update_interval=1000,
        tau=1.0,
        exploration=(1.0, 0.05, 0.1),
        loss="huber",
        max_grad_norm=10.0,
        double=False,
        seed=None,
    ):
        owner = type(self).__name__
        _check_ints(
            owner,
            buffer_size=buffer_size,
            batch_size=batch_size,
            train_freq=train_freq,
            gradient_steps=gradient_steps,
            target_update_interval=target_update_interval,
        )
        if not isinstance(learning_starts, int) or learning_starts < 0:
            raise ValueError(
                f"{owner}: learning_starts must be an int >= 0, got {learning_starts!r}"
            )
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"{owner}: gamma must be in [0, 1], got {gamma!r}")
        if not 0.0 < tau <= 1.0:
            raise ValueError(f"{owner}: tau must be in (0, 1], got {tau!r}")
        if loss not in ("huber", "mse"):
            raise ValueError(f"{owner}: loss must be 'huber' or 'mse', got {loss!r}")
        exploration = schedules.get(exploration)
        super().__init__(env, seed=seed)
        self.n_actions = require_discrete(self.env.action_space, owner, "action")
        obs_shape = require_box(self.env.observation_space, owner)
        if seed is not None and network is None:
            set_seed(seed)
        self.q_network = networks.resolve(
            network, owner, obs_shape, self.n_actions, hidden, name="q_network"
        )
        self.target_network = networks.copy_model(self.q_network)
        self.optimizer = networks.get_optimizer(optimizer, learning_rate, max_grad_norm, owner)
        self.optimizer.build(self.q_network.trainable_weights)
        self.loss_fn = losses.Huber(delta=1.0) if loss == "huber" else losses.MeanSquaredError()
        obs_dtype = self.env.observation_space.dtype
        stored = obs_dtype if obs_dtype == xp.uint8 else None  # frames stay bytes
        self.buffer = ReplayBuffer(buffer_size, obs_shape, stored)
        self.learning_starts, self.batch_size, self.gamma = learning_starts, batch_size, gamma
        self.train_freq, self.gradient_steps = train_freq, gradient_steps
        self.target_update_interval, self.tau = target_update_interval, tau
        self.exploration, self.double = exploration, double
        self.epsilon = exploration(0.0)
        self.save_replay_buffer = True
        self._rows = xp.arange(batch_size)  # kept: the step loop rebuilds nothing it can keep
        self.last_loss = None

    # -- acting -----------------------------------------------------------------------
    def q_values(self, obs):
        """Q(obs, .) of the online network for a batch of observations, as an array."""
        with no_grad():
            return self.q_network(tensor(xp.asarray(obs, dtype=floatx())), training=False).data

    def predict(self, obs, deterministic=True):
        """The greedy action ``argmax_a Q(obs, a)`` (epsilon-greedy when not deterministic)."""
        if not deterministic and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_actions))
        return int(xp.argmax(self.q_values(xp.asarray(obs)[None])[0]))

    def _act(self, obs):
        self.epsilon = self.exploration(self._progress)
        if self.num_timesteps < self.learning_starts or self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_actions))
        return int(xp.argmax(self.q_values(xp.asarray(obs)[None])[0]))

    # -- learning ---------------------------------------------------------------------
    def _observe(self, obs, action, reward, next_obs, terminated, truncated):
        self.buffer.add(obs, action, reward, next_obs, terminated)
        steps = self.num_timesteps
        if steps > self.learning_starts and steps % self.train_freq == 0:
            for _ in range(self.gradient_steps):
                self.train_step()
        if steps % self.target_update_interval == 0:
            networks.copy_weights(self.q_network, self.target_network, self.tau)

    def td_target(self, rewards, next_obs, terminated):
        """``r + gamma * (1 - terminated) * Q_target(s', a*)``, a* chosen by the target
        network (DQN) or by the online network (Double DQN)."""
        with no_grad():
            next_target = self.target_network(tensor(next_obs), training=False).data
            if self.double:
                chosen = xp.argmax(self.q_network(tensor(next_obs), training=False).data, axis=1)
            else:
                chosen = xp.argmax(next_target, axis=1)
        next_value = next_target[xp.arange(len(chosen)), chosen]
        gamma = next_value.dtype.type(self.gamma)
        return rewards + gamma * (1 - terminated) * next_value

    def train_step(self):
        """One gradient step on a sampled mini-batch; returns the loss."""
        obs, actions, rewards, next_obs, terminated = self.buffer.sample(self.batch_size, self.rng)
        target = tensor(self.td_target(rewards, next_obs, terminated))
        weights = self.q_network.trainable_weights
        with GradientTape() as tape:
            q = self.q_network(tensor(obs), training=True)
            chosen = q[self._rows, actions]  # Q(s, a) of the actions taken
            loss = self.loss_fn(target, chosen)
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        self.last_loss = loss.item()
        return self.last_loss

    # -- state ------------------------------------------------------------------------
    def _get_state(self):
        state = {
            "q_network": networks.model_state(self.q_network),
            "target_network": networks.model_state(self.target_network),
            "optimizer": networks.optimizer_state(self.optimizer),
        }
        if self.save_replay_buffer:
            state["replay_buffer"] = self.buffer.get_state()
        return state

    def _check_state(self, state):
        owner = type(self).__name__
        missing = {"q_network", "target_network", "optimizer"} - set(state)
        if missing:
            raise ValueError(f"{owner}: the file lacks {sorted(missing)}")
        networks.check_model_state(owner, self.q_network, state["q_network"])
        networks.check_model_state(owner, self.target_network, state["target_network"])
        check_arrays(owner, networks.optimizer_state(self.optimizer), state["optimizer"])
        if "replay_buffer" in state:
            self.buffer.check_state(state["replay_buffer"])

    def _set_state(self, state):
        networks.set_model_state(self.q_network, state["q_network"])
        networks.set_model_state(self.target_network, state["target_network"])
        networks.set_optimizer_state(self.optimizer, state["optimizer"])
        if "replay_buffer" in state:
            self.buffer.set_state(state["replay_buffer"])
        else:
            self.buffer.size = self.buffer.position = 0


class DoubleDQN(DQN):
    """DQN with Double Q-learning's target: the online network selects the next action, the
    target network evaluates it (van Hasselt, Guez and Silver, 2016)::

        y = r + gamma * (1 - terminated) * Q_target(s', argmax_a' Q(s', a'))

    Arguments as :class:`DQN` (``double`` is always True).
    """

    def __init__(self, env, **kwargs):
        kwargs.pop("double", None)
        super().__init__(env, double=True, **kwargs)


def _check_ints(owner, **values):
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{owner}: {name} must be an int > 0, got {value!r}")

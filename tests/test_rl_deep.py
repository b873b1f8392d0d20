"""DQN, Double DQN, REINFORCE and A2C on CartPole: targets by hand, short real runs with low
bars, seeding, exact resume, logs and bad input. The full gates run in ``lapenna bench --rl``."""

import sys

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

import lapenna as lp  # noqa: E402
import lapenna.rl as rl  # noqa: E402


@pytest.fixture(autouse=True)
def _one_blas_thread():
    previous = lp.get_num_threads()
    lp.set_num_threads(1)
    yield
    lp.set_num_threads(previous)


def linear_agent(cls):
    """A DQN whose online and target Q-networks are one hand-set Dense layer (4 -> 2)."""
    agent = cls("CartPole-v1", hidden=(), gamma=0.5, seed=0)
    online = np.array([[1.0, 0.0], [0.0, 3.0], [0.0, 0.0], [0.0, 0.0]], np.float32)
    target = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]], np.float32)
    for network, kernel in ((agent.q_network, online), (agent.target_network, target)):
        network.layers[-1].kernel.data[...] = kernel
        network.layers[-1].bias.data[...] = 0.0
    return agent


def test_double_dqn_target_differs_from_dqn_target():
    # next state (1, 1, 0, 0): online Q = (1, 3) picks action 1; target Q = (2, 1) picks 0
    next_obs = np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]], np.float32)
    rewards, terminated = np.array([1.0, 1.0], np.float32), np.array([0.0, 1.0], np.float32)
    dqn = linear_agent(rl.DQN).td_target(rewards, next_obs, terminated)
    double = linear_agent(rl.DoubleDQN).td_target(rewards, next_obs, terminated)
    np.testing.assert_allclose(dqn, [1.0 + 0.5 * 2.0, 1.0])  # max of the target network
    np.testing.assert_allclose(double, [1.0 + 0.5 * 1.0, 1.0])  # target's value of online's pick
    assert dqn.dtype == np.float32


def test_double_dqn_removes_the_overestimation_of_noisy_values():
    """All true action values are 0; the online and the target network see them with
    independent N(0, 1) noise (2,000 one-hot states). DQN's max over the target network is
    biased upwards (E max of two N(0, 1) is 1/sqrt(pi) = 0.56); Double DQN's target, the
    target network's value of the online network's choice, is not."""
    states, rng = 2000, np.random.default_rng(0)
    noise = {}
    for cls in (rl.DQN, rl.DoubleDQN):
        agent = cls("CartPole-v1", hidden=(), gamma=1.0, seed=0)
        for name in ("q_network", "target_network"):
            network = lp.Sequential([lp.layers.Input((states,)), lp.layers.Dense(2)])
            kernel = noise.setdefault(name, rng.standard_normal((states, 2)).astype(np.float32))
            network.layers[-1].kernel.data[...] = kernel
            setattr(agent, name, network)
        one_hot = np.eye(states, dtype=np.float32)
        zeros = np.zeros(states, np.float32)
        noise[cls.__name__] = agent.td_target(zeros, one_hot, zeros).mean()
    assert noise["DQN"] == pytest.approx(1 / np.sqrt(np.pi), abs=0.06)
    assert abs(noise["DoubleDQN"]) < 0.06


def short_dqn(cls=rl.DQN, seed=0, **kwargs):
    settings = dict(
        hidden=(64, 64),
        learning_rate=1e-3,
        batch_size=64,
        learning_starts=500,
        train_freq=4,
        gradient_steps=2,
        target_update_interval=200,
        exploration=(1.0, 0.05, 0.3),
        seed=seed,
    )
    settings.update(kwargs)
    return cls("CartPole-v1", **settings)


def test_dqn_learns_cartpole_a_little():
    """6,000 steps lift the greedy return from a random policy's ~22 to ~100."""
    agent = short_dqn().learn(total_timesteps=6000)
    mean, _ = rl.evaluate(agent, "CartPole-v1", n_episodes=10, seed=0)
    assert mean >= 60


def test_reinforce_learns_cartpole_a_little():
    agent = rl.REINFORCE("CartPole-v1", seed=1).learn(episodes=100)
    returns = agent.history["episode_return"]
    assert np.mean(returns[-20:]) > 2 * np.mean(returns[:20])


def test_reinforce_with_dropout_acts_and_learns_through_the_same_passes():
    """PyTorch's example: dropout is active while acting, and the gradient flows through
    the log-probabilities of those very passes (the bench runs it to the solve gate)."""
    agent = rl.REINFORCE("CartPole-v1", dropout=0.6, seed=1)
    assert "Dropout" in [type(layer).__name__ for layer in agent.policy.layers]
    before = [w.data.copy() for w in agent.policy.trainable_weights]
    agent.learn(episodes=3)
    assert agent._log_probs == [] and np.isfinite(agent.last_loss)
    changed = [not np.array_equal(b, w.data) for b, w in zip(before, agent.policy.weights)]
    assert all(changed)


def test_a2c_learns_cartpole_a_little():
    evaluator = rl.callbacks.EvalCallback("CartPole-v1", every=10_000, n_episodes=2)
    agent = rl.A2C("CartPole-v1", n_envs=8, seed=0)
    agent.learn(total_timesteps=50_000, callbacks=[evaluator])
    assert [r[0] for r in evaluator.results] == [10_000, 20_000, 30_000, 40_000, 50_000]
    returns = agent.history["episode_return"]
    assert np.mean(returns[-30:]) > 2 * np.mean(returns[:30])
    assert agent.num_timesteps == 50_000


@pytest.mark.parametrize("cls", [rl.DQN, rl.REINFORCE])
def test_same_seed_same_run_bit_for_bit(cls):
    def run():
        agent = short_dqn(learning_starts=100) if cls is rl.DQN else cls("CartPole-v1", seed=4)
        return agent.learn(total_timesteps=600)

    first, second = run(), run()
    assert first.history == second.history
    for a, b in zip(first._get_state().values(), second._get_state().values(), strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("cls", [rl.DQN, rl.DoubleDQN, rl.REINFORCE, "dropout"])
def test_resume_from_a_checkpoint_is_exact(cls, tmp_path):
    def make(seed=2):
        if cls == "dropout":  # dropout masks come from lapenna's global generator
            return rl.REINFORCE("CartPole-v1", dropout=0.6, seed=seed)
        if cls is rl.REINFORCE:
            return cls("CartPole-v1", baseline="value", seed=seed)
        return short_dqn(cls, seed=seed, learning_starts=100, target_update_interval=50)

    whole = make().learn(episodes=30)
    path = tmp_path / "ckpt.safetensors"
    stopper = rl.callbacks.Checkpoint(path, every=14)
    make().learn(episodes=30, callbacks=[stopper, _StopAt(14)])
    resumed = make(seed=7).load(path).learn(episodes=30, resume=True)
    assert resumed.history == whole.history
    for a, b in zip(resumed._get_state().values(), whole._get_state().values(), strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


class _StopAt:
    def __init__(self, episodes):
        self.episodes = episodes

    def on_episode_end(self, agent, record):
        agent.stop_training = record["episode"] >= self.episodes


def test_logs_csv_tensorboard_and_best_checkpoint(tmp_path):
    agent = rl.REINFORCE("CartPole-v1", seed=0)
    evaluator = rl.callbacks.EvalCallback(
        "CartPole-v1", every=500, n_episodes=2, best_path=tmp_path / "best.safetensors"
    )
    callbacks = [
        rl.callbacks.CSVLogger(tmp_path / "episodes.csv"),
        rl.callbacks.TensorBoard(tmp_path / "tb"),
        evaluator,
    ]
    agent.learn(total_timesteps=1500, callbacks=callbacks)
    rows = (tmp_path / "episodes.csv").read_text().splitlines()
    assert rows[0] == "episode,return,length,timesteps"
    assert len(rows) == 1 + agent.num_episodes
    assert [float(x) for x in rows[1].split(",")[1:3]] == [
        agent.history["episode_return"][0],
        agent.history["episode_length"][0],
    ]
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert [r[0] for r in evaluator.results] == [500, 1000, 1500]
    assert evaluator.best_mean == max(r[1] for r in evaluator.results)
    best = rl.REINFORCE("CartPole-v1").load(tmp_path / "best.safetensors")
    assert best.num_timesteps == max(evaluator.results, key=lambda r: r[1])[0]


def test_bad_input_names_what_to_change(monkeypatch):
    with pytest.raises(ValueError, match="Discrete action space, got Box.*continuous"):
        rl.DQN("Pendulum-v1")
    with pytest.raises(ValueError, match="Box observation space"):
        rl.DQN("FrozenLake-v1")
    small = lp.Sequential([lp.layers.Input((3,)), lp.layers.Dense(2)])
    with pytest.raises(ValueError, match="does not fit the observation space of shape \\(4,\\)"):
        rl.DQN("CartPole-v1", network=small)
    three = lp.Sequential([lp.layers.Input((4,)), lp.layers.Dense(3)])
    with pytest.raises(ValueError, match="to \\(3,\\), expected \\(2,\\)"):
        rl.DoubleDQN("CartPole-v1", network=three)
    with pytest.raises(ValueError, match="tau must be in"):
        rl.DQN("CartPole-v1", tau=0.0)
    with pytest.raises(ValueError, match="n_envs must be an int > 0"):
        rl.A2C("CartPole-v1", n_envs=0)
    monkeypatch.setitem(sys.modules, "gymnasium", None)
    with pytest.raises(ImportError, match="pip install 'lapenna\\[rl\\]'"):
        rl.DQN("CartPole-v1")


def test_a2c_n_step_returns_match_stable_baselines3():
    """SB3's rollout buffer with gae_lambda=1 returns the same bootstrapped n-step returns."""
    torch = pytest.importorskip("torch")
    buffers = pytest.importorskip("stable_baselines3.common.buffers")
    agent = rl.A2C("CartPole-v1", n_envs=3, n_steps=6, gamma=0.9, seed=0)
    rng = np.random.default_rng(0)
    rewards = rng.standard_normal((6, 3)).astype(np.float32)
    dones = (rng.random((6, 3)) < 0.3).astype(np.float32)
    values = rng.standard_normal((6, 3)).astype(np.float32)
    last = rng.standard_normal(3).astype(np.float32)
    ours = agent._n_step_returns(rewards, dones, last).reshape(6, 3)
    space = agent.env.single_observation_space
    buffer = buffers.RolloutBuffer(
        6, space, agent.env.single_action_space, gamma=0.9, gae_lambda=1.0, n_envs=3
    )
    starts = np.vstack([np.zeros((1, 3), np.float32), dones[:-1]])  # SB3: done before obs t
    for t in range(6):
        obs = np.zeros((3, 4), np.float32)
        buffer.add(
            obs, np.zeros((3, 1)), rewards[t], starts[t], torch.tensor(values[t]), torch.zeros(3)
        )
    buffer.compute_returns_and_advantage(torch.tensor(last), dones[-1])
    np.testing.assert_allclose(ours, buffer.returns, rtol=1e-5, atol=1e-5)


def test_epsilon_schedule_matches_stable_baselines3():
    utils = pytest.importorskip("stable_baselines3.common.utils")
    theirs = utils.LinearSchedule(1.0, 0.04, 0.16)  # takes the progress *remaining*
    ours = rl.LinearSchedule(1.0, 0.04, 0.16)
    for progress in (0.0, 0.05, 0.1, 0.16, 0.5, 1.0):
        assert ours(progress) == pytest.approx(theirs(1.0 - progress), abs=1e-9)

"""``lapenna bench --rl``: the reinforcement-learning gates, and DQN against Stable-Baselines3.

Sections (``--only`` picks some):

- ``tabular``: Q-learning's greedy success on FrozenLake-v1 (slippery, 2,000 evaluation
  episodes; gate >= 0.70 on >= 2 of 3 seeds, value iteration's optimum 0.737) and not
  slippery (gate 1.0), and its mean return on Taxi-v4 (gate >= 7.9, optimum 7.977).
- ``dqn``, ``double_dqn``: CartPole-v1 for 50,000 steps with the RL Zoo's settings; the
  best of the periodic evaluations is evaluated over 100 greedy episodes (gate >= 475 on
  >= 2 of 3 seeds).
- ``reinforce``: episodes until the 0.05-EMA of the return exceeds 475 (gate: within
  1,000 episodes on >= 4 of 5 seeds).
- ``overestimation``: the mean Q-value of DQN and Double DQN on a task whose rewards are
  pure N(0, 1) noise, so that every true action value is 0.
- ``sb3``: the same DQN runs in Stable-Baselines3 (same hyperparameters, same threads):
  time per environment step, the ratio, and the return reached.
"""

import time

import lapenna as lp
from lapenna.backend import xp
from lapenna.cli.errors import CommandError, UsageError

SECTIONS = ("tabular", "dqn", "double_dqn", "reinforce", "overestimation", "sb3")
CARTPOLE_STEPS = 50_000


def run_rl(args, threads):
    only = tuple(args.only or SECTIONS)
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        raise UsageError(f"unknown --rl section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    gym = lp.rl._gym.gymnasium()
    print(f"threads: {threads}   gymnasium {gym.__version__}", flush=True)
    seeds = args.seeds
    timing = {}
    for section in only:
        if section == "tabular":
            _tabular(gym, seeds or 3)
        elif section in ("dqn", "double_dqn"):
            timing[section] = _cartpole_dqn(section, seeds or 3)
        elif section == "reinforce":
            _reinforce(seeds or 5)
        elif section == "overestimation":
            _overestimation(gym, seeds or 3)
        elif section == "sb3":
            _sb3(threads, seeds or 3, timing.get("dqn"))
    return 0


def _gate(name, values, passed, needed, fmt="{:.3f}"):
    shown = "  ".join(fmt.format(v) if v is not None else "-" for v in values)
    needed = min(needed, len(passed))  # --seeds below the gate's count: all of them
    verdict = "PASS" if sum(passed) >= needed else "FAIL"
    print(f"{name:<52}{shown:<30}{sum(passed)}/{len(passed)} (need {needed})  {verdict}")


def _tabular(gym, seeds):
    print("\n-- tabular Q-learning " + "-" * 40, flush=True)
    slippery, lake, taxi = [], [], []
    for seed in range(seeds):
        agent = _q("FrozenLake-v1", seed).learn(episodes=20_000)
        slippery.append(lp.rl.evaluate(agent, "FrozenLake-v1", 2000, seed=10_000 + seed)[0])
        env = gym.make("FrozenLake-v1", is_slippery=False)
        agent = lp.rl.QLearning(env, seed=seed).learn(episodes=500)
        lake.append(lp.rl.evaluate(agent, n_episodes=100, seed=seed)[0])
        agent = _q("Taxi-v4", seed).learn(episodes=5000)
        taxi.append(lp.rl.policy_return(agent.env, agent.predict))
    _gate("FrozenLake-v1 slippery: greedy success", slippery, [v >= 0.70 for v in slippery], 2)
    _gate("FrozenLake-v1 not slippery: greedy success", lake, [v == 1.0 for v in lake], seeds)
    q_star = lp.rl.value_iteration(agent.env)
    optimum = lp.rl.policy_return(agent.env, lambda s: int(q_star[s].argmax()))
    print(f"{'Taxi-v4: optimum (value iteration), exact':<52}{optimum:.3f}")
    _gate("Taxi-v4: greedy return, exact expectation", taxi, [v >= 7.9 for v in taxi], 2)


def _q(env_id, seed):
    return lp.rl.QLearning(env_id, seed=seed, **lp.rl.hyperparameters("qlearning", env_id))


def _cartpole_dqn(name, seeds):
    print(f"\n-- {name} on CartPole-v1, {CARTPOLE_STEPS} steps " + "-" * 24, flush=True)
    best, last, seconds = [], [], []
    for seed in range(seeds):
        agent = lp.rl.AGENTS[name]("CartPole-v1", seed=seed, **_zoo(name))
        evaluator = lp.rl.callbacks.EvalCallback(
            "CartPole-v1", every=2500, n_episodes=10, seed=seed
        )
        keeper = _KeepBest(evaluator)
        start = time.perf_counter()
        agent.learn(total_timesteps=CARTPOLE_STEPS, callbacks=[evaluator, keeper])
        seconds.append(time.perf_counter() - start)
        last.append(lp.rl.evaluate(agent, "CartPole-v1", 100, seed=10_000 + seed)[0])
        keeper.restore(agent)
        best.append(lp.rl.evaluate(agent, "CartPole-v1", 100, seed=10_000 + seed)[0])
        print(
            f"  seed {seed}: best checkpoint {best[-1]:.1f}, last {last[-1]:.1f}, "
            f"{seconds[-1]:.1f} s ({seconds[-1] / CARTPOLE_STEPS * 1e6:.0f} us/step)",
            flush=True,
        )
    _gate(
        f"{name}: mean return of the best (100 episodes)",
        best,
        [v >= 475 for v in best],
        2,
        "{:.1f}",
    )
    return {"seconds": seconds, "best": best, "last": last}


def _zoo(name):
    return lp.rl.hyperparameters(name, "CartPole-v1")


class _KeepBest:
    """Keeps a copy of the networks at the best evaluation (in memory, no file)."""

    def __init__(self, evaluator):
        self.evaluator, self.best, self.weights = evaluator, float("-inf"), None

    def on_step(self, agent):
        if self.evaluator.best_mean > self.best:
            self.best = self.evaluator.best_mean
            self.weights = [w.data.copy() for w in agent.q_network.weights]

    def restore(self, agent):
        if self.weights is not None:
            for w, saved in zip(agent.q_network.weights, self.weights, strict=True):
                w.data[...] = saved


def _reinforce(seeds):
    print("\n-- REINFORCE on CartPole-v1 " + "-" * 34, flush=True)
    solved = []
    for seed in range(seeds):
        agent = lp.rl.REINFORCE(
            "CartPole-v1", seed=seed, **lp.rl.hyperparameters("reinforce", "CartPole-v1")
        )
        ema = _Ema()
        agent.learn(episodes=1000, callbacks=[ema])
        solved.append(ema.solved)
        print(f"  seed {seed}: solved at episode {ema.solved} (EMA {ema.value:.1f})", flush=True)
    _gate("REINFORCE: episodes to EMA > 475", solved, [s is not None for s in solved], 4, "{}")


class _Ema:
    def __init__(self):
        self.value, self.solved = 10.0, None

    def on_episode_end(self, agent, record):
        self.value = 0.05 * record["return"] + 0.95 * self.value
        if self.value > 475:
            self.solved, agent.stop_training = record["episode"], True


def _noise_env(gym):
    class PureNoise(gym.Env):
        """Observations N(0, I_4), two actions, rewards N(0, 1) whatever the action, 50
        steps then truncation: every true action value is exactly 0."""

        observation_space = gym.spaces.Box(-10, 10, (4,), dtype=xp.float32)
        action_space = gym.spaces.Discrete(2)

        def reset(self, seed=None, options=None):
            super().reset(seed=seed)
            self.t = 0
            return self._obs(), {}

        def step(self, action):
            self.t += 1
            reward = float(self.np_random.standard_normal())
            return self._obs(), reward, False, self.t >= 50, {}

        def _obs(self):
            return self.np_random.standard_normal(4).astype(xp.float32)

    return PureNoise


def _overestimation(gym, seeds):
    print("\n-- overestimation: rewards N(0, 1), true Q = 0 " + "-" * 15, flush=True)
    env_class, probe = _noise_env(gym), xp.random.default_rng(0).standard_normal((1000, 4))
    means = {"DQN": [], "DoubleDQN": []}
    for seed in range(seeds):
        for name in means:
            agent = getattr(lp.rl, name)(
                env_class(), hidden=(64, 64), learning_rate=1e-3, gamma=0.9, learning_starts=500,
                train_freq=1, target_update_interval=100, exploration=0.1, seed=seed,
            )  # fmt: skip
            agent.learn(total_timesteps=8000)
            q = agent.q_values(probe.astype(xp.float32))
            means[name].append(float(q.mean()))
    for name, values in means.items():
        shown = "  ".join(f"{v:+.3f}" for v in values)
        print(f"{name + ': mean Q(s, a), true 0':<52}{shown}")
    smaller = [abs(d) < abs(q) for d, q in zip(means["DoubleDQN"], means["DQN"], strict=True)]
    _gate("Double DQN overestimates less", [], smaller, seeds, "{}")


def _sb3(threads, seeds, ours):
    print("\n-- Stable-Baselines3 DQN, same hyperparameters and threads " + "-" * 3, flush=True)
    try:
        import stable_baselines3
        import torch
    except ImportError as err:
        raise CommandError(
            "--rl sb3 needs Stable-Baselines3: pip install 'lapenna[bench]'"
        ) from err
    torch.set_num_threads(threads)
    zoo = _zoo("dqn")
    initial, final, fraction = zoo.pop("exploration")
    hidden = list(zoo.pop("hidden"))
    seconds, returns = [], []
    for seed in range(seeds):
        model = stable_baselines3.DQN(
            "MlpPolicy", "CartPole-v1", exploration_initial_eps=initial,
            exploration_final_eps=final, exploration_fraction=fraction,
            policy_kwargs={"net_arch": hidden}, seed=seed, device="cpu", **zoo,
        )  # fmt: skip
        start = time.perf_counter()
        model.learn(total_timesteps=CARTPOLE_STEPS)
        seconds.append(time.perf_counter() - start)
        returns.append(lp.rl.evaluate(_SB3Agent(model), "CartPole-v1", 100, seed=10_000 + seed)[0])
        print(f"  seed {seed}: last {returns[-1]:.1f}, {seconds[-1]:.1f} s", flush=True)
    sb3_us = sum(seconds) / len(seconds) / CARTPOLE_STEPS * 1e6
    print(f"{'SB3 DQN: us per environment step':<52}{sb3_us:.0f}")
    if ours is not None:
        lp_us = sum(ours["seconds"]) / len(ours["seconds"]) / CARTPOLE_STEPS * 1e6
        print(f"{'lapenna DQN: us per environment step':<52}{lp_us:.0f}")
        print(f"{'speed ratio lapenna/SB3 (>1: faster)':<52}{sb3_us / lp_us:.2f}")
        lp_last, sb3_last = sum(ours["last"]) / len(ours["last"]), sum(returns) / len(returns)
        print(f"{'return of the last agent: lapenna, SB3':<52}{lp_last:.1f}, {sb3_last:.1f}")


class _SB3Agent:
    def __init__(self, model):
        self.model, self.env = model, None

    def predict(self, obs, deterministic=True):
        return int(self.model.predict(obs, deterministic=deterministic)[0])
